package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// slowServer serves newHTTPServer's configuration with a handler that reads
// the whole body, as the API's does.
func slowServer(t *testing.T) (addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, "body", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// trickle opens a connection, sends start, then one more byte of filler a
// second until the server hangs up. It reports how long the connection
// lived, or an error if it was still open at limit.
func trickle(addr, start string, limit time.Duration) (time.Duration, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	began := time.Now()
	if _, err := io.WriteString(conn, start); err != nil {
		return 0, err
	}
	closed := make(chan struct{})
	go func() {
		// The server's hang-up shows as the end of the stream (possibly
		// after a 408 answer).
		io.Copy(io.Discard, conn)
		close(closed)
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	deadline := time.After(limit)
	for {
		select {
		case <-closed:
			return time.Since(began), nil
		case <-deadline:
			return 0, fmt.Errorf("still open after %v", limit)
		case <-tick.C:
			conn.SetWriteDeadline(time.Now().Add(time.Second))
			if _, err := io.WriteString(conn, "a"); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				<-closed
				return time.Since(began), nil
			}
		}
	}
}

// Slow clients cannot hold connections: one that trickles its headers is cut
// off after ReadHeaderTimeout, one that trickles its body after ReadTimeout,
// and while they hang on, everyone else is served.
func TestHTTPServer_slowClientsAreCutOff(t *testing.T) {
	t.Parallel()
	addr := slowServer(t)
	srv := newHTTPServer(nil)
	type result struct {
		what  string
		lived time.Duration
		err   error
	}
	results := make(chan result)
	const headerClients, bodyClients = 50, 5
	for range headerClients {
		go func() {
			lived, err := trickle(addr, "POST /v1/domains/x.com/lock HTTP/1.1\r\nHost: reglock\r\nX-Slow: ", srv.ReadHeaderTimeout+10*time.Second)
			results <- result{"headers", lived, err}
		}()
	}
	for range bodyClients {
		go func() {
			lived, err := trickle(addr, "POST /v1/domains/x.com/lock HTTP/1.1\r\nHost: reglock\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{", srv.ReadTimeout+10*time.Second)
			results <- result{"body", lived, err}
		}()
	}
	// Everyone else is served meanwhile.
	time.Sleep(time.Second)
	for i := range 20 {
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Post("http://"+addr+"/", "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatalf("request %d while %d slow clients hang on: %v", i, headerClients+bodyClients, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
	}
	longest := map[string]time.Duration{}
	for range headerClients + bodyClients {
		r := <-results
		if r.err != nil {
			t.Fatalf("a client trickling its %s: %v", r.what, r.err)
		}
		longest[r.what] = max(longest[r.what], r.lived)
	}
	t.Logf("slow headers cut off within %v (ReadHeaderTimeout %v), slow bodies within %v (ReadTimeout %v)",
		longest["headers"].Round(time.Millisecond), srv.ReadHeaderTimeout, longest["body"].Round(time.Millisecond), srv.ReadTimeout)
}
