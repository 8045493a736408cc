package providertest

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestWire(t *testing.T) {
	w := NewWire(t, Answer{Status: 503, Body: []byte("down")}, Answer{Body: []byte("ok")})
	post := func(body string) (int, string) {
		resp, err := http.Post(w.URL+"/interface.asp?x=1", "application/x-www-form-urlencoded", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post("command=GetRegLock&sld=example"); code != 503 || body != "down" {
		t.Fatalf("first answer: %d %q", code, body)
	}
	for range 2 {
		if code, body := post("command=SetRegLock"); code != 200 || body != "ok" {
			t.Fatalf("later answers repeat the last: %d %q", code, body)
		}
	}
	reqs := w.Requests()
	if len(reqs) != 3 || reqs[0].Method != "POST" || reqs[0].Path != "/interface.asp" || reqs[0].RawQuery != "x=1" ||
		reqs[0].Form().Get("sld") != "example" || reqs[0].Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Fatalf("recorded: %+v", reqs)
	}
	// A new script starts from its first answer, whatever came before.
	w.Script(Answer{Status: 202, Body: []byte("a")}, Answer{Body: []byte("b")})
	if code, body := post("x"); code != 202 || body != "a" {
		t.Fatalf("first answer of a new script: %d %q", code, body)
	}
	if code, body := post("x"); code != 200 || body != "b" {
		t.Fatalf("second answer of a new script: %d %q", code, body)
	}
	w.Route(func(r Request) Answer { return Answer{Status: 201, Body: []byte(r.Form().Get("command"))} })
	if code, body := post("command=GetDomains"); code != 201 || body != "GetDomains" {
		t.Fatalf("routed answer: %d %q", code, body)
	}
	if w.Last(t).Form().Get("command") != "GetDomains" {
		t.Fatal("Last is not the last request")
	}
}
