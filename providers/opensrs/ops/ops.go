// Package ops encodes and decodes OpenSRS OPS envelopes: the XML that
// carries every XCP request and reply.
//
// An envelope's data block holds one value, and a value is a scalar (text),
// a dt_assoc (named items, in order) or a dt_array (items keyed "0", "1",
// ...); values nest by putting a dt_assoc or dt_array inside an item. Value
// is that tree. Decode reads a reply into it; Append and Encode write a
// request from it, byte for byte in the layout of OpenSRS's own documents,
// so that a signature over the exact body is reproducible.
//
// Both the opensrs adapter and the simulator's OpenSRS endpoint use this
// package, so it holds no knowledge of commands, only of the envelope.
package ops

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// Bounds on what Decode accepts and Append writes, so that a hostile or
// broken document costs little more than its size. OpenSRS replies nest
// three or four levels deep; a listing page holds a few thousand items.
const (
	// MaxDepth is how deeply dt_assoc and dt_array may nest; the data
	// block's own container is depth 1.
	MaxDepth = 32
	// MaxItems is how many items one document may hold in all.
	MaxItems = 200_000
)

// Errors Decode returns, to be matched with errors.Is.
var (
	// ErrNotOPS is a document that is not an OPS envelope at all: an HTML
	// error page, an empty body, some other XML.
	ErrNotOPS = errors.New("ops: not an OPS envelope")
	// ErrTruncated is an envelope that ends before it is complete.
	ErrTruncated = errors.New("ops: truncated envelope")
	// ErrMalformed is an OPS envelope that breaks the format's rules or
	// this package's bounds.
	ErrMalformed = errors.New("ops: malformed envelope")
)

// Kind says what a Value holds.
type Kind uint8

// The kinds of Value.
const (
	// KindNone is the zero Value: what Get returns for a missing key.
	KindNone Kind = iota
	KindScalar
	KindAssoc
	KindArray
)

// String names the kind as OPS spells it ("dt_assoc"), or "scalar"/"none".
func (k Kind) String() string {
	switch k {
	case KindScalar:
		return "scalar"
	case KindAssoc:
		return "dt_assoc"
	case KindArray:
		return "dt_array"
	}
	return "none"
}

// Value is one OPS value. The zero Value is "absent": its accessors return
// zero values, so chains like v.Assoc().Get("attributes").Assoc().Text("x")
// never panic.
type Value struct {
	kind  Kind
	text  string
	assoc Assoc
	array Array
}

// Item is one named member of a dt_assoc.
type Item struct {
	Key   string
	Value Value
}

// Assoc is a dt_assoc: its items in document (or encoding) order. Keys are
// unique; Decode rejects duplicates and Append refuses them.
type Assoc []Item

// Array is a dt_array: its items in key order ("0", "1", ...).
type Array []Value

// Scalar returns a scalar Value holding s.
func Scalar(s string) Value { return Value{kind: KindScalar, text: s} }

// Field returns an item holding a scalar: the common case when building a
// request.
func Field(key, value string) Item { return Item{Key: key, Value: Scalar(value)} }

// Value wraps the dt_assoc as a Value. A nil Assoc is an empty dt_assoc.
func (a Assoc) Value() Value { return Value{kind: KindAssoc, assoc: a} }

// Value wraps the dt_array as a Value. A nil Array is an empty dt_array.
func (a Array) Value() Value { return Value{kind: KindArray, array: a} }

// Kind reports what v holds.
func (v Value) Kind() Kind { return v.kind }

// Text returns a scalar's text, or "" for any other kind.
func (v Value) Text() string { return v.text }

// Assoc returns a dt_assoc's items, or nil for any other kind.
func (v Value) Assoc() Assoc { return v.assoc }

// Array returns a dt_array's items, or nil for any other kind.
func (v Value) Array() Array { return v.array }

// Lookup returns the value of key and whether the dt_assoc has it.
func (a Assoc) Lookup(key string) (Value, bool) {
	for _, it := range a {
		if it.Key == key {
			return it.Value, true
		}
	}
	return Value{}, false
}

// Get returns the value of key, or the zero Value when it is missing.
func (a Assoc) Get(key string) Value {
	v, _ := a.Lookup(key)
	return v
}

// Text returns the scalar text of key, or "" when it is missing or not a
// scalar.
func (a Assoc) Text(key string) string { return a.Get(key).text }

// Equal reports whether v and w hold the same tree. Absent and empty are
// different; a nil and an empty dt_assoc are the same.
func (v Value) Equal(w Value) bool {
	if v.kind != w.kind {
		return false
	}
	switch v.kind {
	case KindScalar:
		return v.text == w.text
	case KindAssoc:
		return slices.EqualFunc(v.assoc, w.assoc, func(a, b Item) bool { return a.Key == b.Key && a.Value.Equal(b.Value) })
	case KindArray:
		return slices.EqualFunc(v.array, w.array, Value.Equal)
	}
	return true
}

// ValueOf converts Go values to a Value:
//
//   - string, and int and bool as "1"/"0", become scalars;
//   - map[string]any and map[string]string become a dt_assoc with the keys
//     sorted, so that the encoding is deterministic;
//   - []any and []string become a dt_array;
//   - Value, Assoc and Array are taken as they are (Assoc keeps its order).
//
// Anything else, or nesting deeper than MaxDepth, is an error.
func ValueOf(x any) (Value, error) { return valueOf(x, 0) }

func valueOf(x any, depth int) (Value, error) {
	switch t := x.(type) {
	case Value:
		return t, nil
	case Assoc:
		return t.Value(), nil
	case Array:
		return t.Value(), nil
	case string:
		return Scalar(t), nil
	case int:
		return Scalar(strconv.Itoa(t)), nil
	case bool:
		if t {
			return Scalar("1"), nil
		}
		return Scalar("0"), nil
	case map[string]string:
		a := make(Assoc, 0, len(t))
		for _, k := range slices.Sorted(maps.Keys(t)) {
			a = append(a, Field(k, t[k]))
		}
		return a.Value(), nil
	case []string:
		a := make(Array, len(t))
		for i, s := range t {
			a[i] = Scalar(s)
		}
		return a.Value(), nil
	}
	// The containers of any recurse; the bound also stops a slice or map
	// that contains itself.
	if depth >= MaxDepth {
		return Value{}, fmt.Errorf("ops: value nested deeper than %d", MaxDepth)
	}
	switch t := x.(type) {
	case map[string]any:
		a := make(Assoc, 0, len(t))
		for _, k := range slices.Sorted(maps.Keys(t)) {
			v, err := valueOf(t[k], depth+1)
			if err != nil {
				return Value{}, err
			}
			a = append(a, Item{Key: k, Value: v})
		}
		return a.Value(), nil
	case []any:
		a := make(Array, len(t))
		for i, e := range t {
			v, err := valueOf(e, depth+1)
			if err != nil {
				return Value{}, err
			}
			a[i] = v
		}
		return a.Value(), nil
	}
	return Value{}, fmt.Errorf("ops: cannot encode a %T", x)
}
