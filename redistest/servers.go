package redistest

// Real Redis topologies for tests that need more than the one shared server:
// a server of their own to stop, kill and restart, a Sentinel setup to fail
// over, a Cluster to spread keys over. Every process runs from the
// redis-server binary (REGLOCK_REDIS_SERVER, else redis-server on PATH; it
// runs Sentinel too, with --sentinel), listens on a free loopback port, keeps
// its files in a temporary directory of the test, and is killed, with the
// directory removed, when the test ends.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// startTimeout bounds how long a process may take to answer PING.
const startTimeout = 15 * time.Second

// startAttempts is how often a start is tried on fresh ports when the port
// picked was taken in between (another test, another process).
const startAttempts = 5

// getServer is how to get redis-server, for the message of a test that
// cannot find it.
const getServer = "these tests start their own redis-server processes (single, Sentinel, Cluster): " +
	"run them with `make test` (scripts/with-redis.sh installs redis-server with apt-get if needed and sets REGLOCK_REDIS_SERVER), " +
	"or install it (`apt-get install redis-server`, `brew install redis`) and put it on PATH, " +
	"or set REGLOCK_REDIS_SERVER to its path"

// findServerBinary returns the redis-server binary: REGLOCK_REDIS_SERVER,
// else redis-server on PATH.
func findServerBinary() (string, error) {
	if p := os.Getenv("REGLOCK_REDIS_SERVER"); p != "" {
		abs, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("REGLOCK_REDIS_SERVER=%s is not an executable: %v; %s", p, err, getServer)
		}
		return abs, nil
	}
	p, err := exec.LookPath("redis-server")
	if err != nil {
		return "", fmt.Errorf("redis-server not found: REGLOCK_REDIS_SERVER is not set and there is no redis-server on PATH; %s", getServer)
	}
	return p, nil
}

// ServerBinary returns the redis-server binary, and fails the test loudly
// if there is none: these tests are never skipped.
func ServerBinary(t testing.TB) string {
	t.Helper()
	p, err := findServerBinary()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Server is one redis-server (or Sentinel) process of a test. Its methods
// fail the test on error, so call them from the test's goroutine.
type Server struct {
	t    testing.TB
	bin  string
	dir  string
	port int
	// args builds the argument list for a port; the port and its
	// arguments are fixed once the first start succeeds.
	args     func(port int) []string
	argv     []string
	sentinel bool
	// password is the server's --requirepass, used by its own clients.
	password string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	client *redis.Client
}

// serverKind says what a process is.
type serverKind int

const (
	kindPlain    serverKind = iota
	kindCluster             // needs port+10000 free too: the cluster bus
	kindSentinel            // runs from a config file it rewrites
)

// StartServer starts a redis-server on a free loopback port with nothing
// persisted (--save "" --appendonly no) unless args say otherwise, e.g.
// StartServer(t, "--appendonly", "yes"). args come after these defaults, so
// they win; relative paths in them are relative to the server's directory.
// With --requirepass, the Server's own clients authenticate.
// The server is killed and its directory removed when the test ends.
func StartServer(t testing.TB, args ...string) *Server {
	t.Helper()
	return startServer(t, kindPlain, args...)
}

func startServer(t testing.TB, kind serverKind, extra ...string) *Server {
	t.Helper()
	s := newServer(t, kind, extra...)
	var last error
	for range startAttempts {
		port, err := pickPort(kind == kindCluster)
		if err != nil {
			t.Fatal(err)
		}
		argv := s.args(port)
		err = s.launch(port, argv)
		if err == nil {
			s.port, s.argv = port, argv
			return s
		}
		last = err
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	t.Fatalf("starting %s: %v", s.bin, last)
	return nil
}

// newServer prepares a server (its directory, its arguments, its cleanup)
// without starting it.
func newServer(t testing.TB, kind serverKind, extra ...string) *Server {
	t.Helper()
	s := &Server{t: t, bin: ServerBinary(t), dir: t.TempDir(), sentinel: kind == kindSentinel}
	for i, a := range extra {
		if a == "--requirepass" && i+1 < len(extra) {
			s.password = extra[i+1]
		}
	}
	log := filepath.Join(s.dir, "redis.log")
	switch kind {
	case kindSentinel:
		conf := filepath.Join(s.dir, "sentinel.conf")
		s.args = func(port int) []string {
			// Sentinel rewrites its config file (its ID, the replicas and
			// sentinels it found), so it gets one of its own, written
			// afresh for every port tried.
			body := fmt.Sprintf("port %d\nbind 127.0.0.1\nprotected-mode no\ndaemonize no\ndir %s\nlogfile %s\n%s",
				port, s.dir, log, strings.Join(extra, "\n")+"\n")
			if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
			return []string{conf, "--sentinel"}
		}
	default:
		s.args = func(port int) []string {
			return append([]string{
				"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--protected-mode", "no",
				"--dir", s.dir, "--logfile", log, "--daemonize", "no",
				"--save", "", "--appendonly", "no",
				// A replica's full sync starts at once (the default waits 5s
				// for more replicas to share a diskless transfer).
				"--repl-diskless-sync-delay", "0",
			}, extra...)
		}
	}
	t.Cleanup(s.cleanup)
	return s
}

// errPortTaken is a start that failed because its port was taken between
// picking and binding it.
var errPortTaken = errors.New("port taken")

// pickPort returns a loopback port that was free a moment ago: one the
// kernel picks, or for a cluster node one whose bus port (+10000) is free too.
func pickPort(bus bool) (int, error) {
	if !bus {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer ln.Close()
		return ln.Addr().(*net.TCPAddr).Port, nil
	}
	for range 200 {
		p := 20000 + rand.IntN(35000)
		if portFree(p) && portFree(p+10000) {
			return p, nil
		}
	}
	return 0, errors.New("no free port pair (p, p+10000) found for a cluster node")
}

func portFree(p int) bool {
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// launch starts the process on port and waits until it answers as itself.
func (s *Server) launch(port int, argv []string) error {
	out, err := os.OpenFile(filepath.Join(s.dir, "stderr.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer out.Close()
	// Mark the start in the log, so that a failure is judged by this
	// start's lines only.
	logPath := filepath.Join(s.dir, "redis.log")
	if f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err == nil {
		fmt.Fprintf(f, "%s %d\n", startMarker, port)
		f.Close()
	}
	fmt.Fprintf(out, "%s %d\n", startMarker, port)
	cmd := exec.Command(s.bin, argv...)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = procAttr()
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()

	addr := "127.0.0.1:" + strconv.Itoa(port)
	c := redis.NewClient(&redis.Options{Addr: addr, Password: s.password, MaxRetries: -1, DialTimeout: 300 * time.Millisecond,
		ReadTimeout: time.Second, PoolSize: 1, DisableIdentity: true, Protocol: 2})
	defer c.Close()
	deadline := time.Now().Add(startTimeout)
	for {
		select {
		case <-exited:
			text := s.sinceStart()
			if strings.Contains(text, "Address already in use") {
				return fmt.Errorf("%w: %d", errPortTaken, port)
			}
			return fmt.Errorf("redis-server exited at start (%s %s):\n%s", s.bin, strings.Join(argv, " "), text)
		default:
		}
		// Ready when it answers, and it is this process answering (not
		// another one that took the port first).
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		info, err := c.Info(ctx, "server").Result()
		cancel()
		if err == nil {
			if infoField(info, "process_id") == strconv.Itoa(cmd.Process.Pid) {
				return nil
			}
			s.killProcess()
			return fmt.Errorf("%w: %d answered by another process", errPortTaken, port)
		}
		if time.Now().After(deadline) {
			s.killProcess()
			return fmt.Errorf("redis-server on %s did not answer within %v: %v\n%s", addr, startTimeout, err, s.logTail(40))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// procAttr puts the server in a process group of its own, so that a kill
// reaches the children it forks (RDB saves, AOF rewrites, full syncs), and,
// on Linux, has the kernel kill it if the test binary dies without cleaning
// up (a test timeout).
func procAttr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true}
	// Pdeathsig exists on Linux only.
	if f := reflect.ValueOf(a).Elem().FieldByName("Pdeathsig"); f.IsValid() && f.CanSet() {
		f.Set(reflect.ValueOf(syscall.SIGKILL))
	}
	return a
}

// infoField returns a field of an INFO reply.
func infoField(info, name string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimRight(line, "\r"), name+":"); ok {
			return v
		}
	}
	return ""
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// Port is the server's port.
func (s *Server) Port() int { return s.port }

// Dir is the server's working directory: its log (redis.log), data and
// config files.
func (s *Server) Dir() string { return s.dir }

// Running reports whether the process is alive.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.exited == nil {
		return false
	}
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// Client returns a client of this server (one per Server, closed when the
// test ends). It keeps working across Stop and Start.
func (s *Server) Client() *redis.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == nil {
		s.client = redis.NewClient(&redis.Options{Addr: s.Addr(), Password: s.password, DialTimeout: time.Second, MaxRetries: -1, DisableIdentity: true})
	}
	return s.client
}

// Stop shuts the server down the way an operator would (SIGTERM: an AOF is
// flushed) and waits for it to exit; after 10 seconds it is killed.
func (s *Server) Stop() {
	s.t.Helper()
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil || !s.Running() {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		s.t.Logf("redis-server %s ignored SIGTERM for 10s; killing it", s.Addr())
		s.Kill()
	}
}

// Kill kills the server with SIGKILL, as a crash would (with its forked
// children), and waits for it to be gone.
func (s *Server) Kill() {
	s.t.Helper()
	s.killProcess()
}

func (s *Server) killProcess() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-exited:
		return
	default:
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Process.Kill()
	<-exited
}

// Start starts a stopped or killed server again, on the same port, with the
// same directory (and so the same data, if it persists any) and arguments.
func (s *Server) Start() {
	s.t.Helper()
	if s.Running() {
		s.t.Fatalf("redis-server %s: Start while running", s.Addr())
	}
	// The port was ours a moment ago; a connection that just died may keep
	// it briefly, so retry a bind failure for a little while.
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := s.launch(s.port, s.argv)
		if err == nil {
			return
		}
		if !errors.Is(err, errPortTaken) || time.Now().After(deadline) {
			s.t.Fatalf("restarting redis-server on %s: %v", s.Addr(), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Log returns the server's log file, and what it wrote to stderr (errors
// before its log file is open).
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "redis.log"))
	e, _ := os.ReadFile(filepath.Join(s.dir, "stderr.log"))
	var stderr []string
	for _, line := range strings.Split(string(e), "\n") {
		if line != "" && !strings.HasPrefix(line, startMarker) {
			stderr = append(stderr, line)
		}
	}
	if len(stderr) == 0 {
		return string(b)
	}
	return string(b) + "stderr:\n" + strings.Join(stderr, "\n") + "\n"
}

// startMarker begins each start's lines in the log files.
const startMarker = "---- redistest: starting on port"

// sinceStart is what the process logged since it was last started.
func (s *Server) sinceStart() string {
	var out []string
	for _, name := range []string{"redis.log", "stderr.log"} {
		b, _ := os.ReadFile(filepath.Join(s.dir, name))
		text := string(b)
		if i := strings.LastIndex(text, startMarker); i >= 0 {
			text = text[i:]
		}
		out = append(out, text)
	}
	return strings.Join(out, "")
}

func (s *Server) logTail(n int) string {
	lines := strings.Split(strings.TrimRight(s.Log(), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// cleanup runs when the test ends (before its temporary directory is removed).
func (s *Server) cleanup() {
	s.mu.Lock()
	c := s.client
	s.client = nil
	s.mu.Unlock()
	if c != nil {
		c.Close()
	}
	s.killProcess()
	if s.t.Failed() && s.port != 0 {
		what := "redis-server"
		if s.sentinel {
			what = "sentinel"
		}
		s.t.Logf("%s %s log (last lines):\n%s", what, s.Addr(), s.logTail(30))
	}
}

// ---- Sentinel

// SentinelSetup is a Sentinel-managed master with one replica and three
// sentinels (quorum 2), tuned to fail over within a few seconds: a master is
// down after 1s without answers.
type SentinelSetup struct {
	t         testing.TB
	name      string
	mu        sync.Mutex
	master    *Server
	replica   *Server
	sentinels []*Server
}

// Sentinel tuning: what StartSentinel's sentinels run with.
const (
	SentinelDownAfter       = 1000 * time.Millisecond
	SentinelFailoverTimeout = 3000 * time.Millisecond
)

// StartSentinel starts a master, a replica of it, and three sentinels
// monitoring it, and returns once the replica is in sync and every sentinel
// knows the replica and the two other sentinels (so that a failover can be
// agreed on at once).
func StartSentinel(t testing.TB) *SentinelSetup {
	t.Helper()
	start := time.Now()
	ss := &SentinelSetup{t: t, name: "reglock-test"}
	ss.master = StartServer(t)
	ss.replica = StartServer(t, "--replicaof", "127.0.0.1", strconv.Itoa(ss.master.Port()))
	waitUntil(t, 15*time.Second, "the replica to sync with the master", func() (bool, string) {
		info, err := ss.replica.Client().Info(context.Background(), "replication").Result()
		if err != nil {
			return false, err.Error()
		}
		return infoField(info, "master_link_status") == "up", info
	})
	conf := []string{
		fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d 2", ss.name, ss.master.Port()),
		fmt.Sprintf("sentinel down-after-milliseconds %s %d", ss.name, SentinelDownAfter.Milliseconds()),
		fmt.Sprintf("sentinel failover-timeout %s %d", ss.name, SentinelFailoverTimeout.Milliseconds()),
		fmt.Sprintf("sentinel parallel-syncs %s 1", ss.name),
	}
	for range 3 {
		ss.sentinels = append(ss.sentinels, startServer(t, kindSentinel, conf...))
	}
	waitUntil(t, 30*time.Second, "the sentinels to find the replica and each other", func() (bool, string) {
		for _, s := range ss.sentinels {
			m, err := ss.sentinelClient(s).Master(context.Background(), ss.name).Result()
			if err != nil {
				return false, err.Error()
			}
			if m["num-other-sentinels"] != "2" || m["num-slaves"] != "1" || m["flags"] != "master" {
				return false, fmt.Sprintf("sentinel %s: %v", s.Addr(), m)
			}
		}
		return true, ""
	})
	t.Logf("redistest: sentinel setup %s: master %s, replica %s, sentinels %v (ready in %v)",
		ss.name, ss.master.Addr(), ss.replica.Addr(), ss.SentinelAddrs(), time.Since(start).Round(time.Millisecond))
	return ss
}

// sentinelClient is a one-off client of a sentinel; closed when the test ends.
func (ss *SentinelSetup) sentinelClient(s *Server) *redis.SentinelClient {
	c := redis.NewSentinelClient(&redis.Options{Addr: s.Addr(), DialTimeout: time.Second, MaxRetries: -1, DisableIdentity: true})
	ss.t.Cleanup(func() { c.Close() })
	return c
}

// MasterName is the name the sentinels monitor the master under.
func (ss *SentinelSetup) MasterName() string { return ss.name }

// SentinelAddrs are the sentinels' host:port addresses.
func (ss *SentinelSetup) SentinelAddrs() []string {
	out := make([]string, len(ss.sentinels))
	for i, s := range ss.sentinels {
		out[i] = s.Addr()
	}
	return out
}

// Sentinels are the sentinel processes.
func (ss *SentinelSetup) Sentinels() []*Server { return ss.sentinels }

// Master is the current master (after WaitForNewMaster, the promoted one).
func (ss *SentinelSetup) Master() *Server {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.master
}

// Replica is the other server (after WaitForNewMaster, the former master,
// which may be dead).
func (ss *SentinelSetup) Replica() *Server {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.replica
}

// Client returns a client that follows the master through failovers, as
// reglock's does (closed when the test ends).
func (ss *SentinelSetup) Client() *redis.Client {
	c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: ss.name, SentinelAddrs: ss.SentinelAddrs(), DisableIdentity: true})
	ss.t.Cleanup(func() { c.Close() })
	return c
}

// WaitReplicated waits until the replica has everything the master had
// written when it was called. Replication is asynchronous: without this, a
// write acknowledged just before the master dies may be lost in a failover.
func (ss *SentinelSetup) WaitReplicated(timeout time.Duration) {
	ss.t.Helper()
	m, r := ss.Master(), ss.Replica()
	ctx := context.Background()
	info, err := m.Client().Info(ctx, "replication").Result()
	if err != nil {
		ss.t.Fatalf("master %s: %v", m.Addr(), err)
	}
	want, _ := strconv.ParseInt(infoField(info, "master_repl_offset"), 10, 64)
	waitUntil(ss.t, timeout, "the replica to catch up with the master", func() (bool, string) {
		info, err := r.Client().Info(ctx, "replication").Result()
		if err != nil {
			return false, err.Error()
		}
		got, _ := strconv.ParseInt(infoField(info, "slave_repl_offset"), 10, 64)
		return got >= want, fmt.Sprintf("replica offset %d, master offset %d", got, want)
	})
}

// KillMaster kills the master with SIGKILL (a crash: the sentinels notice
// after SentinelDownAfter and promote the replica). It returns the dead
// master's address.
func (ss *SentinelSetup) KillMaster() string {
	ss.t.Helper()
	m := ss.Master()
	m.Kill()
	return m.Addr()
}

// FailOver asks a sentinel for a failover without any agreement from the
// others (SENTINEL FAILOVER): the replica is promoted and the master turned
// into its replica. It returns the old master's address.
func (ss *SentinelSetup) FailOver() string {
	ss.t.Helper()
	old := ss.Master().Addr()
	if err := ss.sentinelClient(ss.sentinels[0]).Failover(context.Background(), ss.name).Err(); err != nil {
		ss.t.Fatalf("SENTINEL FAILOVER: %v", err)
	}
	return old
}

// WaitForNewMaster waits until every sentinel reports a master other than
// the one at the time of the call and that server says it is a master, and
// returns it. It fails the test after timeout.
func (ss *SentinelSetup) WaitForNewMaster(timeout time.Duration) *Server {
	ss.t.Helper()
	old := ss.Master()
	clients := make([]*redis.SentinelClient, len(ss.sentinels))
	for i, s := range ss.sentinels {
		clients[i] = ss.sentinelClient(s)
	}
	var promoted *Server
	waitUntil(ss.t, timeout, "the sentinels to promote a new master", func() (bool, string) {
		addr := ""
		for i, c := range clients {
			a, err := c.GetMasterAddrByName(context.Background(), ss.name).Result()
			if err != nil || len(a) != 2 {
				return false, fmt.Sprintf("sentinel %s: %v %v", ss.sentinels[i].Addr(), a, err)
			}
			got := net.JoinHostPort(a[0], a[1])
			if got == old.Addr() || (addr != "" && got != addr) {
				return false, fmt.Sprintf("sentinel %s says the master is %s", ss.sentinels[i].Addr(), got)
			}
			addr = got
		}
		ss.mu.Lock()
		cand := ss.replica
		ss.mu.Unlock()
		if cand.Addr() != addr {
			return false, "the sentinels promoted an unknown server " + addr
		}
		info, err := cand.Client().Info(context.Background(), "replication").Result()
		if err != nil || infoField(info, "role") != "master" {
			return false, fmt.Sprintf("%s is not a master yet: %v", addr, err)
		}
		promoted = cand
		return true, ""
	})
	ss.mu.Lock()
	ss.master, ss.replica = promoted, old
	ss.mu.Unlock()
	return promoted
}

// ---- Cluster

// Cluster is a Redis Cluster of masters without replicas, the slots split
// evenly between them.
type Cluster struct {
	t      testing.TB
	nodes  []*Server
	once   sync.Once
	client *redis.ClusterClient
}

// StartCluster starts n cluster nodes (3 is the usual minimum of a real
// cluster), assigns each an equal range of the 16384 slots, joins them, and
// returns once every node reports cluster_state:ok and knows all the others.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	if n < 1 {
		t.Fatalf("StartCluster: %d nodes", n)
	}
	start := time.Now()
	c := &Cluster{t: t}
	for range n {
		c.nodes = append(c.nodes, startServer(t, kindCluster,
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "3000", "--cluster-require-full-coverage", "yes"))
	}
	ctx := context.Background()
	const slots = 16384
	for i, node := range c.nodes {
		cl := node.Client()
		// Distinct config epochs up front, as redis-cli --cluster create
		// does, so the nodes need not resolve epoch collisions first.
		if err := cl.Do(ctx, "CLUSTER", "SET-CONFIG-EPOCH", i+1).Err(); err != nil {
			t.Fatalf("cluster node %s: CLUSTER SET-CONFIG-EPOCH: %v", node.Addr(), err)
		}
		lo, hi := i*slots/n, (i+1)*slots/n-1
		if err := cl.ClusterAddSlotsRange(ctx, lo, hi).Err(); err != nil {
			t.Fatalf("cluster node %s: CLUSTER ADDSLOTS %d-%d: %v", node.Addr(), lo, hi, err)
		}
	}
	for _, node := range c.nodes[1:] {
		if err := c.nodes[0].Client().ClusterMeet(ctx, "127.0.0.1", strconv.Itoa(node.Port())).Err(); err != nil {
			t.Fatalf("CLUSTER MEET %s: %v", node.Addr(), err)
		}
	}
	waitUntil(t, 30*time.Second, "the cluster to form (cluster_state:ok on every node)", func() (bool, string) {
		for _, node := range c.nodes {
			info, err := node.Client().ClusterInfo(ctx).Result()
			if err != nil {
				return false, err.Error()
			}
			if infoField(info, "cluster_state") != "ok" || infoField(info, "cluster_known_nodes") != strconv.Itoa(n) ||
				infoField(info, "cluster_slots_ok") != strconv.Itoa(slots) {
				return false, node.Addr() + ":\n" + info
			}
		}
		return true, ""
	})
	t.Logf("redistest: cluster of %d nodes %v (ready in %v)", n, c.Addrs(), time.Since(start).Round(time.Millisecond))
	return c
}

// Addrs are the nodes' host:port addresses.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		out[i] = n.Addr()
	}
	return out
}

// Nodes are the node processes, in slot order: node i serves the i-th
// range of slots.
func (c *Cluster) Nodes() []*Server { return c.nodes }

// Client returns a cluster client of this cluster (one per Cluster, closed
// when the test ends).
func (c *Cluster) Client() *redis.ClusterClient {
	c.once.Do(func() {
		c.client = redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs(), DisableIdentity: true})
		c.t.Cleanup(func() { c.client.Close() })
	})
	return c.client
}

// ---- helpers

// waitUntil polls cond every 20ms until it holds, and fails the test with
// cond's last explanation after timeout.
func waitUntil(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("redistest: timed out after %v waiting for %s; last: %s", timeout, what, firstLines(why, 40))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func firstLines(s string, n int) string {
	sc := bufio.NewScanner(strings.NewReader(s))
	var out []string
	for sc.Scan() && len(out) < n {
		out = append(out, sc.Text())
	}
	return strings.Join(out, "\n")
}
