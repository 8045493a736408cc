package worker_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/reglock/reglock/breaker"
	"github.com/reglock/reglock/intent"
	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/enom"
	"github.com/reglock/reglock/secret"
	"github.com/reglock/reglock/tasks"
)

// gatewayPage is what a proxy in front of a registrar answers when the
// registrar behind it is down.
const gatewayPage = `<!DOCTYPE html>
<html><head><title>502 Bad Gateway &ndash; registrar proxy</title>
<style>body { font-family: sans-serif; }</style></head>
<body><h1>Bad Gateway</h1><p>The upstream server returned an invalid response.</p>
<script>console.log("<b>")</script></body></html>`

// lastErr waits for the task's Last Error, as asynqmon shows it.
func (b *bundle) lastErr(taskID string) string {
	b.t.Helper()
	var last string
	b.eventually("task "+taskID+" to fail once", 10*time.Second, func() bool {
		ti, err := b.insp.GetTaskInfo(b.queues.Queue(tasks.QueueChanges), taskID)
		if err == nil && ti.LastErr != "" && ti.State != asynq.TaskStateActive {
			last = ti.LastErr
			return true
		}
		return false
	})
	return last
}

// useENom restarts the worker with eNom at endpoint.
func (b *bundle) useENom(endpoint string) {
	b.t.Helper()
	reg, err := enom.New(enom.Config{Endpoint: endpoint, UID: "resellid", PW: secret.String("resellpw")})
	if err != nil {
		b.t.Fatal(err)
	}
	a := b.worker.Accounts["enom-main"]
	a.Registrar = reg
	b.worker.Accounts["enom-main"] = a
	b.srv.Shutdown()
	b.startWorker()
}

// A registrar (or the proxy before it) answering an HTML error page: the
// task's Last Error and the domain's recorded error name the domain and
// the page's title, and carry none of its markup.
func TestWorker_lastErrorSummarisesAnHTMLPage(t *testing.T) {
	b := setup(t)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, gatewayPage)
	}))
	t.Cleanup(proxy.Close)
	b.useENom(proxy.URL + "/interface.asp")
	acc, err := b.intents.Lock(context.Background(), intent.Request{Domain: "gateway.com", Provider: "enom-main"})
	if err != nil {
		t.Fatal(err)
	}
	last := b.lastErr(acc.TaskID)
	for _, text := range []string{last, b.domain("gateway.com").Observed.Error} {
		for _, want := range []string{"gateway.com", `HTTP status 502 Bad Gateway: "502 Bad Gateway – registrar proxy"`} {
			if !strings.Contains(text, want) {
				t.Errorf("error %q does not say %q", text, want)
			}
		}
		if strings.ContainsAny(text, "<>") || strings.Contains(text, "upstream server") {
			t.Errorf("error %q quotes the page", text)
		}
	}
	t.Logf("Last Error: %s", last)
}

// A task the open circuit breaker holds back says so about its own domain:
// its Last Error names neither the domain whose failures opened the breaker
// nor their pages.
func TestWorker_lastErrorOfAHeldBackTaskNamesItsOwnDomain(t *testing.T) {
	b := setup(t)
	set := b.withBreakers(breaker.Options{Threshold: 2, Cooldown: time.Minute})
	// Another domain's calls fail until the breaker opens.
	for range 2 {
		_ = set.Middleware("enom-main")(context.Background(), "lock_state", "other.com", func(context.Context) error {
			return fmt.Errorf("enom: GetRegLock other.com: %w", &providers.StatusError{Code: 502, Body: gatewayPage})
		})
	}
	b.acct.AddDomain("mine.com", false)
	acc, err := b.intents.Lock(context.Background(), intent.Request{Domain: "mine.com"})
	if err != nil {
		t.Fatal(err)
	}
	last := b.lastErr(acc.TaskID)
	for _, want := range []string{"circuit open for account enom-main", "2 failed calls in a row, the last: HTTP 502 Bad Gateway", "this task (domain mine.com) was not sent"} {
		if !strings.Contains(last, want) {
			t.Errorf("Last Error %q does not say %q", last, want)
		}
	}
	if strings.Contains(last, "other.com") || strings.ContainsAny(last, "<>") {
		t.Errorf("Last Error %q quotes the other domain's failure", last)
	}
	if n := b.acct.Calls(); n != 0 {
		t.Errorf("%d registrar calls through the open breaker", n)
	}
	t.Logf("Last Error: %s", last)
}
