package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

func TestServerBinary_missingSaysHowToGetIt(t *testing.T) {
	t.Setenv("REGLOCK_REDIS_SERVER", "/nonexistent/redis-server")
	_, err := findServerBinary()
	if err == nil || !strings.Contains(err.Error(), "make test") || !strings.Contains(err.Error(), "REGLOCK_REDIS_SERVER") {
		t.Fatalf("error for a missing binary: %v", err)
	}
	t.Setenv("REGLOCK_REDIS_SERVER", "")
	t.Setenv("PATH", t.TempDir())
	_, err = findServerBinary()
	if err == nil || !strings.Contains(err.Error(), "apt-get install redis-server") {
		t.Fatalf("error for no redis-server on PATH: %v", err)
	}
}

// A server with an append-only file keeps its data across a clean stop and
// across SIGKILL (appendfsync always), on the same port.
func TestServer_restartKeepsAOFData(t *testing.T) {
	t.Parallel()
	s := StartServer(t, "--appendonly", "yes", "--appendfsync", "always")
	ctx := context.Background()
	c := s.Client()
	if err := c.Set(ctx, "k", "v1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	port := s.Port()
	s.Stop()
	if s.Running() {
		t.Fatal("running after Stop")
	}
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("a stopped server answers")
	}
	s.Start()
	if s.Port() != port {
		t.Fatalf("restarted on port %d, want %d", s.Port(), port)
	}
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v1" {
		t.Fatalf("after a restart: %q %v", v, err)
	}
	if err := c.Set(ctx, "k", "v2", 0).Err(); err != nil {
		t.Fatal(err)
	}
	s.Kill()
	s.Start()
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v2" {
		t.Fatalf("after SIGKILL and a restart: %q %v", v, err)
	}
}

// Without persistence (the default) a restart starts empty.
func TestServer_defaultPersistsNothing(t *testing.T) {
	t.Parallel()
	s := StartServer(t)
	ctx := context.Background()
	s.Client().Set(ctx, "k", "v", 0)
	s.Stop()
	s.Start()
	if n, err := s.Client().Exists(ctx, "k").Result(); err != nil || n != 0 {
		t.Fatalf("a server without persistence kept data: %d %v", n, err)
	}
}

// A port taken between picking and binding it is reported as such, so that
// the start is tried again on another port.
func TestServer_portTakenIsRetried(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	s := newServer(t, kindPlain)
	if err := s.launch(port, s.args(port)); !errors.Is(err, errPortTaken) {
		t.Fatalf("start on a taken port: %v, want errPortTaken", err)
	}
	if s.Running() {
		t.Fatal("a server that could not bind is running")
	}
}

// Many servers started at once all get ports of their own.
func TestServer_manyAtOnce(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 8 {
		s := StartServer(t)
		if seen[s.Addr()] {
			t.Fatalf("port %s handed out twice", s.Addr())
		}
		seen[s.Addr()] = true
	}
}

// The cluster serves every slot: keys spread over all nodes, and each node
// holds the keys of its own slots.
func TestCluster_formsAndRoutes(t *testing.T) {
	t.Parallel()
	c := StartCluster(t, 3)
	ctx := context.Background()
	cl := c.Client()
	for i := range 300 {
		if err := cl.Set(ctx, fmt.Sprintf("key:%d", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	total := int64(0)
	for _, n := range c.Nodes() {
		size, err := n.Client().DBSize(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		if size == 0 {
			t.Errorf("node %s holds no keys", n.Addr())
		}
		total += size
	}
	if total != 300 {
		t.Fatalf("nodes hold %d keys, want 300", total)
	}
	// A multi-key command across slots is refused: this is a real cluster.
	if err := cl.Do(ctx, "MSET", "a", "1", "b", "2").Err(); err == nil || !strings.Contains(err.Error(), "CROSSSLOT") {
		t.Fatalf("MSET across slots: %v, want CROSSSLOT", err)
	}
}

// SIGKILL the master: the sentinels promote the replica, and a client that
// follows the sentinels finds the data written (and replicated) before.
func TestSentinel_killMasterPromotesReplica(t *testing.T) {
	t.Parallel()
	ss := StartSentinel(t)
	ctx := context.Background()
	c := ss.Client()
	if err := c.Set(ctx, "before", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	ss.WaitReplicated(5 * time.Second)
	old := ss.Master()
	start := time.Now()
	if addr := ss.KillMaster(); addr != old.Addr() {
		t.Fatalf("KillMaster killed %s, want %s", addr, old.Addr())
	}
	m := ss.WaitForNewMaster(30 * time.Second)
	t.Logf("failover took %v", time.Since(start).Round(time.Millisecond))
	if m.Addr() == old.Addr() || ss.Master() != m || ss.Replica() != old || old.Running() {
		t.Fatalf("after failover: master %s, replica %s", ss.Master().Addr(), ss.Replica().Addr())
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		v, err := c.Get(ctx, "before").Result()
		if err == nil && v == "1" && c.Set(ctx, "after", "1", 0).Err() == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the failover client does not reach the new master: %q %v", v, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A graceful SENTINEL FAILOVER promotes the replica while the master runs.
// (The sentinels turn the old master into a replica of the new one some
// seconds later.)
func TestSentinel_gracefulFailover(t *testing.T) {
	t.Parallel()
	ss := StartSentinel(t)
	old := ss.Master()
	if addr := ss.FailOver(); addr != old.Addr() {
		t.Fatalf("FailOver from %s, want %s", addr, old.Addr())
	}
	m := ss.WaitForNewMaster(30 * time.Second)
	if m == old || ss.Replica() != old || !old.Running() {
		t.Fatalf("after failover: master %s, replica %s", m.Addr(), ss.Replica().Addr())
	}
	ctx := context.Background()
	if err := m.Client().Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("the promoted master refuses writes: %v", err)
	}
}
