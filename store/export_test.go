package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/reglock/reglock/redistest"
)

// readAll reads an export into records.
func readAll(t *testing.T, b []byte) (ExportHeader, []ExportRecord) {
	t.Helper()
	var recs []ExportRecord
	h, n, err := ReadExport(bytes.NewReader(b), func(_ int, r ExportRecord) error { recs = append(recs, r); return nil })
	if err != nil {
		t.Fatalf("ReadExport: %v\n%s", err, b)
	}
	if n != int64(len(recs)) {
		t.Fatalf("ReadExport counted %d, handed %d", n, len(recs))
	}
	return h, recs
}

// An export holds every domain's desired state: locks, unlocks with their
// windows, trade lock settings pending and applied, on several providers;
// restored into a wiped store, each domain's intent is as it was, the
// provider counters, windows and occupied buckets are back, and every
// domain is out of sync until it is read.
func TestStore_ExportRestore_roundTrip(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if _, err := s.Identify(ctx); err != nil {
			t.Fatal(err)
		}
		at := t0.Add(123 * time.Millisecond)
		var names []string
		for i := range 40 {
			name := fmt.Sprintf("d%02d.com", i)
			names = append(names, name)
			p := "enom"
			if i%3 == 0 {
				p = "opensrs"
			}
			c := Change{Domain: name, Kind: KindLock, Provider: p, RequestedAt: at.Add(time.Duration(i) * time.Second)}
			if i%4 == 1 {
				c.Kind, c.RelockAt = KindUnlock, t0.Add(72*time.Hour)
			}
			if _, _, err := s.Fold(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		// Trade lock settings: one pending, one applied; a window already
		// ended; a domain read in sync.
		if _, _, err := s.Fold(ctx, Change{Domain: "d03.com", Kind: KindTrade, TradeEnable: false, ConsentIP: "203.0.113.7", RequestedAt: at.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Fold(ctx, Change{Domain: "d06.com", Kind: KindTrade, TradeEnable: true, ConsentIP: "2001:db8::1", RequestedAt: at.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		sent := true
		if _, _, err := s.Finish(ctx, Finish{Domain: "d06.com", TradeSent: &sent}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Fold(ctx, Change{Domain: "d09.com", Kind: KindUnlock, RequestedAt: at.Add(2 * time.Hour), RelockAt: t0.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Observe(ctx, "d00.com", Reading{Locked: true, StartedAt: at}); err != nil {
			t.Fatal(err)
		}
		before := map[string]Desired{}
		for _, n := range names {
			d, err := s.Get(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			before[n] = d.Desired
		}
		counts, err := s.CountByProvider(ctx)
		if err != nil {
			t.Fatal(err)
		}
		id, _, _ := s.Identity(ctx)

		var buf bytes.Buffer
		n, err := s.Export(ctx, &buf, t0)
		if err != nil || n != int64(len(names)) {
			t.Fatalf("Export = %d, %v", n, err)
		}
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if len(lines) != len(names)+2 || !strings.HasPrefix(lines[0], `{"format":"reglock-export","version":1,`) ||
			lines[len(lines)-1] != fmt.Sprintf(`{"end":true,"domains":%d}`, len(names)) {
			t.Fatalf("export:\n%s", buf.String())
		}
		h, recs := readAll(t, buf.Bytes())
		if h.StoreID != id.ID || !h.ExportedAt.Equal(t0) {
			t.Fatalf("header %+v, want store %s exported at %v", h, id.ID, t0)
		}
		if d := recs[0]; d.Domain == "" || d.Generation == 0 || d.RequestedAt == nil {
			t.Fatalf("record %+v", d)
		}

		wipe(t, s)
		out, err := s.Restore(ctx, recs, "cli:test", "drill")
		if err != nil {
			t.Fatal(err)
		}
		for i, o := range out {
			if o != Restored {
				t.Fatalf("record %d (%s): %s, want restored", i, recs[i].Domain, o)
			}
		}
		for _, n := range names {
			d, err := s.Get(ctx, n)
			if err != nil {
				t.Fatalf("%s after the restore: %v", n, err)
			}
			if !reflect.DeepEqual(d.Desired, before[n]) {
				t.Errorf("%s restored as %+v, was %+v", n, d.Desired, before[n])
			}
			if d.Observed.Known || d.InSync() || d.Work.Pending {
				t.Errorf("%s restored with an observation or work: %+v", n, d)
			}
		}
		if got, _ := s.CountByProvider(ctx); !reflect.DeepEqual(got, counts) {
			t.Errorf("provider counts %v after the restore, were %v", got, counts)
		}
		if all := listAll(t, s, ListOptions{}); len(all) != len(names) {
			t.Errorf("listing holds %d domains after the restore, want %d", len(all), len(names))
		}
		if drift := listAll(t, s, ListOptions{Drift: true}); len(drift) != len(names) {
			t.Errorf("%d domains in the drift index after the restore, want all %d (nothing is read yet)", len(drift), len(names))
		}
		// The windows are back: the one that ended is owed its relock now,
		// the others when they end.
		var ended []string
		for _, o := range owed(t, s, t0) {
			if !o.RelockAt.IsZero() {
				ended = append(ended, o.Domain)
			}
		}
		if len(ended) != 1 || ended[0] != "d09.com" {
			t.Errorf("windows ended by %v: %v, want [d09.com]", t0, ended)
		}
		windows := 0
		for _, o := range owed(t, s, t0.Add(73*time.Hour)) {
			if !o.RelockAt.IsZero() {
				windows++
			}
		}
		if want := 10; windows != want { // d01, d05, ... d37 (d09's ended)
			t.Errorf("%d windows after the restore, want %d", windows, want)
		}

		// Restoring again changes nothing.
		out, err = s.Restore(ctx, recs, "cli:test", "drill")
		if err != nil {
			t.Fatal(err)
		}
		for i, o := range out {
			if o != Kept {
				t.Fatalf("second restore of %s: %s, want kept", recs[i].Domain, o)
			}
		}
		if got, _ := s.CountByProvider(ctx); !reflect.DeepEqual(got, counts) {
			t.Errorf("provider counts %v after a second restore, were %v", got, counts)
		}
	})
}

// A restore keeps a domain whose stored generation is the same or newer,
// and replaces an older one, moving it between providers' counters and
// keeping the drift index right.
func TestStore_Restore_generations(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for range 3 {
			if _, _, err := s.Fold(ctx, Change{Domain: "a.com", Kind: KindLock, Provider: "enom", RequestedAt: t0}); err != nil {
				t.Fatal(err)
			}
		}
		if _, _, err := s.Observe(ctx, "a.com", Reading{Locked: true, StartedAt: t0}); err != nil {
			t.Fatal(err)
		}
		req := t0.Add(time.Hour)
		rec := func(gen int64, locked bool, p string) ExportRecord {
			return ExportRecord{Domain: "a.com", Provider: p, Locked: locked, Generation: gen, RequestedAt: &req}
		}
		out, err := s.Restore(ctx, []ExportRecord{rec(2, false, "enom"), rec(3, false, "enom")}, "", "")
		if err != nil || out[0] != Kept || out[1] != Kept {
			t.Fatalf("older and same generation: %v %v", out, err)
		}
		if d, _ := s.Get(ctx, "a.com"); !d.Desired.Locked || !d.InSync() {
			t.Fatalf("kept domain changed: %+v", d)
		}
		out, err = s.Restore(ctx, []ExportRecord{rec(5, false, "whmcs")}, "cli:ops", "restored from reglock-2026.jsonl")
		if err != nil || out[0] != Replaced {
			t.Fatalf("newer generation: %v %v", out, err)
		}
		ev, err := s.HistoryPage(ctx, "a.com", "", 1)
		if err != nil || len(ev) != 1 {
			t.Fatalf("history: %v %v", ev, err)
		}
		want := map[string]string{"kind": "intent", "source": "restore", "gen": "5", "intent": "unlock", "provider": "whmcs", "by": "cli:ops", "reason": "restored from reglock-2026.jsonl"}
		for k, v := range want {
			if ev[0].Fields[k] != v {
				t.Errorf("history event %v: %s = %v, want %v", ev[0].Fields, k, ev[0].Fields[k], v)
			}
		}
		d, _ := s.Get(ctx, "a.com")
		if d.Desired.Locked || d.Desired.Generation != 5 || d.Desired.Provider != "whmcs" || d.InSync() {
			t.Fatalf("replaced domain: %+v", d)
		}
		if drift := listAll(t, s, ListOptions{Drift: true}); len(drift) != 1 {
			t.Fatalf("drift index after an unlock restored over a locked reading: %v", drift)
		}
		if c, _ := s.CountByProvider(ctx); c["enom"] != 0 || c["whmcs"] != 1 {
			t.Fatalf("counts %v", c)
		}
		// The next intent continues from the restored generation.
		if d, _, _ := s.Fold(ctx, Change{Domain: "a.com", Kind: KindLock, RequestedAt: req.Add(time.Second)}); d.Desired.Generation != 6 {
			t.Fatalf("generation after the restore: %d", d.Desired.Generation)
		}
	})
}

// ReadExport refuses, naming the line, anything a restore could get wrong.
func TestReadExport_refuses(t *testing.T) {
	const header = `{"format":"reglock-export","version":1,"exported_at":"2026-11-22T10:00:00Z","store_id":"x"}`
	const dom = `{"domain":"a.com","provider":"enom","locked":true,"generation":1,"requested_at":"2026-11-22T10:00:00Z","relock_at":null,"trade_lock":null,"trade_lock_applied":false,"trade_requested_at":null,"consent_ip":""}`
	const end1 = `{"end":true,"domains":1}`
	cases := []struct {
		name, file, want string
	}{
		{"empty", ``, "empty file"},
		{"not an export", `{"format":"csv","version":1,"exported_at":"2026-11-22T10:00:00Z","store_id":""}`, `line 1: format "csv"`},
		{"newer version", `{"format":"reglock-export","version":2,"exported_at":"2026-11-22T10:00:00Z","store_id":""}`, "line 1: export format version 2; this reglock reads version 1"},
		{"truncated", header + "\n" + dom + "\n", "truncated export: no end line after line 2 (1 domains read)"},
		{"cut mid-line", header + "\n" + dom[:40], "line 2: unexpected EOF"},
		{"wrong count", header + "\n" + dom + "\n" + `{"end":true,"domains":2}`, "line 3: the end line counts 2 domains, the file holds 1"},
		{"text after the end", header + "\n" + dom + "\n" + end1 + "\n" + dom, "line 4: text after the end line"},
		{"unknown field", header + "\n" + strings.Replace(dom, `"locked"`, `"colour":"red","locked"`, 1) + "\n" + end1, `line 2: json: unknown field "colour"`},
		{"bad domain", header + "\n" + strings.Replace(dom, "a.com", "bad_name.com", 1) + "\n" + end1, `line 2: domain "bad_name.com"`},
		{"no provider", header + "\n" + strings.Replace(dom, `"enom"`, `""`, 1) + "\n" + end1, "line 2: a.com: provider: missing"},
		{"generation 0", header + "\n" + strings.Replace(dom, `"generation":1`, `"generation":0`, 1) + "\n" + end1, "line 2: a.com: generation 0 out of range"},
		{"window on a lock", header + "\n" + strings.Replace(dom, `"relock_at":null`, `"relock_at":"2026-11-25T10:00:00Z"`, 1) + "\n" + end1, "line 2: a.com: relock_at on a locked domain"},
		{"consent without a setting", header + "\n" + strings.Replace(dom, `"consent_ip":""`, `"consent_ip":"203.0.113.7"`, 1) + "\n" + end1, "need trade_lock"},
		{"bad consent ip", header + "\n" + strings.Replace(strings.Replace(dom, `"consent_ip":""`, `"consent_ip":"nope"`, 1), `"trade_lock":null`, `"trade_lock":false`, 1) + "\n" + end1, `consent_ip "nope"`},
		{"garbage", header + "\n" + "hello\n" + end1, "line 2: invalid character"},
		{"two values on a line", header + "\n" + dom + dom + "\n" + end1, "line 2: more than one JSON value"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := ReadExport(strings.NewReader(c.file), nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("ReadExport = %v, want an error containing %q", err, c.want)
			}
		})
	}
	// A good file, with a name to normalize; fn's error names its line.
	file := header + "\n" + strings.Replace(dom, "a.com", "A.COM.", 1) + "\n" + end1 + "\n"
	var got []ExportRecord
	if _, n, err := ReadExport(strings.NewReader(file), func(_ int, r ExportRecord) error { got = append(got, r); return nil }); err != nil || n != 1 || got[0].Domain != "a.com" {
		t.Fatalf("a good file: %d %v %+v", n, err, got)
	}
	_, _, err := ReadExport(strings.NewReader(file), func(int, ExportRecord) error { return errors.New("unknown provider") })
	var ee *ExportError
	if !errors.As(err, &ee) || ee.Line != 2 || err.Error() != "line 2: unknown provider" {
		t.Fatalf("fn's error: %v", err)
	}
}

// An export and a restore of 100,000 domains against the real test Redis:
// the figures per domain say what a million costs (the export streams, so
// memory stays flat).
func BenchmarkExportRestore(b *testing.B) {
	env := redistest.New(b)
	s := New(env.Client, env.StorePrefix())
	ctx := context.Background()
	const n = 100_000
	req := t0
	recs := make([]ExportRecord, 0, 500)
	for i := range n {
		recs = append(recs, ExportRecord{Domain: fmt.Sprintf("bench%06d.com", i), Provider: "enom-main", Locked: i%10 != 0, Generation: 3, RequestedAt: &req})
		if len(recs) == cap(recs) {
			if _, err := s.Restore(ctx, recs, "", ""); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	var file bytes.Buffer
	b.Run("Export", func(b *testing.B) {
		for b.Loop() {
			file.Reset()
			if got, err := s.Export(ctx, &file, t0); err != nil || got != n {
				b.Fatalf("Export = %d, %v", got, err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/domain")
	})
	b.Run("ReadExport+Restore", func(b *testing.B) {
		for b.Loop() {
			var batch []ExportRecord
			_, _, err := ReadExport(bytes.NewReader(file.Bytes()), func(_ int, r ExportRecord) error {
				batch = append(batch, r)
				if len(batch) == 500 {
					_, err := s.Restore(ctx, batch, "", "")
					batch = batch[:0]
					return err
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/domain")
	})
}
