package ops

import (
	"os"
	"strings"
	"testing"
)

// FuzzDecode feeds the decoder every fixture and mutations of them: it must
// never panic, must keep its bounds, and whatever it accepts must survive a
// round trip through the encoder unchanged.
func FuzzDecode(f *testing.F) {
	for _, name := range seedFiles(f) {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(""))
	f.Add([]byte("<OPS_envelope>"))
	f.Add([]byte(envelope(`<dt_array><item key="1">b</item><item key="0"><dt_scalar>a</dt_scalar></item></dt_array>`)))
	f.Add([]byte(envelope(`<dt_assoc><item key="a&#13;">&#13;x&#x9;</item><item key="b"><![CDATA[ <y> ]]></item></dt_assoc>`)))
	f.Fuzz(func(t *testing.T, doc []byte) {
		v, err := Decode(doc)
		if err != nil {
			if v.Kind() != KindNone {
				t.Fatalf("error %v with a value", err)
			}
			return
		}
		items, depth := measure(v, 0)
		if items > MaxItems || depth > MaxDepth {
			t.Fatalf("accepted %d items nested %d deep; bounds are %d and %d", items, depth, MaxItems, MaxDepth)
		}
		checkRoundTrip(t, doc)
	})
}

// measure counts a tree's items and its container depth.
func measure(v Value, depth int) (items, maxDepth int) {
	var children []Value
	switch v.Kind() {
	case KindAssoc:
		for _, it := range v.Assoc() {
			children = append(children, it.Value)
		}
	case KindArray:
		children = v.Array()
	default:
		return 0, depth
	}
	depth++
	items, maxDepth = len(children), depth
	for _, c := range children {
		n, d := measure(c, depth)
		items += n
		maxDepth = max(maxDepth, d)
	}
	return items, maxDepth
}

// FuzzEncode builds trees from arbitrary keys and texts: the encoder must
// write something the decoder reads back as the same tree, with text
// trimmed of XML white space and characters XML cannot carry replaced.
func FuzzEncode(f *testing.F) {
	f.Add("domain", "example.com", "lock_state", "1", uint8(1))
	f.Add("k\"<&", " a<b>&c\r\n ", "", "\x00\xff\uFFFE", uint8(5))
	f.Add("0", "", "key with spaces", "\t", uint8(0))
	f.Fuzz(func(t *testing.T, k1, t1, k2, t2 string, shape uint8) {
		inner := Assoc{Field(k1, t1)}
		if k2 != k1 {
			inner = append(inner, Field(k2, t2))
		}
		var v Value
		switch shape % 4 {
		case 0:
			v = inner.Value()
		case 1:
			v = Assoc{Field("protocol", "XCP"), {Key: "attributes", Value: inner.Value()}}.Value()
		case 2:
			v = Array{Scalar(t1), inner.Value(), Array{Scalar(t2)}.Value()}.Value()
		default:
			v = Scalar(t1)
		}
		b, err := Append(nil, v)
		if shape%4 != 3 && (!validKey(k1) || !validKey(k2)) {
			if err == nil {
				t.Fatalf("Append accepted a key XML cannot carry: %q", b)
			}
			return
		}
		if err != nil {
			t.Fatalf("Append = %v", err)
		}
		got, err := Decode(b)
		if err != nil {
			t.Fatalf("Decode(Append) = %v\n%q", err, b)
		}
		if want := clean(v); !got.Equal(want) {
			t.Fatalf("round trip =\n%+v\nwant\n%+v\n%q", got, want, b)
		}
	})
}

// clean is what Decode makes of a tree's text: characters XML cannot carry
// become U+FFFD (as Append writes them), scalars are trimmed. Keys are
// valid already.
func clean(v Value) Value {
	switch v.Kind() {
	case KindScalar:
		return Scalar(strings.Trim(sanitize(v.Text()), xmlSpace))
	case KindAssoc:
		a := Assoc{}
		for _, it := range v.Assoc() {
			a = append(a, Item{Key: it.Key, Value: clean(it.Value)})
		}
		return a.Value()
	case KindArray:
		a := Array{}
		for _, e := range v.Array() {
			a = append(a, clean(e))
		}
		return a.Value()
	}
	return v
}

func sanitize(s string) string {
	var b strings.Builder
	for _, r := range s { // invalid UTF-8 ranges as U+FFFD, as Append writes them
		if r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r < 0x80) || (r >= 0x80 && xmlChar(r)) {
			b.WriteRune(r)
			continue
		}
		b.WriteRune('\uFFFD')
	}
	return b.String()
}
