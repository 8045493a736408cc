package ops

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// seedRequest is the value of the modify_trade_lock_setting document's
// example request.
func seedRequest() Value {
	return Assoc{
		Field("protocol", "XCP"),
		Field("object", "DOMAIN"),
		Field("action", "modify_trade_lock_setting"),
		{Key: "attributes", Value: Assoc{
			Field("enable", "1"),
			Field("domain", "weruiofh89q34gh78943g4.com"),
			Field("ip_address", "0.0.0.0"),
		}.Value()},
	}.Value()
}

// The encoder writes the document's example request byte for byte.
func TestAppend_seedRequest(t *testing.T) {
	got, err := Append(nil, seedRequest())
	if err != nil {
		t.Fatal(err)
	}
	if want := readFile(t, "seed_request.xml"); !bytes.Equal(got, want) {
		t.Errorf("Append =\n%s\nwant the document's request\n%s", got, want)
	}
}

func TestDecode_seed(t *testing.T) {
	v, err := Decode(readFile(t, "seed_request.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if !v.Equal(seedRequest()) {
		t.Errorf("Decode(request) = %+v, want %+v", v, seedRequest())
	}
	v, err = Decode(readFile(t, "seed_response.xml"))
	if err != nil {
		t.Fatal(err)
	}
	want := Assoc{
		Field("protocol", "XCP"),
		Field("object", "DOMAIN"),
		Field("response_text", "Command successful: The 60-day trade hold has been enabled (by reseller (via API); Supplied IP address: 0.0.0.0)"),
		Field("action", "REPLY"),
		Field("response_code", "200"),
		Field("is_success", "1"),
	}.Value()
	if !v.Equal(want) {
		t.Errorf("Decode(response) = %+v, want %+v", v, want)
	}
	if got := v.Assoc().Text("is_success"); got != "1" {
		t.Errorf("is_success = %q", got)
	}
}

func TestDecode_nested(t *testing.T) {
	v, err := Decode(readFile(t, "nested.xml"))
	if err != nil {
		t.Fatal(err)
	}
	top := v.Assoc()
	if got := top.Text("response_text"); got != "Tom & Jerry <ok> été <raw> & more" {
		t.Errorf("response_text = %q", got)
	}
	attrs := top.Get("attributes").Assoc()
	list := attrs.Get("list").Array()
	if len(list) != 2 || list[0].Assoc().Text("name") != "a.example" || list[1].Assoc().Text("name") != "b.example" {
		t.Errorf("list = %+v, want a.example then b.example (key order)", list)
	}
	if tags := list[0].Assoc().Get("tags"); tags.Kind() != KindArray || len(tags.Array()) != 0 {
		t.Errorf("empty dt_array = %+v", tags)
	}
	if tags := list[1].Assoc().Get("tags").Array(); len(tags) != 1 || tags[0].Text() != "x" {
		t.Errorf("tags = %+v", tags)
	}
	for key, want := range map[string]string{
		"scalar": "wrapped", "empty": "", "closed": "", "spaced": "padded value",
		"commented": "ab", `key "quoted" & odd`: "v",
	} {
		got, ok := attrs.Lookup(key)
		if !ok || got.Kind() != KindScalar || got.Text() != want {
			t.Errorf("%s = %+v, %v; want scalar %q", key, got, ok, want)
		}
	}
	// Missing keys and wrong kinds read as zero values, without panics.
	if attrs.Get("nope").Kind() != KindNone || attrs.Get("list").Text() != "" || attrs.Get("scalar").Assoc() != nil ||
		attrs.Get("nope").Assoc().Get("x").Array().Value().Kind() != KindArray {
		t.Error("accessors of absent values misbehave")
	}
	v, err = Decode(readFile(t, "scalar.xml"))
	if err != nil || !v.Equal(Scalar("just text")) {
		t.Errorf("Decode(scalar.xml) = %+v, %v", v, err)
	}
}

// envelope wraps a data block's inner XML.
func envelope(inner string) string {
	return `<?xml version="1.0"?><OPS_envelope><header><version>0.9</version></header><body><data_block>` +
		inner + `</data_block></body></OPS_envelope>`
}

func nest(n int) string {
	return strings.Repeat(`<dt_assoc><item key="a">`, n) + "x" + strings.Repeat(`</item></dt_assoc>`, n)
}

func TestDecode_errors(t *testing.T) {
	seed := string(readFile(t, "seed_response.xml"))
	tests := []struct {
		name string
		doc  string
		want error
	}{
		{"empty", "", ErrNotOPS},
		{"white space", " \n", ErrNotOPS},
		{"html page", "<html><body><h1>503 Service Unavailable</h1></body></html>", ErrNotOPS},
		{"html doctype", "<!DOCTYPE html>\n<html><head><title>x</title></head></html>", ErrNotOPS},
		{"text", "Authentication failed", ErrNotOPS},
		{"other xml", `<?xml version="1.0"?><interface-response><ErrCount>0</ErrCount></interface-response>`, ErrNotOPS},
		{"cut in the declaration", "<?xml vers", ErrNotOPS},
		{"truncated in half", seed[:len(seed)/2], ErrTruncated},
		{"truncated before the end", strings.TrimSuffix(strings.TrimSpace(seed), "</OPS_envelope>"), ErrTruncated},
		{"truncated in a tag", seed[:strings.Index(seed, "<item key=\"action\"")+8], ErrTruncated},
		{"no body", `<OPS_envelope><header/></OPS_envelope>`, ErrMalformed},
		{"no data_block", `<OPS_envelope><body></body></OPS_envelope>`, ErrMalformed},
		{"empty data_block", envelope(""), ErrMalformed},
		{"two values", envelope("<dt_assoc/><dt_assoc/>"), ErrMalformed},
		{"two bodies", `<OPS_envelope><body><data_block><dt_assoc/></data_block></body><body/></OPS_envelope>`, ErrMalformed},
		{"two data blocks", `<OPS_envelope><body><data_block><dt_assoc/></data_block><data_block/></body></OPS_envelope>`, ErrMalformed},
		{"unknown element in envelope", `<OPS_envelope><foo/><body><data_block><dt_assoc/></data_block></body></OPS_envelope>`, ErrMalformed},
		{"text in envelope", `<OPS_envelope>x<body><data_block><dt_assoc/></data_block></body></OPS_envelope>`, ErrMalformed},
		{"content after envelope", envelope("<dt_assoc/>") + "<OPS_envelope/>", ErrMalformed},
		{"text after envelope", envelope("<dt_assoc/>") + "junk", ErrMalformed},
		{"item without key", envelope(`<dt_assoc><item>x</item></dt_assoc>`), ErrMalformed},
		{"duplicate key", envelope(`<dt_assoc><item key="a">1</item><item key="a">2</item></dt_assoc>`), ErrMalformed},
		{"array key not a number", envelope(`<dt_array><item key="a">1</item></dt_array>`), ErrMalformed},
		{"array key with a zero", envelope(`<dt_array><item key="00">1</item></dt_array>`), ErrMalformed},
		{"array key negative", envelope(`<dt_array><item key="-1">1</item></dt_array>`), ErrMalformed},
		{"array with a gap", envelope(`<dt_array><item key="0">1</item><item key="2">2</item></dt_array>`), ErrMalformed},
		{"array key twice", envelope(`<dt_array><item key="0">1</item><item key="0">2</item></dt_array>`), ErrMalformed},
		{"text in dt_assoc", envelope(`<dt_assoc>x<item key="a">1</item></dt_assoc>`), ErrMalformed},
		{"unknown element in dt_assoc", envelope(`<dt_assoc><entry key="a">1</entry></dt_assoc>`), ErrMalformed},
		{"unknown value element", envelope(`<dt_assoc><item key="a"><dt_hash/></item></dt_assoc>`), ErrMalformed},
		{"mixed item", envelope(`<dt_assoc><item key="a">x<dt_assoc/></item></dt_assoc>`), ErrMalformed},
		{"two values in an item", envelope(`<dt_assoc><item key="a"><dt_assoc/><dt_array/></item></dt_assoc>`), ErrMalformed},
		{"element in dt_scalar", envelope(`<dt_scalar><b>x</b></dt_scalar>`), ErrMalformed},
		{"mismatched tags", envelope(`<dt_assoc><item key="a">x</dt_assoc></item>`), ErrMalformed},
		{"unknown entity", envelope(`<dt_assoc><item key="a">&nbsp;</item></dt_assoc>`), ErrMalformed},
		{"too deep", envelope(nest(MaxDepth + 1)), ErrMalformed},
		{"too many items", envelope("<dt_array>" + manyItems(MaxItems+1) + "</dt_array>"), ErrMalformed},
		{"header too deep", `<OPS_envelope><header>` + strings.Repeat("<a>", 20) + strings.Repeat("</a>", 20) + `</header><body/></OPS_envelope>`, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Decode([]byte(tt.doc))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode = %+v, %v; want %v", v, err, tt.want)
			}
			if v.Kind() != KindNone {
				t.Errorf("a failed Decode returned a value: %+v", v)
			}
		})
	}
}

func manyItems(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(`<item key="`)
		b.WriteString(strconv.Itoa(i))
		b.WriteString(`"/>`)
	}
	return b.String()
}

func TestDecode_limitsExactly(t *testing.T) {
	if _, err := Decode([]byte(envelope(nest(MaxDepth)))); err != nil {
		t.Errorf("nesting of exactly MaxDepth: %v", err)
	}
	if _, err := Decode([]byte(envelope("<dt_array>" + manyItems(MaxItems) + "</dt_array>"))); err != nil {
		t.Errorf("exactly MaxItems items: %v", err)
	}
}

func TestAppend_escaping(t *testing.T) {
	v := Assoc{
		Field(`k"<&>'`+"\t\n\r", "a<b & c>d \"q\" 'q'"),
		Field("cr", "line1\r\nline2\rline3\nline4\ttab"),
		Field("controls", "a\x00b\x1fc\x7f"),
		Field("invalid utf-8", "a\xffb\xed\xa0\x80c"),
		Field("non-characters", "a\uFFFEb\uFFFFc"),
		Field("unicode", "ümlaut 日本 😀"),
	}.Value()
	b, err := Append(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatalf("Decode(Append) = %v\n%s", err, b)
	}
	want := Assoc{
		Field(`k"<&>'`+"\t\n\r", "a<b & c>d \"q\" 'q'"),
		Field("cr", "line1\r\nline2\rline3\nline4\ttab"),
		Field("controls", "a\uFFFDb\uFFFDc\x7f"),
		Field("invalid utf-8", "a\uFFFDb\uFFFD\uFFFD\uFFFDc"),
		Field("non-characters", "a\uFFFDb\uFFFDc"),
		Field("unicode", "ümlaut 日本 😀"),
	}.Value()
	if !got.Equal(want) {
		t.Errorf("round trip =\n%+v\nwant\n%+v\n%s", got, want, b)
	}
}

func TestAppend_errors(t *testing.T) {
	tests := []struct {
		name string
		v    Value
	}{
		{"absent", Value{}},
		{"absent item", Assoc{{Key: "a"}}.Value()},
		{"absent array element", Array{Scalar("x"), {}}.Value()},
		{"duplicate key", Assoc{Field("a", "1"), Field("a", "2")}.Value()},
		{"duplicate key in a big assoc", bigAssocWithDuplicate()},
		{"too deep", deep(MaxDepth + 1)},
		{"key with a control character", Assoc{Field("a\x00", "1")}.Value()},
		{"key with invalid UTF-8", Assoc{Field("a\xff", "1")}.Value()},
		{"key with a non-character", Assoc{Field("a\uFFFF", "1")}.Value()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte("prefix")
			got, err := Append(dst, tt.v)
			if err == nil {
				t.Fatalf("Append succeeded:\n%s", got)
			}
			if string(got) != "prefix" {
				t.Errorf("Append changed dst on error: %q", got)
			}
		})
	}
	if _, err := Append(nil, deep(MaxDepth)); err != nil {
		t.Errorf("nesting of exactly MaxDepth: %v", err)
	}
}

func bigAssocWithDuplicate() Value {
	var a Assoc
	for i := range 40 {
		a = append(a, Field(strconv.Itoa(i), "x"))
	}
	return append(a, Field("7", "again")).Value()
}

func deep(n int) Value {
	v := Scalar("x")
	for range n {
		v = Assoc{{Key: "a", Value: v}}.Value()
	}
	return v
}

func TestAppend_layout(t *testing.T) {
	v := Assoc{
		{Key: "list", Value: Array{Scalar("a"), Assoc{}.Value()}.Value()},
		{Key: "none", Value: Array(nil).Value()},
	}.Value()
	got, err := Append(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	const want = `   <dt_assoc>
    <item key="list">
     <dt_array>
      <item key="0">a</item>
      <item key="1">
       <dt_assoc>
       </dt_assoc>
      </item>
     </dt_array>
    </item>
    <item key="none">
     <dt_array>
     </dt_array>
    </item>
   </dt_assoc>
`
	if !bytes.Contains(got, []byte("  <data_block>\n"+want+"  </data_block>\n")) {
		t.Errorf("Append =\n%s\nwant the data block\n%s", got, want)
	}
	got, err = Append(nil, Scalar("a&b"))
	if err != nil || !bytes.Contains(got, []byte("\n   <dt_scalar>a&amp;b</dt_scalar>\n")) {
		t.Errorf("Append(scalar) = %s, %v", got, err)
	}
}

func TestValueOf(t *testing.T) {
	v, err := ValueOf(map[string]any{
		"zeta":  "z",
		"alpha": 1,
		"mid":   []any{"a", true, false, map[string]string{"y": "2", "x": "1"}},
		"list":  []string{"p", "q"},
		"tree":  Assoc{Field("second", "2"), Field("first", "1")},
		"arr":   Array{Scalar("s")},
		"val":   Scalar("v"),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := Assoc{
		{Key: "alpha", Value: Scalar("1")},
		{Key: "arr", Value: Array{Scalar("s")}.Value()},
		{Key: "list", Value: Array{Scalar("p"), Scalar("q")}.Value()},
		{Key: "mid", Value: Array{Scalar("a"), Scalar("1"), Scalar("0"), Assoc{Field("x", "1"), Field("y", "2")}.Value()}.Value()},
		{Key: "tree", Value: Assoc{Field("second", "2"), Field("first", "1")}.Value()},
		{Key: "val", Value: Scalar("v")},
		{Key: "zeta", Value: Scalar("z")},
	}.Value()
	if !v.Equal(want) {
		t.Errorf("ValueOf =\n%+v\nwant\n%+v", v, want)
	}
	// Deterministic: maps encode the same way every time.
	first, _ := Encode(map[string]any{"b": "1", "a": "2", "c": map[string]any{"z": "1", "y": "2"}})
	for range 20 {
		again, _ := Encode(map[string]any{"b": "1", "a": "2", "c": map[string]any{"z": "1", "y": "2"}})
		if !bytes.Equal(first, again) {
			t.Fatal("Encode of a map is not deterministic")
		}
	}
	for _, bad := range []any{nil, 1.5, struct{}{}, []int{1}, map[string]int{"a": 1}} {
		if _, err := ValueOf(bad); err == nil {
			t.Errorf("ValueOf(%#v) succeeded", bad)
		}
		if _, err := Encode(bad); err == nil {
			t.Errorf("Encode(%#v) succeeded", bad)
		}
	}
	loop := []any{nil}
	loop[0] = loop
	if _, err := ValueOf(loop); err == nil {
		t.Error("ValueOf of a slice that contains itself succeeded")
	}
	m := map[string]any{}
	m["self"] = m
	if _, err := ValueOf(m); err == nil {
		t.Error("ValueOf of a map that contains itself succeeded")
	}
}

func TestEqual(t *testing.T) {
	tests := []struct {
		a, b Value
		want bool
	}{
		{Value{}, Value{}, true},
		{Value{}, Scalar(""), false},
		{Scalar("a"), Scalar("a"), true},
		{Scalar("a"), Scalar("b"), false},
		{Assoc(nil).Value(), Assoc{}.Value(), true},
		{Assoc{}.Value(), Array{}.Value(), false},
		{Assoc{Field("a", "1")}.Value(), Assoc{Field("b", "1")}.Value(), false},
		{Assoc{Field("a", "1"), Field("b", "2")}.Value(), Assoc{Field("b", "2"), Field("a", "1")}.Value(), false},
		{Array{Scalar("1")}.Value(), Array{Scalar("1")}.Value(), true},
		{Array{Scalar("1")}.Value(), Array{Scalar("1"), Scalar("2")}.Value(), false},
	}
	for i, tt := range tests {
		if got := tt.a.Equal(tt.b); got != tt.want {
			t.Errorf("%d: Equal = %v, want %v", i, got, tt.want)
		}
	}
}

func TestKind_String(t *testing.T) {
	for k, want := range map[Kind]string{KindNone: "none", KindScalar: "scalar", KindAssoc: "dt_assoc", KindArray: "dt_array"} {
		if k.String() != want {
			t.Errorf("%d.String() = %q, want %q", k, k.String(), want)
		}
	}
}

// TestRoundTrip: for every fixture, encode(decode(x)) decodes to the same
// tree and encodes to the same bytes again.
func TestRoundTrip(t *testing.T) {
	for _, name := range seedFiles(t) {
		doc, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(name), func(t *testing.T) {
			checkRoundTrip(t, doc)
		})
	}
}

// checkRoundTrip is the round-trip property for any document that decodes.
func checkRoundTrip(t *testing.T, doc []byte) {
	t.Helper()
	v, err := Decode(doc)
	if err != nil {
		return
	}
	b1, err := Append(nil, v)
	if err != nil {
		t.Fatalf("Append(Decode(x)) = %v", err)
	}
	v2, err := Decode(b1)
	if err != nil {
		t.Fatalf("Decode(Append(Decode(x))) = %v\n%s", err, b1)
	}
	if !v2.Equal(v) {
		t.Fatalf("round trip changed the tree:\n%+v\n%+v", v, v2)
	}
	b2, err := Append(nil, v2)
	if err != nil || !bytes.Equal(b1, b2) {
		t.Fatalf("second encoding differs (%v):\n%s\n%s", err, b1, b2)
	}
}

// seedFiles are this package's fixtures and the adapter's: documents as
// OpenSRS and the simulator write them.
func seedFiles(t testing.TB) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"testdata/*.xml", "../testdata/*.xml", "../testdata/recorded/*.xml"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 3 {
		t.Fatalf("only %d seed documents", len(files))
	}
	return files
}
