package api

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/reglock/reglock/client"
	"github.com/reglock/reglock/sweep"
)

// The client's SweepCounts is sweep.Counts on the wire: the same fields,
// in the same order, with the same JSON tags, so that the API's answer is
// what it was when it sent sweep.Counts itself.
func TestWire_sweepCountsMatchSweep(t *testing.T) {
	a, b := reflect.TypeOf(sweep.Counts{}), reflect.TypeOf(client.SweepCounts{})
	if a.NumField() != b.NumField() {
		t.Fatalf("sweep.Counts has %d fields, client.SweepCounts %d", a.NumField(), b.NumField())
	}
	for i := range a.NumField() {
		fa, fb := a.Field(i), b.Field(i)
		if fa.Name != fb.Name || fa.Type != fb.Type || fa.Tag != fb.Tag {
			t.Errorf("field %d: sweep.Counts has %s %s `%s`, client.SweepCounts %s %s `%s`",
				i, fa.Name, fa.Type, fa.Tag, fb.Name, fb.Type, fb.Tag)
		}
	}
	c := sweep.Counts{Checked: 1, Drifted: 2, Errors: 3, Unlocks: 4, Unfixable: 5, Calls: 6}
	want, _ := json.Marshal(c)
	got, _ := json.Marshal(countsOf(map[string]sweep.Counts{"p": c})["p"])
	if string(got) != string(want) {
		t.Errorf("converted counts encode as %s, sweep.Counts as %s", got, want)
	}
}

// A sweep with no per-account counts leaves per_provider out, as the map
// of sweep.Counts did whether nil or empty.
func TestWire_sweepOfEncodesAsBefore(t *testing.T) {
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	st := sweep.Status{ID: "s1", State: sweep.StateDone, Counts: sweep.Counts{Checked: 3}, CreatedAt: at, FinishedAt: at,
		PerProvider: map[string]sweep.Counts{}, Paused: map[string]string{}}
	got, _ := json.Marshal(SweepOf(st))
	const want = `{"sweep_id":"s1","state":"done","checked":3,"drifted":0,"fixes_queued":0,"errors":0,"calls":0,"dry_run":false,"unfixable":0,"created_at":"2026-05-01T12:00:00Z","finished_at":"2026-05-01T12:00:00Z"}`
	if string(got) != want {
		t.Errorf("SweepOf encodes as\n%s\nwant\n%s", got, want)
	}
	st.PerProvider = map[string]sweep.Counts{"enom-main": {Checked: 3, Calls: 1}}
	got, _ = json.Marshal(SweepOf(st))
	const wantPer = `"per_provider":{"enom-main":{"checked":3,"drifted":0,"errors":0,"unlocks":0,"unfixable":0,"calls":1}}`
	if !json.Valid(got) || !strings.Contains(string(got), wantPer) {
		t.Errorf("SweepOf encodes as\n%s\nwant it to hold %s", got, wantPer)
	}
}

// The error envelope is {"error":{"code":...,"message":...}}, and nothing
// else: the client's Error keeps its status out of the body.
func TestWire_errorEnvelope(t *testing.T) {
	got, _ := json.Marshal(client.ErrorEnvelope{Error: client.Error{Status: 422, Code: "provider_required", Message: "give \"provider\""}})
	const want = `{"error":{"code":"provider_required","message":"give \"provider\""}}`
	if string(got) != want {
		t.Errorf("envelope encodes as %s, want %s", got, want)
	}
}
