package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reglock/reglock/redistest"
)

// The store on a real three-node Redis Cluster: every script touches the
// keys of one bucket, which share a hash tag, and every pipeline (Fold's
// SETBIT next to its script, GetMany, ObserveMany, List's and ScanChunk's
// bucket reads) is split by the client per node, so nothing is refused with
// CROSSSLOT. The domains spread over all three nodes, so the pipelines really
// span nodes.
func TestCluster_storeOperations(t *testing.T) {
	t.Parallel()
	cl := redistest.StartCluster(t, 3)
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.Addrs()})
	t.Cleanup(func() { rdb.Close() })
	// A namespaced prefix, as `reglock --namespace` and the tests use.
	s := New(rdb, "t0cluster:rl:")
	ctx := context.Background()
	at := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

	const n = 300
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("c%03d.com", i)
		p := "enom"
		if i%5 == 0 {
			p = "ee"
		}
		d, out, err := s.Fold(ctx, Change{Domain: names[i], Kind: KindLock, Provider: p, RequestedAt: at})
		if err != nil || out != Applied || d.Desired.Generation != 1 {
			t.Fatalf("Fold %s: %v %v %+v", names[i], out, err, d.Desired)
		}
	}
	// The inventory is on every node.
	for _, node := range cl.Nodes() {
		size, err := node.Client().DBSize(ctx).Result()
		if err != nil || size == 0 {
			t.Fatalf("node %s holds %d keys (%v): the test does not span the cluster", node.Addr(), size, err)
		}
	}
	if _, _, err := s.Fold(ctx, Change{Domain: "new.com", Kind: KindLock}); !errors.Is(err, ErrProviderRequired) {
		t.Fatalf("Fold without provider: %v", err)
	}

	// Fold's modes and Observe, one script per call, on the right node.
	d, out, err := s.Fold(ctx, Change{Domain: names[1], Kind: KindUnlock, Mode: ModeFold, Generation: 1})
	if err != nil || out != Current {
		t.Fatalf("Fold of the current generation: %v %v", out, err)
	}
	d, out, err = s.Fold(ctx, Change{Domain: names[1], Kind: KindUnlock, RequestedAt: at.Add(time.Second), RelockAt: at.Add(72 * time.Hour)})
	if err != nil || out != Applied || d.Desired.Locked || d.Desired.Generation != 2 {
		t.Fatalf("unlock: %v %v %+v", out, err, d.Desired)
	}
	if d, ok, err := s.Observe(ctx, names[1], Reading{Locked: false, StartedAt: at.Add(2 * time.Second)}); err != nil || !ok || !d.InSync() {
		t.Fatalf("Observe: %v %v %+v", ok, err, d)
	}
	if _, _, err := s.Observe(ctx, "unknown.com", Reading{Locked: true, StartedAt: at}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Observe of an unknown domain: %v", err)
	}
	if d, err := s.Get(ctx, names[1]); err != nil || d.Desired.Locked || !d.Observed.Known || !d.InSync() {
		t.Fatalf("Get: %v %+v", err, d)
	}
	if _, err := s.Get(ctx, "unknown.com"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of an unknown domain: %v", err)
	}
	trade, _, err := s.Fold(ctx, Change{Domain: "trade.net", Kind: KindTrade, Provider: "opensrs", TradeEnable: false})
	if err != nil || trade.Desired.TradeLock == nil {
		t.Fatalf("trade intent: %v %+v", err, trade.Desired)
	}
	sent := false
	if d, _, err := s.Finish(ctx, Finish{Domain: "trade.net", TradeSent: &sent}); err != nil || !d.Desired.TradeApplied {
		t.Fatalf("Finish with the trade setting sent: %v %+v", err, d.Desired)
	}

	// ObserveMany and GetMany: one pipeline each over all three nodes.
	// Every even domain is read locked (in sync), every odd one unlocked
	// (drift, except names[1], which is to be unlocked).
	readings := make([]DomainReading, 0, n+1)
	for i, name := range names {
		readings = append(readings, DomainReading{Domain: name, Reading: Reading{Locked: i%2 == 0, StartedAt: at.Add(3 * time.Second)}})
	}
	readings = append(readings, DomainReading{Domain: "unknown.com", Reading: Reading{Locked: true}})
	got, err := s.ObserveMany(ctx, readings)
	if err != nil || len(got) != n+1 {
		t.Fatalf("ObserveMany: %d records, %v", len(got), err)
	}
	if got[n].Name != "" {
		t.Fatalf("ObserveMany recorded an unknown domain: %+v", got[n])
	}
	many, err := s.GetMany(ctx, append(append([]string{}, names...), "unknown.com"))
	if err != nil || len(many) != n+1 || many[n].Name != "" {
		t.Fatalf("GetMany: %d records, %v", len(many), err)
	}
	drifted := 0
	for i, d := range many[:n] {
		if d.Name != names[i] || !d.Observed.Known || d.Observed.Locked != (i%2 == 0) {
			t.Fatalf("GetMany[%d] = %+v", i, d)
		}
		if !d.InSync() {
			drifted++
		}
	}
	if drifted != n/2-1 {
		t.Fatalf("%d domains out of sync, want %d", drifted, n/2-1)
	}

	// After a restart or failover the nodes forget the scripts; pipelined
	// EVALSHA gets NOSCRIPT, the scripts are loaded on every node, and the
	// pipeline runs again.
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ObserveMany(ctx, readings[:50]); err != nil {
		t.Fatalf("ObserveMany after SCRIPT FLUSH: %v", err)
	}
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Fold(ctx, Change{Domain: names[2], Kind: KindLock, RequestedAt: at.Add(4 * time.Second)}); err != nil {
		t.Fatalf("Fold after SCRIPT FLUSH: %v", err)
	}
	if err := rdb.ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Observe(ctx, names[2], Reading{Locked: true, StartedAt: at.Add(5 * time.Second)}); err != nil {
		t.Fatalf("Observe after SCRIPT FLUSH: %v", err)
	}

	// One node alone forgets the scripts (restarted, or a replica just
	// promoted): its part of a pipeline answers NOSCRIPT while the other
	// nodes run theirs. Only that part may run again: every change of a
	// FoldMany spanning the cluster is folded exactly once.
	before, err := s.GetMany(ctx, names)
	if err != nil {
		t.Fatal(err)
	}
	changes := make([]Change, n)
	for i, name := range names {
		changes[i] = Change{Domain: name, Kind: KindLock, RequestedAt: at.Add(6 * time.Second)}
	}
	for _, sc := range []*redis.Script{intentScript, observeScript} {
		if err := sc.Load(ctx, rdb).Err(); err != nil { // on every node
			t.Fatal(err)
		}
	}
	if err := cl.Nodes()[1].Client().ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	outs, err := s.FoldMany(ctx, changes)
	if err != nil || len(outs) != n {
		t.Fatalf("FoldMany with one node without the scripts: %d outcomes, %v", len(outs), err)
	}
	after, err := s.GetMany(ctx, names)
	if err != nil {
		t.Fatal(err)
	}
	for i := range names {
		if outs[i] != Applied || after[i].Desired.Generation != before[i].Desired.Generation+1 || !after[i].Desired.Locked {
			t.Fatalf("%s: outcome %q, generation %d -> %d: folded %d times",
				names[i], outs[i], before[i].Desired.Generation, after[i].Desired.Generation, after[i].Desired.Generation-before[i].Desired.Generation)
		}
	}
	if err := cl.Nodes()[2].Client().ScriptFlush(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ObserveMany(ctx, readings[:n]); err != nil {
		t.Fatalf("ObserveMany with one node without the scripts: %v", err)
	}

	// List: small pages over the whole inventory, by provider, by drift.
	all := clusterListAll(t, s, ListOptions{Limit: 7})
	want := map[string]bool{"trade.net": true}
	for _, name := range names {
		want[name] = true
	}
	if len(all) != len(want) {
		t.Fatalf("listed %d domains, want %d", len(all), len(want))
	}
	for _, d := range all {
		if !want[d.Name] {
			t.Fatalf("unexpected or repeated %s", d.Name)
		}
		delete(want, d.Name)
	}
	if ee := clusterListAll(t, s, ListOptions{Provider: "ee", Limit: 9}); len(ee) != n/5 {
		t.Fatalf("provider filter: %d, want %d", len(ee), n/5)
	}
	drift := clusterListAll(t, s, ListOptions{Drift: true, Limit: 3})
	// The odd ones (read unlocked, now all to be locked again), plus
	// trade.net (never read).
	if len(drift) != n/2+1 {
		t.Fatalf("drift listing: %d, want %d", len(drift), n/2+1)
	}
	for _, d := range drift {
		if d.InSync() {
			t.Fatalf("%s listed as drifted but in sync", d.Name)
		}
	}

	// Sweeps' view: the occupied chunks, each scanned in two runs (stop
	// after the first batch, resume at its cursor).
	chunks, err := s.OccupiedChunks(ctx)
	if err != nil || len(chunks) < 2 {
		t.Fatalf("OccupiedChunks = %v, %v", chunks, err)
	}
	total := 0
	for _, c := range chunks {
		var first []Domain
		if err := s.ScanChunk(ctx, c, "", func(doms []Domain) bool { first = doms; return false }); err != nil {
			t.Fatalf("ScanChunk %d: %v", c, err)
		}
		if len(first) == 0 {
			t.Fatalf("occupied chunk %d is empty", c)
		}
		seen := len(first)
		err := s.ScanChunk(ctx, c, Cursor(first[len(first)-1].Name), func(doms []Domain) bool {
			seen += len(doms)
			return true
		})
		if err != nil {
			t.Fatalf("ScanChunk %d resumed: %v", c, err)
		}
		total += seen
	}
	if total != n+1 {
		t.Fatalf("the chunks hold %d domains, want %d", total, n+1)
	}
}

func clusterListAll(t *testing.T, s *Store, opt ListOptions) []Domain {
	t.Helper()
	var out []Domain
	for pages := 0; ; pages++ {
		p, err := s.List(context.Background(), opt)
		if err != nil {
			t.Fatalf("List %+v: %v", opt, err)
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
