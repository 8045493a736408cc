package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/reglock/reglock/client"
	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/secret"
)

type openAPIDoc struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
	Comp    struct {
		Schemas map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"schemas"`
	} `json:"components"`
}

func loadOpenAPI(t *testing.T) openAPIDoc {
	t.Helper()
	var doc openAPIDoc
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	return doc
}

// Every route is documented, and every documented operation is a route.
func TestOpenAPI_coversEveryRoute(t *testing.T) {
	doc := loadOpenAPI(t)
	served := map[string]bool{"GET /": true, "GET /healthz": true, "GET /readyz": true, "GET /metrics": true}
	for _, r := range routes {
		served[r.method+" "+r.path] = true
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	for r := range served {
		if !documented[r] {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	for r := range documented {
		if !served[r] {
			t.Errorf("openapi.json documents %s, which is not served", r)
		}
	}
}

// The documented response schemas name exactly the fields the API sends.
func TestOpenAPI_schemasMatchTheWireTypes(t *testing.T) {
	doc := loadOpenAPI(t)
	for name, v := range map[string]any{
		"Accepted": client.Accepted{}, "Domain": client.Domain{}, "Desired": client.Desired{}, "Observed": client.Observed{},
		"DomainList": client.DomainList{}, "Sweep": client.Sweep{}, "SweepStarted": client.SweepStarted{}, "SweepRequest": client.SweepRequest{},
		"LockRequest": client.LockRequest{}, "UnlockRequest": client.UnlockRequest{}, "TradeLockRequest": client.TradeLockRequest{},
		"HistoryEvent": client.HistoryEvent{}, "History": client.History{}, "IntentInfo": client.IntentInfo{}, "TaskInfo": client.TaskInfo{},
		"RelockInfo": client.RelockInfo{}, "SweepList": client.SweepList{}, "ReportEntry": client.ReportEntry{}, "SweepReport": client.SweepReport{},
		"ProviderCompliance": client.ProviderCompliance{}, "Compliance": client.Compliance{}, "ForgetRequest": client.ForgetRequest{},
		"Forgotten": client.Forgotten{}, "Freshness": client.Freshness{}, "Counts": client.SweepCounts{}, "RegistrarStatus": registrarStatus{},
		"FrontPageLink": link{},
	} {
		want := jsonFields(reflect.TypeOf(v))
		var got []string
		for f := range doc.Comp.Schemas[name].Properties {
			got = append(got, f)
		}
		sort.Strings(got)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("schema %s documents %v, the type sends %v", name, got, want)
		}
	}
}

func jsonFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func TestOpenAPI_served(t *testing.T) {
	srv := New([]config.Token{{Name: "t", Token: secret.String("openapi-token-0123456789")}})
	h := srv.Handler()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/v1/openapi.json", nil)
	req.Header.Set("Authorization", "Bearer openapi-token-0123456789")
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" || !json.Valid(rec.Body.Bytes()) {
		t.Fatalf("GET /v1/openapi.json: %d %s", rec.Code, rec.Header())
	}
}
