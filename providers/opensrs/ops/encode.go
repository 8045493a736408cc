package ops

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// The envelope around the data block, exactly as OpenSRS's documents print
// it, quirks included (the mixed quotes of the declaration, </header> one
// space deeper than <header>): a request built from the same values as a
// document's example is then the example, byte for byte.
const (
	envelopeHead = "<?xml version='1.0' encoding=\"UTF-8\" standalone=\"no\" ?>\n" +
		"<!DOCTYPE OPS_envelope SYSTEM \"ops.dtd\">\n" +
		"<OPS_envelope>\n" +
		" <header>\n" +
		"  <version>0.9</version>\n" +
		"  </header>\n" +
		" <body>\n" +
		"  <data_block>\n"
	envelopeTail = "  </data_block>\n" +
		" </body>\n" +
		"</OPS_envelope>\n"
	// dataIndent is the indentation of the data block's value.
	dataIndent = 3
)

// Encode converts x with ValueOf and returns its envelope.
func Encode(x any) ([]byte, error) {
	v, err := ValueOf(x)
	if err != nil {
		return nil, err
	}
	return Append(nil, v)
}

// Append appends the envelope of v to dst. Keys keep their order; each
// nesting level is indented by one space, as in OpenSRS's documents. Text
// is escaped, and characters XML cannot carry (control characters, invalid
// UTF-8) become U+FFFD, so whatever Append writes, Decode reads back.
//
// It fails, returning dst unchanged, on an absent (zero) Value, a dt_assoc
// with a duplicate key, a key XML cannot carry (invalid UTF-8, control
// characters: replacing them could make two keys one), or nesting deeper
// than MaxDepth.
func Append(dst []byte, v Value) ([]byte, error) {
	start := len(dst)
	dst = append(dst, envelopeHead...)
	dst, err := appendValue(dst, v, dataIndent, 1)
	if err != nil {
		return dst[:start], err
	}
	return append(dst, envelopeTail...), nil
}

// appendValue writes v as the data block's value or an item's container,
// at indent; depth is the nesting depth v would have as a container.
func appendValue(dst []byte, v Value, indent, depth int) ([]byte, error) {
	switch v.kind {
	case KindScalar:
		// Only the data block itself can hold a bare scalar; an item's
		// scalar is written by appendItem.
		dst = appendIndent(dst, indent)
		dst = append(dst, "<dt_scalar>"...)
		dst = appendText(dst, v.text)
		return append(dst, "</dt_scalar>\n"...), nil
	case KindAssoc, KindArray:
	default:
		return dst, fmt.Errorf("ops: cannot encode an absent value")
	}
	if depth > MaxDepth {
		return dst, fmt.Errorf("ops: value nested deeper than %d", MaxDepth)
	}
	tag := "dt_assoc"
	if v.kind == KindArray {
		tag = "dt_array"
	}
	dst = appendIndent(dst, indent)
	dst = append(append(append(dst, '<'), tag...), ">\n"...)
	var err error
	if v.kind == KindAssoc {
		if k, dup := duplicateKey(v.assoc); dup {
			return dst, fmt.Errorf("ops: duplicate key %q in a dt_assoc", k)
		}
		for _, it := range v.assoc {
			if dst, err = appendItem(dst, it.Key, -1, it.Value, indent+1, depth); err != nil {
				return dst, err
			}
		}
	} else {
		for i, e := range v.array {
			if dst, err = appendItem(dst, "", i, e, indent+1, depth); err != nil {
				return dst, err
			}
		}
	}
	dst = appendIndent(dst, indent)
	return append(append(append(dst, "</"...), tag...), ">\n"...), nil
}

// appendItem writes one <item>: keyed by key, or by index when index >= 0.
func appendItem(dst []byte, key string, index int, v Value, indent, depth int) ([]byte, error) {
	dst = appendIndent(dst, indent)
	dst = append(dst, `<item key="`...)
	if index >= 0 {
		dst = strconv.AppendInt(dst, int64(index), 10)
	} else {
		if !validKey(key) {
			return dst, fmt.Errorf("ops: key %q has characters XML cannot carry", key)
		}
		dst = appendAttr(dst, key)
	}
	dst = append(dst, `">`...)
	switch v.kind {
	case KindScalar:
		dst = appendText(dst, v.text)
		return append(dst, "</item>\n"...), nil
	case KindAssoc, KindArray:
		dst = append(dst, '\n')
		var err error
		if dst, err = appendValue(dst, v, indent+1, depth+1); err != nil {
			return dst, err
		}
		dst = appendIndent(dst, indent)
		return append(dst, "</item>\n"...), nil
	}
	return dst, fmt.Errorf("ops: cannot encode an absent value (key %q)", key)
}

// duplicateKey reports the first key that appears twice.
func duplicateKey(a Assoc) (string, bool) {
	if len(a) <= 16 {
		for i := 1; i < len(a); i++ {
			for j := range i {
				if a[i].Key == a[j].Key {
					return a[i].Key, true
				}
			}
		}
		return "", false
	}
	seen := make(map[string]struct{}, len(a))
	for _, it := range a {
		if _, ok := seen[it.Key]; ok {
			return it.Key, true
		}
		seen[it.Key] = struct{}{}
	}
	return "", false
}

func appendIndent(dst []byte, n int) []byte {
	for range n {
		dst = append(dst, ' ')
	}
	return dst
}

// appendText escapes character data. A carriage return is written as a
// reference because XML parsers turn a literal one into a line feed.
func appendText(dst []byte, s string) []byte {
	return appendEscaped(dst, s, false)
}

// appendAttr escapes an attribute value in double quotes; tabs and line
// breaks are references, which attribute normalisation leaves alone.
func appendAttr(dst []byte, s string) []byte {
	return appendEscaped(dst, s, true)
}

func appendEscaped(dst []byte, s string, attr bool) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if (r == utf8.RuneError && size == 1) || !xmlChar(r) {
				dst = utf8.AppendRune(dst, utf8.RuneError)
			} else {
				dst = append(dst, s[i:i+size]...)
			}
			i += size
			continue
		}
		switch {
		case c == '<':
			dst = append(dst, "&lt;"...)
		case c == '>':
			dst = append(dst, "&gt;"...)
		case c == '&':
			dst = append(dst, "&amp;"...)
		case c == '"' && attr:
			dst = append(dst, "&quot;"...)
		case c == '\r':
			dst = append(dst, "&#13;"...)
		case (c == '\n' || c == '\t') && attr:
			dst = append(dst, "&#"...)
			dst = strconv.AppendInt(dst, int64(c), 10)
			dst = append(dst, ';')
		case c < 0x20 && c != '\t' && c != '\n':
			dst = utf8.AppendRune(dst, utf8.RuneError)
		default:
			dst = append(dst, c)
		}
		i++
	}
	return dst
}

// validKey reports whether every character of key can be written as is.
func validKey(key string) bool {
	if !utf8.ValidString(key) {
		return false
	}
	for _, r := range key {
		if (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || (r >= utf8.RuneSelf && !xmlChar(r)) {
			return false
		}
	}
	return true
}

// xmlChar reports whether XML 1.0 allows r (above ASCII).
func xmlChar(r rune) bool {
	return (r >= 0x80 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}
