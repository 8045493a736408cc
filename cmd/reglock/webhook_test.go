package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/reglock/reglock/notify"
)

// hookSecret signs the test receivers' notifications.
const hookSecret = "webhook-secret-0123456789"

// webhook is a notification receiver that checks every signature and
// keeps what it heard, by "kind domain".
type webhook struct {
	URL   string
	mu    sync.Mutex
	heard map[string][]notify.Event
}

func newWebhook(t *testing.T) *webhook {
	t.Helper()
	h := &webhook{heard: map[string][]notify.Event{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := notify.Verify(hookSecret, r.Header.Get("Reglock-Signature"), body, time.Minute, time.Now()); err != nil {
			t.Errorf("webhook signature: %v", err)
			w.WriteHeader(400)
			return
		}
		var ev notify.Event
		_ = json.Unmarshal(body, &ev)
		h.mu.Lock()
		h.heard[ev.Kind+" "+ev.Domain] = append(h.heard[ev.Kind+" "+ev.Domain], ev)
		h.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	h.URL = srv.URL
	return h
}

// Heard returns the events heard under "kind domain".
func (h *webhook) Heard(key string) []notify.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]notify.Event(nil), h.heard[key]...)
}

// config is the notifications: section that sends events to the receiver.
func (h *webhook) config(events string) string {
	return "notifications:\n  - name: ops\n    url: " + h.URL + "\n    secret: " + hookSecret + "\n    events: [" + events + "]\n"
}
