package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/reglock/reglock/redistest"
)

// backends runs a test against the real test Redis server and against
// miniredis, which the embedded sandbox uses: the Lua scripts must behave the
// same on both.
func backends(t *testing.T, fn func(t *testing.T, s *Store)) {
	t.Run("redis", func(t *testing.T) {
		env := redistest.New(t)
		fn(t, New(env.Client, env.StorePrefix()))
	})
	t.Run("miniredis", func(t *testing.T) {
		mr := miniredis.RunT(t)
		c := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		t.Cleanup(func() { c.Close() })
		fn(t, New(c, ""))
	})
}

var t0 = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

func TestStore_Fold_record(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if _, err := s.Get(ctx, "example.com"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Get unknown = %v, want ErrNotFound", err)
		}
		_, _, err := s.Fold(ctx, Change{Domain: "example.com", Kind: KindLock})
		if !errors.Is(err, ErrProviderRequired) {
			t.Fatalf("Fold without provider = %v, want ErrProviderRequired", err)
		}
		if _, err := s.Get(ctx, "example.com"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("a refused change left a record: %v", err)
		}
		d, out, err := s.Fold(ctx, Change{Domain: "example.com", Kind: KindLock, DefaultProvider: "enom", RequestedAt: t0})
		if err != nil || out != Applied {
			t.Fatalf("Fold = %v, %v", out, err)
		}
		want := Desired{Provider: "enom", Locked: true, Generation: 1, RequestedAt: t0}
		if d.Desired != want {
			t.Fatalf("desired = %+v, want %+v", d.Desired, want)
		}
		if d.InSync() {
			t.Fatal("a never-read domain is in sync")
		}
		// The stored provider wins over TLD routing; an explicit one replaces it.
		d, _, _ = s.Fold(ctx, Change{Domain: "example.com", Kind: KindUnlock, DefaultProvider: "other", RequestedAt: t0.Add(time.Second), RelockAt: t0.Add(72 * time.Hour)})
		if d.Desired.Provider != "enom" || d.Desired.Locked || d.Desired.Generation != 2 || !d.Desired.RelockAt.Equal(t0.Add(72*time.Hour)) {
			t.Fatalf("after unlock: %+v", d.Desired)
		}
		// A request naming another account is refused: moving is an admin's.
		_, _, err = s.Fold(ctx, Change{Domain: "example.com", Kind: KindLock, Provider: "enom2", RequestedAt: t0.Add(2 * time.Second)})
		var conflict *ProviderConflictError
		if !errors.As(err, &conflict) || conflict.Stored != "enom" {
			t.Fatalf("Fold with another provider = %v, want a ProviderConflictError naming enom", err)
		}
		d, _, _ = s.Fold(ctx, Change{Domain: "example.com", Kind: KindLock, Provider: "enom", RequestedAt: t0.Add(2 * time.Second)})
		if d.Desired.Provider != "enom" || !d.Desired.Locked || d.Desired.Generation != 3 || !d.Desired.RelockAt.IsZero() {
			t.Fatalf("after lock: %+v", d.Desired)
		}
		got, err := s.Get(ctx, "example.com")
		if err != nil || got.Desired != d.Desired {
			t.Fatalf("Get = %+v, %v; want %+v", got.Desired, err, d.Desired)
		}
	})
}

func TestStore_Fold_ordering(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		rec := func(kind Kind, at time.Time) Domain {
			d, _, err := s.Fold(ctx, Change{Domain: "a.ee", Kind: kind, Provider: "ee", RequestedAt: at})
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		rec(KindLock, t0)
		g2 := rec(KindUnlock, t0.Add(time.Second)).Desired.Generation
		window := t0.Add(time.Hour)
		cases := []struct {
			name string
			c    Change
			want Outcome
			gen  int64
		}{
			{"older generation", Change{Kind: KindLock, Mode: ModeFold, Generation: 1}, Superseded, 2},
			{"same generation", Change{Kind: KindUnlock, Mode: ModeFold, Generation: g2}, Current, 2},
			{"direct producer, older request", Change{Kind: KindLock, Mode: ModeFold, RequestedAt: t0.Add(500 * time.Millisecond)}, Superseded, 2},
			{"direct producer, same request (a retry)", Change{Kind: KindUnlock, Mode: ModeFold, RequestedAt: t0.Add(time.Second)}, Current, 2},
			{"direct producer, newer request", Change{Kind: KindLock, Mode: ModeFold, RequestedAt: t0.Add(3 * time.Second)}, Applied, 3},
			{"relock while locked (a relock retried after it applied)", Change{Kind: KindLock, Mode: ModeRelock, RequestedAt: window}, Current, 3},
			{"generation beyond the store (store lost data)", Change{Kind: KindUnlock, Mode: ModeFold, Generation: 9, RequestedAt: t0.Add(4 * time.Second), RelockAt: window}, Applied, 9},
			{"relock of another window", Change{Kind: KindLock, Mode: ModeRelock, RequestedAt: window.Add(time.Hour)}, Superseded, 9},
			{"a trade setting keeps the window", Change{Kind: KindTrade, Mode: ModeRecord, RequestedAt: t0.Add(5 * time.Second)}, Applied, 10},
			{"relock of the standing window", Change{Kind: KindLock, Mode: ModeRelock, RequestedAt: window}, Applied, 11},
			{"the same relock again", Change{Kind: KindLock, Mode: ModeRelock, RequestedAt: window}, Current, 11},
			// The end of a window is not a producer's request: a direct
			// request made during the window, after the unlock that opened
			// it, still counts as newer.
			{"direct request made during the window", Change{Kind: KindUnlock, Mode: ModeFold, RequestedAt: t0.Add(6 * time.Second)}, Applied, 12},
			{"import of a known domain", Change{Kind: KindUnlock, Mode: ModeImport, Provider: "other"}, Current, 12},
		}
		for _, c := range cases {
			c.c.Domain = "a.ee"
			d, out, err := s.Fold(ctx, c.c)
			if err != nil || out != c.want || d.Desired.Generation != c.gen {
				t.Errorf("%s: outcome %v gen %d err %v; want %v gen %d", c.name, out, d.Desired.Generation, err, c.want, c.gen)
			}
		}
		if d, _ := s.Get(ctx, "a.ee"); d.Desired.Locked || d.Desired.Provider != "ee" || !d.Desired.RelockAt.IsZero() {
			t.Errorf("after the last direct unlock and import: %+v", d.Desired)
		}
		d, out, err := s.Fold(ctx, Change{Domain: "new.ee", Kind: KindUnlock, Mode: ModeImport, Provider: "ee"})
		if err != nil || out != Applied || d.Desired.Locked || d.Desired.Generation != 1 {
			t.Errorf("import of a new domain: %v %v %+v", out, err, d.Desired)
		}
	})
}

// Lock intents and trade lock settings are ordered each on their own: a
// direct producer's lock task is not superseded by a newer trade setting,
// nor a trade task by a newer lock.
func TestStore_Fold_lockAndTradeOrderedApart(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		fold := func(c Change) Outcome {
			t.Helper()
			c.Domain, c.Provider = "t.net", "opensrs"
			_, out, err := s.Fold(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		fold(Change{Kind: KindLock, RequestedAt: t0})
		if out := fold(Change{Kind: KindTrade, Mode: ModeFold, RequestedAt: t0.Add(-time.Second), TradeEnable: false, ConsentIP: "203.0.113.7"}); out != Applied {
			t.Fatalf("first trade setting, asked before the lock: %v, want applied", out)
		}
		fold(Change{Kind: KindTrade, RequestedAt: t0.Add(10 * time.Second), TradeEnable: true, ConsentIP: "203.0.113.8"})
		if out := fold(Change{Kind: KindUnlock, Mode: ModeFold, RequestedAt: t0.Add(5 * time.Second)}); out != Applied {
			t.Fatalf("unlock asked after the lock, before a newer trade setting: %v, want applied", out)
		}
		if out := fold(Change{Kind: KindTrade, Mode: ModeFold, RequestedAt: t0.Add(6 * time.Second), TradeEnable: false, ConsentIP: "203.0.113.9"}); out != Superseded {
			t.Fatalf("older trade setting: %v, want superseded", out)
		}
		d, err := s.Get(ctx, "t.net")
		if err != nil || d.Desired.Locked || d.Desired.TradeLock == nil || !*d.Desired.TradeLock || d.Desired.ConsentIP != "203.0.113.8" ||
			!d.Desired.TradeRequestedAt.Equal(t0.Add(10*time.Second)) || !d.Desired.RequestedAt.Equal(t0.Add(5*time.Second)) {
			t.Fatalf("record: %+v %v", d.Desired, err)
		}
	})
}

// A producer-supplied generation beyond what Lua numbers hold exactly is
// refused before anything is written; the largest one is stored exactly
// (never as "1e+15"), and the domain stays readable.
func TestStore_Fold_generationRange(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		s.Fold(ctx, Change{Domain: "g.com", Kind: KindLock, Provider: "enom", RequestedAt: t0})
		if _, _, err := s.Fold(ctx, Change{Domain: "g.com", Kind: KindUnlock, Mode: ModeFold, Generation: MaxGeneration + 1}); err == nil {
			t.Fatal("a generation above 2^53-1 was accepted")
		}
		d, out, err := s.Fold(ctx, Change{Domain: "g.com", Kind: KindUnlock, Mode: ModeFold, Generation: 1_000_000_000_000_000})
		if err != nil || out != Applied || d.Desired.Generation != 1_000_000_000_000_000 {
			t.Fatalf("generation 1e15: %v %v %+v", out, err, d.Desired)
		}
		raw, _ := s.Redis().HGet(ctx, s.keys(Bucket("g.com"))[keyIntent], "g.com").Result()
		if !strings.Contains(raw, "|1000000000000000|") {
			t.Fatalf("stored intent %q does not hold the generation as an integer", raw)
		}
		if d, err := s.Get(ctx, "g.com"); err != nil || d.Desired.Generation != 1_000_000_000_000_000 {
			t.Fatalf("Get after a large generation: %+v %v", d.Desired, err)
		}
		if _, _, err := s.Fold(ctx, Change{Domain: "g.com", Kind: KindLock, Provider: "enom"}); err != nil {
			t.Fatalf("a later request: %v", err)
		}
		d, out, err = s.Fold(ctx, Change{Domain: "g.com", Kind: KindUnlock, Mode: ModeFold, Generation: MaxGeneration})
		if err != nil || out != Applied || d.Desired.Generation != MaxGeneration {
			t.Fatalf("generation 2^53-1: %v %v %+v", out, err, d.Desired)
		}
		if _, _, err := s.Fold(ctx, Change{Domain: "g.com", Kind: KindLock}); err == nil {
			t.Fatal("a generation past 2^53-1 was written")
		}
		if d, err := s.Get(ctx, "g.com"); err != nil || d.Desired.Generation != MaxGeneration || d.Desired.Locked {
			t.Fatalf("after a refused increment: %+v %v", d.Desired, err)
		}
	})
}

func TestStore_Observe(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if _, _, err := s.Observe(ctx, "nope.com", Reading{Locked: true, StartedAt: t0}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Observe unknown = %v", err)
		}
		if _, err := s.Get(ctx, "nope.com"); !errors.Is(err, ErrNotFound) {
			t.Fatal("an observation created a record")
		}
		s.Fold(ctx, Change{Domain: "x.com", Kind: KindLock, Provider: "enom"})
		d, ok, err := s.Observe(ctx, "x.com", Reading{Locked: true, StartedAt: t0, Flags: FlagIndirect})
		if err != nil || !ok || !d.InSync() || !d.Observed.CheckedAt.Equal(t0) || d.Observed.Flags != FlagIndirect {
			t.Fatalf("Observe = %+v %v %v", d.Observed, ok, err)
		}
		// A slower read that started earlier must not overwrite a newer one.
		d, ok, _ = s.Observe(ctx, "x.com", Reading{Locked: false, StartedAt: t0.Add(-time.Second)})
		if ok || !d.Observed.Locked {
			t.Fatalf("stale reading recorded: %+v", d.Observed)
		}
		// An error keeps the last reading and takes the domain out of sync.
		d, ok, _ = s.Observe(ctx, "x.com", Reading{Err: "enom: timeout\nsecond line", StartedAt: t0.Add(time.Second)})
		if !ok || d.InSync() || d.Observed.Error != "enom: timeout second line" || !d.Observed.Locked {
			t.Fatalf("after error: %+v", d.Observed)
		}
		// A success that started before the error does not clear it.
		d, ok, _ = s.Observe(ctx, "x.com", Reading{Locked: true, StartedAt: t0.Add(500 * time.Millisecond)})
		if ok || d.Observed.Error == "" {
			t.Fatalf("older success cleared a newer error: %+v", d.Observed)
		}
		d, ok, _ = s.Observe(ctx, "x.com", Reading{Locked: true, StartedAt: t0.Add(2 * time.Second)})
		if !ok || d.Observed.Error != "" || !d.InSync() {
			t.Fatalf("newer success did not clear the error: %+v", d.Observed)
		}
		long := make([]byte, 5000)
		for i := range long {
			long[i] = 'x'
		}
		d, _, _ = s.Observe(ctx, "x.com", Reading{Err: string(long), StartedAt: t0.Add(3 * time.Second)})
		if len(d.Observed.Error) > maxErrorText+4 {
			t.Fatalf("stored error of %d bytes", len(d.Observed.Error))
		}
	})
}

func TestStore_List(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		const n = 250
		want := map[string]bool{}
		for i := range n {
			name := fmt.Sprintf("d%03d.com", i)
			p := "enom"
			if i%5 == 0 {
				p = "ee"
			}
			s.Fold(ctx, Change{Domain: name, Kind: KindLock, Provider: p})
			if i%2 == 0 {
				s.Observe(ctx, name, Reading{Locked: true, StartedAt: t0})
			}
			want[name] = true
		}
		all := listAll(t, s, ListOptions{Limit: 7})
		if len(all) != n {
			t.Fatalf("listed %d domains, want %d", len(all), n)
		}
		for _, d := range all {
			if !want[d.Name] {
				t.Fatalf("unexpected or repeated %s", d.Name)
			}
			delete(want, d.Name)
		}
		if got := listAll(t, s, ListOptions{Provider: "ee"}); len(got) != 50 {
			t.Errorf("provider filter: %d, want 50", len(got))
		}
		// Moving a domain between providers (a producer's direct task can)
		// moves its count.
		s.Fold(ctx, Change{Domain: "d001.com", Kind: KindLock, Mode: ModeFold, Provider: "ee", RequestedAt: time.Now().Add(time.Hour)})
		counts, err := s.CountByProvider(ctx)
		if err != nil || counts["ee"] != 51 || counts["enom"] != 199 {
			t.Errorf("CountByProvider = %v, %v; want ee 51, enom 199", counts, err)
		}
		drift := listAll(t, s, ListOptions{Drift: true, Limit: 3})
		if len(drift) != 125 {
			t.Errorf("drift listing: %d, want 125", len(drift))
		}
		for _, d := range drift {
			if d.InSync() {
				t.Errorf("%s listed as drifted but in sync", d.Name)
			}
		}
		if _, err := s.List(ctx, ListOptions{Cursor: "zz:"}); !errors.Is(err, ErrBadCursor) {
			t.Errorf("bad cursor: %v", err)
		}
		total := 0
		chunks, err := s.OccupiedChunks(ctx)
		if err != nil || len(chunks) == 0 {
			t.Fatalf("OccupiedChunks = %v, %v", chunks, err)
		}
		for _, c := range chunks {
			// Scan each chunk in two runs: stop half way, resume at the cursor.
			var seen []string
			err := s.ScanChunk(ctx, c, "", func(doms []Domain) bool {
				seen = append(seen, doms[0].Name)
				return false
			})
			if err != nil {
				t.Fatal(err)
			}
			err = s.ScanChunk(ctx, c, Cursor(seen[0]), func(doms []Domain) bool {
				for _, d := range doms {
					seen = append(seen, d.Name)
				}
				return true
			})
			if err != nil {
				t.Fatal(err)
			}
			total += len(seen)
		}
		if total != n {
			t.Errorf("chunks hold %d domains, want %d", total, n)
		}
	})
}

func listAll(t *testing.T, s *Store, opt ListOptions) []Domain {
	t.Helper()
	var out []Domain
	for pages := 0; ; pages++ {
		p, err := s.List(context.Background(), opt)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Domains...)
		if p.Next == "" {
			return out
		}
		if pages > 10000 {
			t.Fatal("listing does not end")
		}
		opt.Cursor = p.Next
	}
}

// After Redis loses its scripts (a restart, a failover), pipelined scripts
// load them again and run once, not twice.
func TestStore_pipelinesSurviveAScriptFlush(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		changes := make([]Change, 50)
		for i := range changes {
			changes[i] = Change{Domain: fmt.Sprintf("f%02d.com", i), Kind: KindLock, Provider: "enom"}
		}
		if err := s.Redis().ScriptFlush(ctx).Err(); err != nil {
			t.Fatal(err)
		}
		out, err := s.FoldMany(ctx, changes)
		if err != nil {
			t.Fatal(err)
		}
		for i, o := range out {
			if o != Applied {
				t.Fatalf("change %d: %v", i, o)
			}
		}
		if d, _ := s.Get(ctx, "f07.com"); d.Desired.Generation != 1 {
			t.Fatalf("a flushed pipeline ran a fold twice: generation %d", d.Desired.Generation)
		}
		s.Redis().ScriptFlush(ctx)
		readings := []DomainReading{{Domain: "f01.com", Reading: Reading{Locked: true}}, {Domain: "nope.com", Reading: Reading{Locked: true}}}
		recs, err := s.ObserveMany(ctx, readings)
		if err != nil || !recs[0].InSync() || recs[1].Name != "" {
			t.Fatalf("ObserveMany after a flush: %+v %v", recs, err)
		}
		// Import mode leaves known domains alone.
		out, err = s.FoldMany(ctx, []Change{{Domain: "f01.com", Kind: KindUnlock, Mode: ModeImport, Provider: "x"}, {Domain: "g.com", Kind: KindUnlock, Mode: ModeImport}})
		if err != nil || out[0] != Current || out[1] != "" {
			t.Fatalf("import: %v %v", out, err)
		}
	})
}
