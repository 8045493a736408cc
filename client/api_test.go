package client_test

import (
	"context"
	"errors"
	"testing"

	"github.com/reglock/reglock/client"
	"github.com/reglock/reglock/secret"
)

// Against the real API: a write retried with the same Idempotency-Key is
// recorded once and answered the same; without a key, each retry is a new
// generation; the same key for another request is refused.
func TestClient_idempotentRetryRecordsOnce(t *testing.T) {
	baseURL, stop := exampleAPI()
	defer stop()
	c := &client.Client{BaseURL: baseURL, Token: secret.String(exampleToken)}
	ctx := client.WithIdempotencyKey(context.Background(), "job-17")

	first, err := c.Lock(ctx, "example.com", client.LockRequest{Reason: "paid", RequestedBy: "billing"})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		again, err := c.Lock(ctx, "example.com", client.LockRequest{Reason: "paid", RequestedBy: "billing"})
		if err != nil {
			t.Fatal(err)
		}
		if again != first {
			t.Errorf("retry answered %+v, first %+v", again, first)
		}
	}
	h, err := c.History(context.Background(), "example.com", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Events) != 1 || h.Events[0].Generation != 1 {
		t.Errorf("history after 4 sends with one key: %+v", h.Events)
	}
	d, err := c.Domain(context.Background(), "example.com")
	if err != nil || d.Generation != 1 {
		t.Fatalf("domain: %+v %v", d, err)
	}

	// The same key for a different request: refused, nothing recorded.
	_, err = c.Lock(ctx, "example.com", client.LockRequest{Reason: "another reason"})
	var ae *client.Error
	if !errors.As(err, &ae) || ae.Status != 422 || ae.Code != "idempotency_key_reused" {
		t.Errorf("same key, another body: %v", err)
	}

	// Without a key, each send is recorded: a new generation.
	for want := int64(2); want <= 3; want++ {
		acc, err := c.Lock(context.Background(), "example.com", client.LockRequest{Reason: "paid"})
		if err != nil || acc.Generation != want {
			t.Fatalf("lock without a key: %+v %v, want generation %d", acc, err, want)
		}
	}
}
