package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reglock/reglock/providers/simulator"
	"github.com/reglock/reglock/redistest"
)

// bench is one run's shared parts.
type bench struct {
	cfg          benchConfig
	rdb          *redis.Client
	rtt          *roundTrips
	redisVersion string
	redisPID     int
	dir          string
}

func newBench(ctx context.Context, cfg benchConfig) (*bench, error) {
	rtt := &roundTrips{}
	rdb := redis.NewClient(&redis.Options{Addr: cfg.redis, PoolSize: 256})
	rdb.AddHook(rtt)
	info, err := rdb.Info(ctx, "server").Result()
	if err != nil {
		return nil, fmt.Errorf("redis at %s: %w", cfg.redis, err)
	}
	if _, err := os.Stat(cfg.reglock); err != nil {
		return nil, fmt.Errorf("the reglock binary (-reglock): %w; run make build first", err)
	}
	dir, err := os.MkdirTemp("", "reglock-bench")
	if err != nil {
		return nil, err
	}
	b := &bench{cfg: cfg, rdb: rdb, rtt: rtt, dir: dir}
	b.redisVersion = infoField(info, "redis_version")
	b.redisPID, _ = strconv.Atoi(infoField(info, "process_id"))
	return b, nil
}

func (b *bench) close() {
	b.rdb.Close()
	if b.cfg.keep {
		fmt.Fprintln(os.Stderr, "run directory kept:", b.dir)
		return
	}
	os.RemoveAll(b.dir)
}

// namespace returns a fresh namespace, deleted when ctx's run is over.
func (b *bench) namespace() (string, func()) {
	buf := make([]byte, 4)
	_, _ = rand.Read(buf)
	ns := "bench" + hex.EncodeToString(buf)
	return ns, func() { redistest.Clean(b.rdb, ns) }
}

// roundTrips counts the round trips a client makes: every command sent on
// its own, and every pipeline, is one.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmd)
	}
}
func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.n.Add(1)
		return next(ctx, cmds)
	}
}

// redisCommands is Redis's count of commands processed (scripts count once,
// plus the commands they call).
func (b *bench) redisCommands(ctx context.Context) (int64, error) {
	info, err := b.rdb.Info(ctx, "stats").Result()
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(infoField(info, "total_commands_processed"), 10, 64)
}

// redisCPU is the Redis server's user+system CPU seconds so far.
func (b *bench) redisCPU(ctx context.Context) (float64, error) {
	info, err := b.rdb.Info(ctx, "cpu").Result()
	if err != nil {
		return 0, err
	}
	u, _ := strconv.ParseFloat(infoField(info, "used_cpu_user"), 64)
	s, _ := strconv.ParseFloat(infoField(info, "used_cpu_sys"), 64)
	return u + s, nil
}

// procCPU is a process's user+system CPU seconds so far.
func procCPU(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // clock ticks
}

func (b *bench) redisMemory(ctx context.Context) (int64, error) {
	info, err := b.rdb.Info(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(infoField(info, "used_memory"), 10, 64)
}

// settledMemory is used_memory once Redis has finished freeing what earlier
// runs deleted (UNLINK frees in the background).
func (b *bench) settledMemory(ctx context.Context) (int64, error) {
	for range 100 {
		info, err := b.rdb.Info(ctx, "memory").Result()
		if err != nil {
			return 0, err
		}
		if infoField(info, "lazyfree_pending_objects") == "0" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	return b.redisMemory(ctx)
}

func infoField(info, name string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}

// proc is a reglock process the benchmark started.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
}

// start runs the reglock binary with args and env.
func (b *bench) start(name string, env []string, args ...string) (*proc, error) {
	logPath := filepath.Join(b.dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	if b.cfg.profileDir != "" {
		stamp := time.Now().UnixNano()
		args = append(args, "--cpuprofile", filepath.Join(b.cfg.profileDir, fmt.Sprintf("%s-%d.pprof", name, stamp)),
			"--memprofile", filepath.Join(b.cfg.profileDir, fmt.Sprintf("%s-%d.heap", name, stamp)))
	}
	cmd := exec.Command(b.cfg.reglock, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	go func() { cmd.Wait(); f.Close() }()
	return &proc{name: name, cmd: cmd, log: logPath}, nil
}

// stop ends a process with SIGTERM, then SIGKILL.
func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		for p.cmd.ProcessState == nil {
			time.Sleep(20 * time.Millisecond)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
	}
}

// peakRSS is the process's high-water mark of resident memory, in bytes.
func peakRSS(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// resetPeakRSS starts the high-water mark afresh (Linux: clear_refs 5).
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// sim is a `reglock simulate` process.
type sim struct {
	*proc
	base string
}

// startSim starts the simulator and waits until it answers.
func (b *bench) startSim(args ...string) (*sim, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + port
	p, err := b.start("simulate", nil, append([]string{"simulate", "--listen", addr, "--log-format", "json", "--secret", simSecret}, args...)...)
	if err != nil {
		return nil, err
	}
	s := &sim{proc: p, base: "http://" + addr}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		if _, err := s.stats(); err == nil {
			return s, nil
		}
		if time.Now().After(deadline) || p.cmd.ProcessState != nil {
			p.stop()
			out, _ := os.ReadFile(p.log)
			return nil, fmt.Errorf("simulator did not start: %s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const simSecret = "bench-simulator-secret-0123"

func (s *sim) stats() (simulator.Stats, error) {
	var st simulator.Stats
	resp, err := http.Get(s.base + "/_sim/stats")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

func (s *sim) resetStats() error {
	resp, err := http.Post(s.base+"/_sim/stats/reset", "application/json", nil)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port, nil
}

// cpuSeconds is the user+system CPU time this process has used.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return tv(ru.Utime) + tv(ru.Stime)
}

func tv(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }

// table is one section's results.
type table struct {
	title string
	notes []string
	head  []string
	rows  [][]string
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) print(w io.Writer) {
	fmt.Fprintf(w, "## %s\n\n", t.title)
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(t.head, " | "), strings.Repeat(" --- |", len(t.head)))
	for _, r := range t.rows {
		fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
	}
	fmt.Fprintln(w)
	for _, n := range t.notes {
		fmt.Fprintf(w, "- %s\n", n)
	}
	if len(t.notes) > 0 {
		fmt.Fprintln(w)
	}
}

// spread is several measurements of one figure.
type spread []float64

func (s spread) median() float64 {
	c := slices.Clone(s)
	slices.Sort(c)
	if len(c) == 0 {
		return 0
	}
	if len(c)%2 == 1 {
		return c[len(c)/2]
	}
	return (c[len(c)/2-1] + c[len(c)/2]) / 2
}

// format prints the median and, for several runs, the range.
func (s spread) format(f string) string {
	if len(s) == 1 {
		return fmt.Sprintf(f, s[0])
	}
	return fmt.Sprintf(f+" ("+f+"–"+f+")", s.median(), slices.Min(s), slices.Max(s))
}

func mib(b int64) string { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
