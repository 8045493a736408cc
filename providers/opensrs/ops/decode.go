package ops

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Decode reads an OPS envelope and returns the value of its data block.
//
// It checks the envelope's shape (OPS_envelope, an optional header, body,
// data_block holding exactly one value), that every dt_assoc item has a
// unique key and that a dt_array's keys are exactly "0".."n-1"; it keeps
// document order. Scalar text is trimmed of surrounding XML white space, as
// OpenSRS's own parsers do, and a dt_scalar counts as a scalar. The header
// is not interpreted.
//
// It never panics, and it stops at MaxDepth levels of nesting and MaxItems
// items. Errors wrap ErrNotOPS, ErrTruncated or ErrMalformed.
func Decode(doc []byte) (Value, error) {
	d := decoder{x: xml.NewDecoder(bytes.NewReader(doc))}
	// OpenSRS declares UTF-8; whatever a document declares, its bytes are
	// read as UTF-8 rather than refused.
	d.x.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	return d.envelope()
}

type decoder struct {
	x     *xml.Decoder
	count int // items read so far, against MaxItems
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// next returns the next start, end or character data token, skipping
// comments, processing instructions and directives (the DOCTYPE). The end
// of input is io.EOF between documents' top-level tokens and ErrTruncated
// inside an element.
func (d *decoder) next() (xml.Token, error) {
	for {
		tok, err := d.x.Token()
		if err != nil {
			var se *xml.SyntaxError
			switch {
			case err == io.EOF:
				return nil, io.EOF
			case errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &se) && se.Msg == "unexpected EOF":
				return nil, ErrTruncated
			}
			return nil, malformed("%v", err)
		}
		switch tok.(type) {
		case xml.StartElement, xml.EndElement, xml.CharData:
			return tok, nil
		}
	}
}

// inner is next inside an element, where the end of input means the
// document was cut off.
func (d *decoder) inner() (xml.Token, error) {
	tok, err := d.next()
	if err == io.EOF {
		return nil, ErrTruncated
	}
	return tok, err
}

func (d *decoder) envelope() (Value, error) {
	// Prolog: white space, the declaration, the DOCTYPE, comments.
	var root xml.StartElement
	for {
		tok, err := d.next()
		if err == io.EOF {
			return Value{}, fmt.Errorf("%w: no root element", ErrNotOPS)
		}
		if err != nil {
			if errors.Is(err, ErrTruncated) {
				return Value{}, fmt.Errorf("%w: %v", ErrNotOPS, err)
			}
			return Value{}, err
		}
		if t, ok := tok.(xml.StartElement); ok {
			root = t
			break
		}
		if t, ok := tok.(xml.CharData); ok && !isSpace(t) {
			return Value{}, fmt.Errorf("%w: text before the root element", ErrNotOPS)
		}
	}
	if root.Name.Local != "OPS_envelope" {
		return Value{}, fmt.Errorf("%w: root element is <%s>", ErrNotOPS, root.Name.Local)
	}
	var (
		v       Value
		sawBody bool
	)
envelope:
	for {
		tok, err := d.inner()
		if err != nil {
			return Value{}, err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if !isSpace(t) {
				return Value{}, malformed("text in OPS_envelope")
			}
		case xml.StartElement:
			switch t.Name.Local {
			case "header":
				if err := d.skip(); err != nil {
					return Value{}, err
				}
			case "body":
				if sawBody {
					return Value{}, malformed("two bodies")
				}
				sawBody = true
				if v, err = d.body(); err != nil {
					return Value{}, err
				}
			default:
				return Value{}, malformed("unexpected <%s> in OPS_envelope", t.Name.Local)
			}
		case xml.EndElement:
			break envelope
		}
	}
	if !sawBody {
		return Value{}, malformed("OPS_envelope has no body")
	}
	// Only white space, comments and processing instructions may follow.
	for {
		tok, err := d.next()
		if err == io.EOF {
			return v, nil
		}
		if err != nil {
			return Value{}, err
		}
		if t, ok := tok.(xml.CharData); !ok || !isSpace(t) {
			return Value{}, malformed("content after OPS_envelope")
		}
	}
}

// maxHeaderDepth bounds the header, which is skipped unread.
const maxHeaderDepth = 8

// skip consumes the rest of the element just opened.
func (d *decoder) skip() error {
	depth := 1
	for depth > 0 {
		tok, err := d.inner()
		if err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth++; depth > maxHeaderDepth {
				return malformed("header nested deeper than %d", maxHeaderDepth)
			}
		case xml.EndElement:
			depth--
		}
	}
	return nil
}

// body reads <body><data_block>value</data_block></body>, the body's start
// already consumed.
func (d *decoder) body() (Value, error) {
	var (
		v            Value
		sawDataBlock bool
	)
	for {
		tok, err := d.inner()
		if err != nil {
			return Value{}, err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if !isSpace(t) {
				return Value{}, malformed("text in body")
			}
		case xml.StartElement:
			if t.Name.Local != "data_block" || sawDataBlock {
				return Value{}, malformed("unexpected <%s> in body", t.Name.Local)
			}
			sawDataBlock = true
			if v, err = d.dataBlock(); err != nil {
				return Value{}, err
			}
		case xml.EndElement:
			if !sawDataBlock {
				return Value{}, malformed("body has no data_block")
			}
			return v, nil
		}
	}
}

func (d *decoder) dataBlock() (Value, error) {
	var v Value
	for {
		tok, err := d.inner()
		if err != nil {
			return Value{}, err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if !isSpace(t) {
				return Value{}, malformed("text in data_block")
			}
		case xml.StartElement:
			if v.kind != KindNone {
				return Value{}, malformed("data_block holds more than one value")
			}
			if v, err = d.value(t, 1); err != nil {
				return Value{}, err
			}
		case xml.EndElement:
			if v.kind == KindNone {
				return Value{}, malformed("data_block is empty")
			}
			return v, nil
		}
	}
}

// value reads the element just opened as a value; depth is the nesting
// depth it has if it is a container.
func (d *decoder) value(start xml.StartElement, depth int) (Value, error) {
	switch start.Name.Local {
	case "dt_assoc", "dt_array":
		if depth > MaxDepth {
			return Value{}, malformed("values nested deeper than %d", MaxDepth)
		}
		if start.Name.Local == "dt_assoc" {
			return d.assoc(depth)
		}
		return d.array(depth)
	case "dt_scalar", "dt_scalarref":
		return d.scalar(start.Name.Local)
	}
	return Value{}, malformed("unexpected <%s> where a value belongs", start.Name.Local)
}

// scalar reads a dt_scalar's text.
func (d *decoder) scalar(name string) (Value, error) {
	var text []byte
	for {
		tok, err := d.inner()
		if err != nil {
			return Value{}, err
		}
		switch t := tok.(type) {
		case xml.CharData:
			text = append(text, t...)
		case xml.StartElement:
			return Value{}, malformed("element <%s> inside <%s>", t.Name.Local, name)
		case xml.EndElement:
			return Scalar(trimSpace(text)), nil
		}
	}
}

// items reads a container's <item> children, calling add for each with its
// key and value.
func (d *decoder) items(name string, depth int, add func(key string, v Value) error) error {
	for {
		tok, err := d.inner()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if !isSpace(t) {
				return malformed("text in %s", name)
			}
		case xml.StartElement:
			if t.Name.Local != "item" {
				return malformed("unexpected <%s> in %s", t.Name.Local, name)
			}
			if d.count++; d.count > MaxItems {
				return malformed("more than %d items", MaxItems)
			}
			key, ok := attr(t, "key")
			if !ok {
				return malformed("item without a key in %s", name)
			}
			v, err := d.item(depth)
			if err != nil {
				return err
			}
			if err := add(key, v); err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		}
	}
}

func (d *decoder) assoc(depth int) (Value, error) {
	a := Assoc{}
	var seen map[string]struct{}
	err := d.items("dt_assoc", depth, func(key string, v Value) error {
		// Linear for the usual handful of keys, a set beyond that.
		if seen == nil && len(a) < 16 {
			if _, dup := a.Lookup(key); dup {
				return malformed("duplicate key %q in dt_assoc", key)
			}
		} else {
			if seen == nil {
				seen = make(map[string]struct{}, 2*len(a))
				for _, it := range a {
					seen[it.Key] = struct{}{}
				}
			}
			if _, dup := seen[key]; dup {
				return malformed("duplicate key %q in dt_assoc", key)
			}
			seen[key] = struct{}{}
		}
		a = append(a, Item{Key: key, Value: v})
		return nil
	})
	if err != nil {
		return Value{}, err
	}
	return a.Value(), nil
}

// array reads a dt_array. Its keys must be "0".."n-1", each once, in any
// order; the result is in key order.
func (d *decoder) array(depth int) (Value, error) {
	type indexed struct {
		i int
		v Value
	}
	var got []indexed
	err := d.items("dt_array", depth, func(key string, v Value) error {
		i, err := strconv.Atoi(key)
		if err != nil || i < 0 || strconv.Itoa(i) != key {
			return malformed("dt_array item key %q is not an index", key)
		}
		got = append(got, indexed{i, v})
		return nil
	})
	if err != nil {
		return Value{}, err
	}
	a := make(Array, len(got))
	filled := make([]bool, len(got))
	for _, e := range got {
		if e.i >= len(got) || filled[e.i] {
			return Value{}, malformed("dt_array keys are not 0..%d, each once", len(got)-1)
		}
		a[e.i], filled[e.i] = e.v, true
	}
	return a.Value(), nil
}

// item reads an item's content: text, or one dt_assoc, dt_array or
// dt_scalar with only white space around it.
func (d *decoder) item(depth int) (Value, error) {
	var (
		text []byte
		v    Value
	)
	for {
		tok, err := d.inner()
		if err != nil {
			return Value{}, err
		}
		switch t := tok.(type) {
		case xml.CharData:
			text = append(text, t...)
		case xml.StartElement:
			if v.kind != KindNone {
				return Value{}, malformed("item holds more than one value")
			}
			if v, err = d.value(t, depth+1); err != nil {
				return Value{}, err
			}
		case xml.EndElement:
			if v.kind == KindNone {
				return Scalar(trimSpace(text)), nil
			}
			if !isSpace(text) {
				return Value{}, malformed("item mixes text and a value")
			}
			return v, nil
		}
	}
}

func attr(t xml.StartElement, name string) (string, bool) {
	for _, a := range t.Attr {
		if a.Name.Local == name && a.Name.Space == "" {
			return a.Value, true
		}
	}
	return "", false
}

const xmlSpace = " \t\r\n"

func isSpace(b []byte) bool { return len(bytes.Trim(b, xmlSpace)) == 0 }

func trimSpace(b []byte) string { return strings.Trim(string(b), xmlSpace) }
