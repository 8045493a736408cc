package simulator

import (
	"encoding/json"
	"io"
	"net/http"
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
