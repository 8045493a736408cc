package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/intent"
	"github.com/reglock/reglock/metrics"
	"github.com/reglock/reglock/secret"
	"github.com/reglock/reglock/system"
	"github.com/reglock/reglock/tasks"
	"github.com/reglock/reglock/tracing"
)

// discardSpans is a span exporter that drops what it is given.
type discardSpans struct{}

func (discardSpans) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardSpans) Shutdown(context.Context) error                             { return nil }

// producerRun is one burst of lock requests.
type producerRun struct {
	perSec   float64
	p50, p99 time.Duration
	// Per request: round trips to Redis, Redis's CPU time and this
	// process's CPU time (HTTP client and server), in seconds.
	rtt, redisCPU, cpu float64
}

// producer measures HTTP API lock requests (validate, record the intent,
// enqueue) against enqueueing the same task with an asynq.Client, at 1, 16
// and 100 concurrent clients.
func (b *bench) producer(ctx context.Context) (*table, error) {
	dur, reps := 4*time.Second, 3
	if b.cfg.quick {
		dur, reps = time.Second, 1
	}
	t := &table{
		title: fmt.Sprintf("2. Producer path: lock requests for %s per run (median of %d, range)", dur, reps),
		head: []string{"clients", "API req/s", "direct enqueue/s", "API vs direct", "API p50", "API p99", "direct p50", "direct p99",
			"intent service without HTTP, req/s", "HTTP floor, req/s", "hand-written handler, req/s", "API vs handler", "handler p99",
			"round trips/req: API / handler", "Redis CPU/req: API / handler", "bench process CPU/req: API / handler",
			"API traced, req/s", "traced vs API", "traced CPU/req"},
	}
	for _, clients := range []int{1, 16, 100} {
		var apiRate, directRate, ratio, ap50, ap99, dp50, dp99, svcRate, floorRate, handRate, handRatio, hp99 spread
		var aRTT, hRTT, aRedis, hRedis, aCPU, hCPU, tracedRate, tracedRatio, tCPU spread
		for range reps {
			runs := map[string]producerRun{}
			for _, v := range []string{"api", "direct", "service", "floor", "handler", "traced"} {
				r, err := b.producerOnce(ctx, v, clients, dur)
				if err != nil {
					return nil, err
				}
				runs[v] = r
			}
			a, d := runs["api"], runs["direct"]
			apiRate, directRate = append(apiRate, a.perSec), append(directRate, d.perSec)
			ratio = append(ratio, a.perSec/d.perSec)
			ap50, ap99 = append(ap50, ms(a.p50)), append(ap99, ms(a.p99))
			dp50, dp99 = append(dp50, ms(d.p50)), append(dp99, ms(d.p99))
			svcRate, floorRate = append(svcRate, runs["service"].perSec), append(floorRate, runs["floor"].perSec)
			h := runs["handler"]
			handRate, handRatio, hp99 = append(handRate, h.perSec), append(handRatio, a.perSec/h.perSec), append(hp99, ms(h.p99))
			aRTT, hRTT = append(aRTT, a.rtt), append(hRTT, h.rtt)
			aRedis, hRedis = append(aRedis, a.redisCPU*1e6), append(hRedis, h.redisCPU*1e6)
			aCPU, hCPU = append(aCPU, a.cpu*1e6), append(hCPU, h.cpu*1e6)
			tr := runs["traced"]
			tracedRate, tracedRatio, tCPU = append(tracedRate, tr.perSec), append(tracedRatio, tr.perSec/a.perSec), append(tCPU, tr.cpu*1e6)
		}
		t.add(fmt.Sprint(clients), apiRate.format("%.0f"), directRate.format("%.0f"), ratio.format("%.2fx"),
			ap50.format("%.2f ms"), ap99.format("%.2f ms"), dp50.format("%.2f ms"), dp99.format("%.2f ms"),
			svcRate.format("%.0f"), floorRate.format("%.0f"), handRate.format("%.0f"), handRatio.format("%.2fx"), hp99.format("%.2f ms"),
			fmt.Sprintf("%.2f / %.2f", aRTT.median(), hRTT.median()),
			fmt.Sprintf("%.0f / %.0f µs", aRedis.median(), hRedis.median()),
			fmt.Sprintf("%.0f / %.0f µs", aCPU.median(), hCPU.median()),
			tracedRate.format("%.0f"), tracedRatio.format("%.2fx"), fmt.Sprintf("%.0f µs", tCPU.median()))
	}
	t.notes = append(t.notes,
		"API: POST /v1/domains/{domain}/lock with a bearer token over keep-alive HTTP to a server in this process (one Redis round trip to record the intent and mark the bucket, one to enqueue); every request is a new domain.",
		"Direct: tasks.NewLockTask + asynq.Client.Enqueue of the same task from the same number of goroutines (one round trip).",
		"Intent service without HTTP: the API's own path (validate, record, enqueue: two round trips) called in-process, to separate Redis from HTTP.",
		"HTTP floor: the same HTTP client and server with a handler that answers 202 at once and touches no Redis: what the HTTP stack alone allows on this machine.",
		"Hand-written handler: what a user would write instead of reglock's API, on the same HTTP stack: check the bearer token (constant time), read the optional JSON body, validate the domain, tasks.NewLockTask and asynq Enqueue (one round trip); nothing recorded, no idempotency, no history.",
		"Per request (medians): round trips this process made to Redis (a pipeline counts once), the Redis server's CPU time (all of its clients: use a private Redis), and this process's CPU time, HTTP client and server together. The API's request log is off (zerolog.Nop); in production it writes one line per request.",
		"API traced: the same API with tracing on (OpenTelemetry SDK, every request sampled, spans batched as in production and then dropped rather than sent): the request's server span and its enqueue's producer span, and the trace context in the task's headers. Tracing off is the API column: no span, no allocation (tracing.TestOff_isFree).",
		"Clients, server and Redis share the machine's cores; no worker runs, so the queue only grows.")
	return t, nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// serveLocks serves h on a loopback port and returns what sends one lock
// request to it (POST /v1/domains/{domain}/lock with the bench's token, over
// keep-alive connections; an answer other than 202 is an error), and what
// stops the server.
func serveLocks(h http.Handler) (send func(ctx context.Context, domain string) error, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	hs := &http.Server{Handler: h}
	go hs.Serve(ln)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxIdleConns: 256}}
	url := "http://" + ln.Addr().String() + "/v1/domains/"
	send = func(ctx context.Context, domain string) error {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+domain+"/lock", http.NoBody)
		req.Header.Set("Authorization", "Bearer bench-token-0123456789abcdef")
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		// Read to the end, or the connection is not reused.
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return nil
	}
	return send, func() { hs.Close() }, nil
}

func (b *bench) producerOnce(ctx context.Context, variant string, clients int, dur time.Duration) (producerRun, error) {
	ns, clean := b.namespace()
	defer clean()
	queues := tasks.Namespace(ns)
	client := asynq.NewClientFromRedisClient(b.rdb)
	var send func(ctx context.Context, domain string) error
	// The HTTP variants serve a handler; serveLocks makes their send.
	var handler http.Handler
	switch variant {
	case "api", "traced":
		if variant == "traced" {
			// Spans made and batched as in production, then dropped:
			// the cost in this process, not the collector's.
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardSpans{}))
			defer tp.Shutdown(context.Background())
			defer tracing.Install(tp)()
		}
		// Every new .com routes to the one provider.
		cfg := &config.Config{Providers: []config.Provider{{Name: "enom", Type: "enom", TLDs: []string{"com"}}}}
		sys := system.New(system.Options{Config: cfg, Redis: b.rdb, Enqueuer: client, Namespace: ns, Log: zerolog.Nop(), Metrics: metrics.New()})
		srv := sys.API([]config.Token{{Name: "bench", Token: secret.String("bench-token-0123456789abcdef")}})
		handler = srv.Handler()
	case "service":
		cfg := &config.Config{Providers: []config.Provider{{Name: "enom", Type: "enom", TLDs: []string{"com"}}}}
		svc := system.New(system.Options{Config: cfg, Redis: b.rdb, Enqueuer: client, Namespace: ns, Log: zerolog.Nop()}).Intents
		send = func(ctx context.Context, domain string) error {
			_, err := svc.Lock(ctx, intent.Request{Domain: domain, RequestedBy: "bench"})
			return err
		}
	case "floor":
		accepted := []byte(`{"domain":"x.com","generation":1,"task_id":"lock:x.com@1","desired":{"locked":true}}` + "\n")
		floor := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusAccepted)
			w.Write(accepted)
		})
		handler = floor
	case "handler":
		q := queues.Queue(tasks.QueueChanges)
		want := sha256.Sum256([]byte("Bearer bench-token-0123456789abcdef"))
		mux := http.NewServeMux()
		mux.HandleFunc("POST /v1/domains/{domain}/lock", func(w http.ResponseWriter, r *http.Request) {
			got := sha256.Sum256([]byte(r.Header.Get("Authorization")))
			if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
				http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
				return
			}
			var body struct {
				Reason string `json:"reason"`
			}
			if data, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10)); len(data) > 0 {
				if err := json.Unmarshal(data, &body); err != nil {
					http.Error(w, `{"error":"invalid_json"}`, http.StatusBadRequest)
					return
				}
			}
			t, err := tasks.NewLockTask(tasks.LockPayload{Intent: tasks.Intent{Domain: r.PathValue("domain"), Provider: "enom", Reason: body.Reason}})
			if err != nil {
				http.Error(w, `{"error":"invalid_domain"}`, http.StatusBadRequest)
				return
			}
			info, err := client.EnqueueContext(r.Context(), t, asynq.Queue(q))
			if err != nil {
				http.Error(w, `{"error":"unavailable"}`, http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusAccepted)
			_ = json.NewEncoder(w).Encode(map[string]string{"task_id": info.ID})
		})
		handler = mux
	case "direct":
		q := queues.Queue(tasks.QueueChanges)
		send = func(ctx context.Context, domain string) error {
			t, err := tasks.NewLockTask(tasks.LockPayload{Intent: tasks.Intent{Domain: domain, Provider: "enom"}})
			if err != nil {
				return err
			}
			_, err = client.EnqueueContext(ctx, t, asynq.Queue(q))
			return err
		}
	}
	if handler != nil {
		var stop func()
		var err error
		if send, stop, err = serveLocks(handler); err != nil {
			return producerRun{}, err
		}
		defer stop()
	}
	var seq atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	var failed error
	if path := os.Getenv("BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(fmt.Sprintf("%s.%s.%d", path, variant, clients))
		if err == nil {
			pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	rcpu0, _ := b.redisCPU(ctx)
	rtt0, cpu0 := b.rtt.n.Load(), cpuSeconds()
	rctx, cancel := context.WithTimeout(ctx, dur)
	defer cancel()
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for rctx.Err() == nil {
				d := fmt.Sprintf("p%09d.com", seq.Add(1))
				t0 := time.Now()
				if err := send(ctx, d); err != nil {
					mu.Lock()
					failed = err
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu, rtt := cpuSeconds()-cpu0, b.rtt.n.Load()-rtt0
	rcpu1, _ := b.redisCPU(ctx)
	if failed != nil {
		return producerRun{}, fmt.Errorf("%s: %w", variant, failed)
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	n := float64(len(lat))
	return producerRun{perSec: n / elapsed.Seconds(), p50: pct(0.50), p99: pct(0.99),
		rtt: float64(rtt) / n, redisCPU: (rcpu1 - rcpu0) / n, cpu: cpu / n}, nil
}
