package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/reglock/reglock/breaker"
	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/redistest"
	"github.com/reglock/reglock/secret"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/sweep"
	"github.com/reglock/reglock/system"
)

// The OpenAPI document is what a client generated in another language
// trusts: every example it shows, and every answer the API really gives,
// must validate against the schema it documents.

// oaExample is one documented example and where it is.
type oaExample struct {
	where string // "POST /v1/sweeps 202 application/json example dry_run"
	key   string // the operation's schema key (see oaSpec.schemas)
	value any
}

// oaSpec is the OpenAPI document turned into compiled JSON Schemas.
type oaSpec struct {
	// schemas are keyed "METHOD PATH request" and "METHOD PATH STATUS",
	// for the application/json media types.
	schemas map[string]*jsonschema.Schema
	// documented is every "METHOD PATH STATUS" the document lists, whatever
	// its media type.
	documented map[string]bool
	examples   []oaExample
	// schemaExamples are the OpenAPI 3.0 `example` keywords inside schemas
	// (JSON Schema ignores them; they are checked as well).
	schemaExamples []oaExample
	// missing names every JSON request body or response without an example.
	missing []string
}

const oaURL = "mem:///openapi.json"

var oaMethods = []string{"get", "put", "post", "delete", "patch", "head", "options"}

// loadSpec reads the document: from the file, or given bytes (a test that
// breaks an example on purpose).
func loadSpec(t *testing.T, raw []byte) *oaSpec {
	t.Helper()
	if raw == nil {
		var err error
		if raw, err = os.ReadFile("openapi.json"); err != nil {
			t.Fatal(err)
		}
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	doc := v.(map[string]any)
	comp := obj(doc["components"])
	sp := &oaSpec{schemas: map[string]*jsonschema.Schema{}, documented: map[string]bool{}}

	// One JSON Schema resource: the components' schemas under $defs, and
	// each operation's media type schema as $defs/opN.
	defs := map[string]any{}
	var exampleAt []struct {
		ptr   string
		value any
	}
	conv := func(s any, ptr string) any {
		return toJSONSchema(s, ptr, func(p string, ex any) {
			exampleAt = append(exampleAt, struct {
				ptr   string
				value any
			}{p, ex})
		})
	}
	for name, s := range obj(comp["schemas"]) {
		defs[name] = conv(s, "/$defs/"+name)
	}
	opKeys := map[string]string{} // schema key -> $defs name
	addMedia := func(key, where string, content map[string]any) {
		mt, ok := content["application/json"]
		if !ok {
			return
		}
		m := obj(mt)
		def := fmt.Sprintf("op%d", len(opKeys))
		opKeys[key] = def
		defs[def] = conv(m["schema"], "/$defs/"+def)
		n := 0
		if ex, ok := m["example"]; ok {
			sp.examples = append(sp.examples, oaExample{where + " example", key, ex})
			n++
		}
		for name, e := range obj(m["examples"]) {
			e := resolve(doc, obj(e))
			if _, ok := e["value"]; !ok {
				t.Errorf("%s: example %s has no value (externalValue is not checked)", where, name)
				continue
			}
			sp.examples = append(sp.examples, oaExample{where + " examples." + name, key, e["value"]})
			n++
		}
		if n == 0 {
			sp.missing = append(sp.missing, where)
		}
	}
	for path, item := range obj(doc["paths"]) {
		for _, method := range oaMethods {
			op, ok := obj(item)[method]
			if !ok {
				continue
			}
			opm := obj(op)
			M := strings.ToUpper(method)
			if rb, ok := opm["requestBody"]; ok {
				rb := resolve(doc, obj(rb))
				addMedia(M+" "+path+" request", M+" "+path+" request application/json", obj(rb["content"]))
			}
			for status, r := range obj(opm["responses"]) {
				sp.documented[M+" "+path+" "+status] = true
				r := resolve(doc, obj(r))
				addMedia(M+" "+path+" "+status, M+" "+path+" "+status+" application/json", obj(r["content"]))
			}
		}
	}

	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat() // date-time must be RFC 3339
	if err := c.AddResource(oaURL, map[string]any{"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": defs}); err != nil {
		t.Fatal(err)
	}
	for key, def := range opKeys {
		sch, err := c.Compile(oaURL + "#/$defs/" + def)
		if err != nil {
			t.Fatalf("schema of %s: %v", key, err)
		}
		sp.schemas[key] = sch
	}
	for _, e := range exampleAt {
		sp.schemaExamples = append(sp.schemaExamples, oaExample{"schema " + e.ptr + " example", e.ptr, e.value})
		if _, ok := sp.schemas[e.ptr]; ok {
			continue
		}
		sch, err := c.Compile(oaURL + "#" + e.ptr)
		if err != nil {
			t.Fatalf("schema at %s: %v", e.ptr, err)
		}
		sp.schemas[e.ptr] = sch
	}
	return sp
}

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// resolve follows a $ref to the document's components ("#/components/...").
func resolve(doc, v map[string]any) map[string]any {
	for range 10 {
		ref, ok := v["$ref"].(string)
		if !ok {
			return v
		}
		cur := any(doc)
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			part = strings.NewReplacer("~1", "/", "~0", "~").Replace(part)
			cur = obj(cur)[part]
		}
		v = obj(cur)
	}
	return v
}

// toJSONSchema turns an OpenAPI 3.0 Schema Object into JSON Schema 2020-12:
// nullable becomes a union with null, a reference to the components'
// schemas points into $defs, 3.0's boolean exclusiveMinimum/Maximum become
// numbers, and the keywords JSON Schema lacks (example, xml, ...) go; each
// example is handed to found with the JSON pointer of its schema.
func toJSONSchema(s any, ptr string, found func(ptr string, example any)) any {
	m, ok := s.(map[string]any)
	if !ok {
		return s // a boolean schema (additionalProperties: false)
	}
	out := map[string]any{}
	for k, v := range m {
		switch k {
		case "nullable", "discriminator", "xml", "externalDocs":
		case "example":
			found(ptr, v)
		case "$ref":
			out[k] = strings.Replace(v.(string), "#/components/schemas/", "#/$defs/", 1)
		case "properties":
			props := map[string]any{}
			for name, p := range obj(v) {
				props[name] = toJSONSchema(p, ptr+"/properties/"+name, found)
			}
			out[k] = props
		case "additionalProperties", "items", "not":
			out[k] = toJSONSchema(v, ptr+"/"+k, found)
		case "allOf", "anyOf", "oneOf":
			var list []any
			for i, x := range v.([]any) {
				list = append(list, toJSONSchema(x, fmt.Sprintf("%s/%s/%d", ptr, k, i), found))
			}
			out[k] = list
		default:
			out[k] = v
		}
	}
	for _, k := range []string{"Minimum", "Maximum"} {
		if excl, ok := m["exclusive"+k].(bool); ok {
			delete(out, "exclusive"+k)
			if excl {
				out["exclusive"+k] = out[strings.ToLower(k)]
				delete(out, strings.ToLower(k))
			}
		}
	}
	if m["nullable"] == true {
		if _, ref := out["$ref"]; ref {
			return map[string]any{"anyOf": []any{out, map[string]any{"type": "null"}}}
		}
		if t, ok := out["type"].(string); ok {
			out["type"] = []any{t, "null"}
		}
		if enum, ok := out["enum"].([]any); ok {
			out["enum"] = append(enum, nil)
		}
	}
	return out
}

// Every JSON request body and response has an example, and every example
// (and every schema's example) validates against its schema.
func TestOpenAPI_examplesValidate(t *testing.T) {
	sp := loadSpec(t, nil)
	sort.Strings(sp.missing)
	for _, m := range sp.missing {
		t.Errorf("%s has no example", m)
	}
	if len(sp.examples) < 30 {
		t.Errorf("only %d examples found", len(sp.examples))
	}
	for _, ex := range append(sp.examples, sp.schemaExamples...) {
		if err := sp.schemas[ex.key].Validate(ex.value); err != nil {
			t.Errorf("%s does not match its schema: %v", ex.where, err)
		}
	}
}

// The check above catches a broken example: a generation as a string, a
// time that is not RFC 3339, a field the schema does not know where it
// forbids them, null where nothing is nullable.
func TestOpenAPI_brokenExampleFails(t *testing.T) {
	raw, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ from, to string }{
		{`"generation": 3,`, `"generation": "3",`},
		{`"relock_at": "2026-05-04T12:00:00Z"`, `"relock_at": "2026-05-04 12:00"`},
		{`"dry_run": true`, `"dry_run": true, "dryrun": true`},
		{`"sweep_id": "manual-20260501T120000.000Z-1x3f"`, `"sweep_id": null`},
		{`"state": "closed"`, `"state": "shut"`},
	} {
		if !bytes.Contains(raw, []byte(c.from)) {
			t.Fatalf("openapi.json no longer holds %s", c.from)
		}
		sp := loadSpec(t, bytes.Replace(raw, []byte(c.from), []byte(c.to), 1))
		failed := false
		for _, ex := range sp.examples {
			if sp.schemas[ex.key].Validate(ex.value) != nil {
				failed = true
			}
		}
		if !failed {
			t.Errorf("an example with %s in place of %s validated", c.to, c.from)
		}
	}
}

// realAPI is the API in this process, with breakers to show on /readyz.
type realAPI struct {
	*bundle
	sys *system.System
}

func setupReal(t *testing.T) (*realAPI, func()) {
	t.Helper()
	env := redistest.New(t)
	cfg := &config.Config{Providers: []config.Provider{
		{Name: "enom-main", Type: "enom", TLDs: []string{"com", "net"}},
		{Name: "opensrs", Type: "opensrs"},
	}}
	sys := system.New(system.Options{Config: cfg, Redis: env.Client, Namespace: env.Namespace, Log: zerolog.New(zerolog.NewTestWriter(t))})
	srv := sys.API([]config.Token{
		{Name: "billing", Token: secret.String(writeToken)},
		{Name: "dashboard", Token: secret.String(readToken), Scopes: []string{"read"}},
	})
	opened := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	srv.Breakers = func(context.Context) (map[string]breaker.Status, error) {
		return map[string]breaker.Status{
			"enom-main": {State: breaker.Closed},
			"opensrs":   {State: breaker.Open, Reason: "opensrs: 503", Since: opened, Until: opened.Add(2 * time.Minute)},
		}, nil
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	b := &bundle{t: t, url: hs.URL, store: sys.Store, intents: sys.Intents, sys: sys}
	return &realAPI{bundle: b, sys: sys}, srv.Drain
}

// Real answers of the API, for every kind of operation and the usual
// refusals, validate against the schemas the document gives for their
// method, path and status; the requests sent validate against the
// documented request bodies.
func TestOpenAPI_realAnswersValidate(t *testing.T) {
	sp := loadSpec(t, nil)
	a, drain := setupReal(t)
	ctx := context.Background()

	check := func(method, pattern, path, token, body string, want int) any {
		t.Helper()
		if body != "" {
			sch := sp.schemas[method+" "+pattern+" request"]
			if sch == nil {
				t.Fatalf("%s %s: no request body documented", method, pattern)
			}
			v, err := jsonschema.UnmarshalJSON(strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(v); err != nil {
				t.Errorf("%s %s: the request %s does not match the documented body: %v", method, path, body, err)
			}
		}
		resp := send(t, a.url, method, path, token, body)
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		status := fmt.Sprint(resp.StatusCode)
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, data)
		}
		key := method + " " + pattern + " " + status
		if !sp.documented[key] {
			t.Errorf("%s %s answered %s, which the document does not list for %s %s", method, path, status, method, pattern)
			return nil
		}
		sch := sp.schemas[key]
		if sch == nil {
			t.Errorf("%s: no application/json schema documented", key)
			return nil
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q", method, path, ct)
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s %s: not JSON: %s", method, path, data)
		}
		if err := sch.Validate(v); err != nil {
			t.Errorf("%s %s: the real answer %s does not match the documented schema of %s: %v", method, path, bytes.TrimSpace(data), status, err)
		}
		return v
	}
	const (
		lock      = "/v1/domains/{domain}/lock"
		domain    = "/v1/domains/{domain}"
		history   = "/v1/domains/{domain}/history"
		sweeps    = "/v1/sweeps"
		oneSweep  = "/v1/sweeps/{id}"
		applyPath = "/v1/sweeps/{id}/apply"
		report    = "/v1/sweeps/{id}/report"
	)

	// Writes.
	check("POST", lock, "/v1/domains/B%C3%BCcher.COM./lock", writeToken, `{"reason":"customer asked","requested_by":"ticket-42"}`, 202)
	check("POST", lock, "/v1/domains/example.com/lock", writeToken, "", 202)
	check("POST", lock, "/v1/domains/example.net/lock", writeToken, `{"provider":"enom-main"}`, 202)
	check("DELETE", lock, "/v1/domains/xn--bcher-kva.com/lock", writeToken, `{"relock_after":"72h","reason":"registrant change","requested_by":"alice"}`, 202)
	check("DELETE", lock, "/v1/domains/example.net/lock", writeToken, `{"for_transfer":true}`, 202)
	check("PUT", "/v1/domains/{domain}/trade-lock", "/v1/domains/example.org/trade-lock", writeToken, `{"enable":false,"consent_ip":"203.0.113.7","provider":"opensrs"}`, 202)

	// Readings: one locked as desired, one failed.
	if _, _, err := a.store.Observe(ctx, "example.com", store.Reading{Locked: true}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.store.Observe(ctx, "example.org", store.Reading{Err: "opensrs: 415 authentication failed"}); err != nil {
		t.Fatal(err)
	}
	if err := a.sys.Sweeps.Records.SetFreshness(ctx, []sweep.AccountFreshness{
		{Provider: "enom-main", Domains: 3, AtRisk: 1, Budget: 2, Covers: 90 * time.Second, Period: 24 * time.Hour, At: time.Now()},
		{Provider: "opensrs", Domains: 1, Period: 24 * time.Hour, At: time.Now()},
	}, true); err != nil {
		t.Fatal(err)
	}

	// Reads.
	for _, d := range []string{"xn--bcher-kva.com", "example.com", "example.net", "example.org"} {
		out := obj(check("GET", domain, "/v1/domains/"+d, readToken, "", 200))
		if d == "xn--bcher-kva.com" && (out["intent"] == nil || out["task"] == nil || out["relock"] == nil) {
			t.Errorf("a domain without intent, task and relock to check: %v", out)
		}
		check("GET", history, "/v1/domains/"+d+"/history", readToken, "", 200)
	}
	check("GET", history, "/v1/domains/never-seen.com/history?limit=5", readToken, "", 200)
	check("GET", "/v1/domains", "/v1/domains?drift=true", readToken, "", 200)
	cursor, pages := "", 0
	for {
		out := obj(check("GET", "/v1/domains", "/v1/domains?limit=1&cursor="+url.QueryEscape(cursor), readToken, "", 200))
		next, _ := out["next_cursor"].(string)
		if pages++; next == "" || pages > 1000 {
			break
		}
		cursor = next
	}
	comp := obj(check("GET", "/v1/compliance", "/v1/compliance", readToken, "", 200))
	if ps, _ := comp["providers"].([]any); len(ps) != 2 || obj(ps[0])["freshness"] == nil {
		t.Errorf("compliance without the freshness figures to check: %v", comp)
	}

	// Sweeps.
	id, _ := obj(check("POST", sweeps, "/v1/sweeps", writeToken, `{"provider":"enom-main","dry_run":true}`, 202))["sweep_id"].(string)
	if id == "" {
		t.Fatal("no sweep_id")
	}
	check("POST", sweeps, "/v1/sweeps", writeToken, "", 202)
	check("GET", oneSweep, "/v1/sweeps/"+id, readToken, "", 200)
	check("GET", sweeps, "/v1/sweeps", readToken, "", 200)
	check("GET", sweeps, "/v1/sweeps?state=running&limit=1", readToken, "", 200)
	check("GET", report, "/v1/sweeps/"+id+"/report", readToken, "", 200)
	check("POST", applyPath, "/v1/sweeps/"+id+"/apply", writeToken, "", 409)

	// Meta.
	check("GET", "/", "/", "", "", 200)
	check("GET", "/healthz", "/healthz", "", "", 200)
	if ready := obj(check("GET", "/readyz", "/readyz", "", "", 200)); obj(ready["registrars"])["opensrs"] == nil {
		t.Errorf("readyz without the breakers to check: %v", ready)
	}
	check("GET", "/v1/openapi.json", "/v1/openapi.json", readToken, "", 200)

	// Refusals, in the error envelope.
	check("POST", lock, "/v1/domains/example.com/lock", "", "", 401)
	check("POST", lock, "/v1/domains/example.com/lock", readToken, "", 403)
	check("POST", lock, "/v1/domains/exa_mple.com/lock", writeToken, "", 400)
	check("POST", lock, "/v1/domains/example.com/lock", writeToken, `{"provider":"godaddy"}`, 422)
	check("POST", lock, "/v1/domains/example.com/lock", writeToken, `{"provider":"opensrs"}`, 409)
	check("GET", domain, "/v1/domains/other.com", readToken, "", 404)
	check("GET", "/v1/domains", "/v1/domains?limit=5000", readToken, "", 400)
	check("GET", oneSweep, "/v1/sweeps/nope", readToken, "", 404)
	check("GET", "/v1/compliance", "/v1/compliance?x=1", readToken, "", 400)

	// Forgetting, last: it changes the inventory.
	check("DELETE", domain, "/v1/domains/example.com", writeToken, `{"reason":"expired","requested_by":"ticket-7"}`, 200)
	check("GET", history, "/v1/domains/example.com/history", readToken, "", 200)

	drain()
	check("GET", "/readyz", "/readyz", "", "", 503)
}
