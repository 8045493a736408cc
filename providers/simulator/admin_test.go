package simulator

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// adminCall sends a /_sim request and returns the status, content type and
// body.
func adminCall(t *testing.T, method, url, accept, body string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), raw
}

// adminJSONCall sends a /_sim request and decodes its JSON answer.
func adminJSONCall(t *testing.T, method, url, body string) (int, map[string]any) {
	t.Helper()
	status, ct, raw := adminCall(t, method, url, "", body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil || ct != "application/json" {
		t.Fatalf("%s %s: %s %v: %s", method, url, ct, err, raw)
	}
	return status, out
}

// GET /_sim/ lists every route of the table, and every route it lists is
// served.
func TestSimulator_admin_index(t *testing.T) {
	b := setupENom(t, Options{})
	base := strings.TrimSuffix(b.url, "/enom/interface.asp")
	status, ct, body := adminCall(t, "GET", base+"/_sim/", "", "")
	if status != 200 || ct != "application/json" {
		t.Fatalf("GET /_sim/: %d %s\n%s", status, ct, body)
	}
	var index struct {
		Routes []AdminRoute `json:"routes"`
	}
	if err := json.Unmarshal(body, &index); err != nil {
		t.Fatal(err)
	}
	table := adminTable()
	if len(index.Routes) != len(table) {
		t.Fatalf("GET /_sim/ lists %d routes, the table has %d", len(index.Routes), len(table))
	}
	for i, rt := range table {
		got := index.Routes[i]
		if got.Method != rt.method || got.Path != rt.path || got.Body != rt.body || got.Description != rt.doc || got.Description == "" {
			t.Errorf("route %d listed as %+v, table has %s %s %q %q", i, got, rt.method, rt.path, rt.body, rt.doc)
		}
		if rt.body != "" && !json.Valid([]byte(rt.body)) {
			t.Errorf("%s %s: body example %s is not JSON", rt.method, rt.path, rt.body)
		}
	}

	// Each is registered: it answers JSON, where the mux answers a route it
	// does not know in plain text.
	fill := strings.NewReplacer("{name}", "nowhere.com", "{kind}", "enom", "{user}", "nobody")
	for _, rt := range table {
		status, ct, body := adminCall(t, rt.method, base+fill.Replace(rt.path), "", rt.body)
		if ct != "application/json" || status == 405 {
			t.Errorf("%s %s is not served: %d %s %s", rt.method, rt.path, status, ct, body)
		}
	}
	for _, path := range []string{"/_sim/nothing", "/_sim/domains/x.com/nothing"} {
		if _, ct, _ := adminCall(t, "GET", base+path, "", ""); ct == "application/json" {
			t.Errorf("GET %s answered JSON", path)
		}
	}

	// Readable: a table for ?format=text and for browsers.
	for _, c := range []struct{ query, accept string }{{"?format=text", ""}, {"", "text/html,application/xhtml+xml"}} {
		status, ct, body := adminCall(t, "GET", base+"/_sim/"+c.query, c.accept, "")
		if status != 200 || !strings.HasPrefix(ct, "text/plain") {
			t.Fatalf("GET /_sim/%s (Accept %q): %d %s", c.query, c.accept, status, ct)
		}
		for _, rt := range table {
			if !regexp.MustCompile(`(?m)^` + rt.method + ` +` + regexp.QuoteMeta(rt.path) + ` +` + regexp.QuoteMeta(rt.doc) + `$`).Match(body) {
				t.Errorf("the text index has no line for %s %s:\n%s", rt.method, rt.path, body)
			}
		}
	}
}

// The routes comment in admin.go lists the table's routes, in its order.
func TestSimulator_admin_routesComment(t *testing.T) {
	src, err := os.ReadFile("admin.go")
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, m := range regexp.MustCompile(`(?m)^//\t(GET|PUT|POST|DELETE) +(/_sim/\S*)`).FindAllSubmatch(src, -1) {
		path, _, _ := strings.Cut(string(m[2]), "?")
		listed = append(listed, string(m[1])+" "+path)
	}
	var want []string
	for _, rt := range adminTable() {
		want = append(want, rt.method+" "+rt.path)
	}
	if !reflect.DeepEqual(listed, want) {
		t.Errorf("admin.go's comment lists\n%q\nthe table has\n%q", listed, want)
	}
}

// POST .../faults: {"fail_next": 0} clears the faults still to come; a
// refused body changes nothing.
func TestSimulator_admin_faults(t *testing.T) {
	b := setupENom(t, Options{})
	b.acct.AddDomain("faulty.com", false)
	path := strings.TrimSuffix(b.url, "/enom/interface.asp") + "/_sim/accounts/enom/resellid/faults"
	getRegLock := func() []string {
		return enomErrs(t, b.get(t, "command=GetRegLock&uid=resellid&pw=resellpw&sld=faulty&tld=com&ResponseType=XML"))
	}
	steps := []struct {
		body           string
		status         int
		failNext       float64
		fault, latency string
	}{
		{`{"fail_next": 3, "fault": "unavailable"}`, 200, 3, "unavailable", "0s"},
		{`{"latency": "5ms"}`, 200, 3, "unavailable", "5ms"},
		{`{"fail_next": 0}`, 200, 0, "", "5ms"},
		{`{"fail_next": 2, "fault": "busy", "latency": "0s"}`, 200, 2, "busy", "0s"},
		{`{"fault": "error"}`, 400, 2, "busy", "0s"},
		{`{"fail_next": -1}`, 400, 2, "busy", "0s"},
		{`{"fail_next": 4}`, 400, 2, "busy", "0s"},
		{`{"fail_next": 4, "fault": "nope"}`, 400, 2, "busy", "0s"},
		{`{"fail_next": 0, "latency": "soon"}`, 400, 2, "busy", "0s"},
		{`{"fail_next": 0, "latency": "-1s"}`, 400, 2, "busy", "0s"},
		{`{"failnext": 0}`, 400, 2, "busy", "0s"},
		{`{}`, 200, 2, "busy", "0s"},
		{`{"fail_next": 0, "fault": "busy"}`, 200, 0, "", "0s"},
	}
	for _, st := range steps {
		status, out := adminJSONCall(t, "POST", path, st.body)
		n, f, lat := b.acct.faults()
		if status != st.status || float64(n) != st.failNext || string(f) != st.fault || lat.String() != st.latency {
			t.Fatalf("%s: %d %v; account fail_next %d fault %q latency %s; want %d, %v %q %s",
				st.body, status, out, n, f, lat, st.status, st.failNext, st.fault, st.latency)
		}
		if status == 200 && (out["fail_next"] != st.failNext || out["fault"] != st.fault || out["latency"] != st.latency) {
			t.Errorf("%s: answer %v", st.body, out)
		}
	}

	// Through the protocol: a fault lands, and 0 clears the rest.
	if status, _ := adminJSONCall(t, "POST", path, `{"fail_next": 5, "fault": "error"}`); status != 200 {
		t.Fatal(status)
	}
	if errs := getRegLock(); !slices.Equal(errs, []string{enomUnexpected}) {
		t.Fatalf("first call: %q", errs)
	}
	if status, _ := adminJSONCall(t, "POST", path, `{"fail_next": 0}`); status != 200 {
		t.Fatal(status)
	}
	if errs := getRegLock(); len(errs) != 0 {
		t.Fatalf("after fail_next 0: %q", errs)
	}
	if status, _ := adminJSONCall(t, "POST", strings.Replace(path, "resellid", "nobody", 1), `{"fail_next": 0}`); status != 404 {
		t.Errorf("unknown account: %d", status)
	}
}
