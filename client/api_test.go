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

// Every method against the real API: what it sends is what the API takes,
// and what the API answers decodes.
func TestClient_everyMethodAgainstTheAPI(t *testing.T) {
	baseURL, stop := exampleAPI()
	defer stop()
	c := &client.Client{BaseURL: baseURL + "/", Token: secret.String(exampleToken)}
	ctx := context.Background()

	if acc, err := c.Lock(ctx, "Example.COM.", client.LockRequest{Reason: "signup"}); err != nil || acc.Domain != "example.com" || acc.Generation != 1 {
		t.Fatalf("Lock: %+v %v", acc, err)
	}
	if acc, err := c.Unlock(ctx, "example.com", client.UnlockRequest{RelockAfter: "1h"}); err != nil || acc.Desired.Locked || acc.Desired.RelockAt == nil {
		t.Fatalf("Unlock: %+v %v", acc, err)
	}
	off := false
	acc, err := c.TradeLock(ctx, "shop.org", client.TradeLockRequest{Enable: &off, ConsentIP: "203.0.113.7", Provider: "opensrs"})
	if err != nil || acc.Desired.TradeLock == nil || *acc.Desired.TradeLock {
		t.Fatalf("TradeLock: %+v %v", acc, err)
	}
	if _, err := c.Lock(ctx, "bücher.com", client.LockRequest{}); err != nil {
		t.Fatalf("Lock of an IDN: %v", err)
	}
	if d, err := c.Domain(ctx, "BÜCHER.com"); err != nil || d.Domain != "xn--bcher-kva.com" || !d.Desired.Locked {
		t.Fatalf("Domain of an IDN: %+v %v", d, err)
	}
	d, err := c.Domain(ctx, "example.com")
	if err != nil || d.Generation != 2 || d.Relock == nil || d.Relock.State != "scheduled" || d.Intent == nil || d.Intent.Kind != "unlock" {
		t.Fatalf("Domain: %+v %v", d, err)
	}
	list, err := c.Domains(ctx, client.ListQuery{Provider: "enom-main"})
	if err != nil || len(list.Domains) != 2 || list.NextCursor != nil {
		t.Fatalf("Domains: %+v %v", list, err)
	}
	h, err := c.History(ctx, "example.com", "", 1)
	if err != nil || len(h.Events) != 1 || h.Events[0].Intent != "unlock" || h.NextCursor == nil {
		t.Fatalf("History: %+v %v", h, err)
	}
	if older, err := c.History(ctx, "example.com", *h.NextCursor, 1); err != nil || len(older.Events) != 1 || older.Events[0].Intent != "lock" {
		t.Fatalf("History, next page: %+v %v", older, err)
	}
	started, err := c.StartSweep(ctx, client.SweepRequest{Provider: "enom-main", DryRun: true})
	if err != nil || started.SweepID == "" {
		t.Fatalf("StartSweep: %+v %v", started, err)
	}
	sw, err := c.Sweep(ctx, started.SweepID)
	if err != nil || sw.SweepID != started.SweepID || !sw.DryRun || sw.Provider != "enom-main" || sw.Trigger != "api:billing" {
		t.Fatalf("Sweep: %+v %v", sw, err)
	}
	sweeps, err := c.Sweeps(ctx, "", "")
	if err != nil || len(sweeps.Sweeps) != 1 || sweeps.Sweeps[0].SweepID != started.SweepID {
		t.Fatalf("Sweeps: %+v %v", sweeps, err)
	}
	if rep, err := c.SweepReport(ctx, started.SweepID); err != nil || rep.Sweep.SweepID != started.SweepID || len(rep.Domains) != 0 {
		t.Fatalf("SweepReport: %+v %v", rep, err)
	}
	var ae *client.Error
	if _, err := c.ApplySweep(ctx, started.SweepID); !errors.As(err, &ae) || ae.Code != "not_paused" || ae.Status != 409 {
		t.Fatalf("ApplySweep of a running sweep: %v", err)
	}
	comp, err := c.Compliance(ctx)
	if err != nil || len(comp.Providers) != 2 || comp.Providers[0].Provider != "enom-main" || comp.Providers[0].Domains != 2 {
		t.Fatalf("Compliance: %+v %v", comp, err)
	}
	if f, err := c.Forget(ctx, "shop.org", client.ForgetRequest{Reason: "expired"}); err != nil || f.Provider != "opensrs" {
		t.Fatalf("Forget: %+v %v", f, err)
	}
	if _, err := c.Domain(ctx, "shop.org"); !errors.As(err, &ae) || ae.Status != 404 || ae.Code != "not_found" {
		t.Fatalf("Domain after Forget: %v", err)
	}
}
