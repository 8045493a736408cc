// Package client is the Go client of reglock's HTTP API (/v1): for a Go
// producer that records lock and unlock intents, a reader of domains,
// histories, sweeps and compliance figures, and the reglock CLI itself,
// which drives a running API with it (--api) and the API in its own process
// with it (--config). It owns the API's wire format: every request and
// answer body is a type of this package, and the server encodes and decodes
// these same types. It imports only the standard library and
// reglock/secret, so a producer that imports it pulls in none of the
// server (no Redis client, queue, metrics or logging library).
//
// # Constructing a client
//
// A Client is a plain struct; there is no constructor:
//
//	c := &client.Client{
//		BaseURL: "https://reglock.internal:8080", // the API's root, without /v1
//		Token:   secret.String(os.Getenv("REGLOCK_TOKEN")),
//	}
//
// BaseURL is the scheme, host and port reglock serves its API on
// (api.listen); a trailing slash is ignored. HTTP, optional, is the
// *http.Client the requests go through: nil is one with a 30-second
// timeout. A Client holds no state of its own and is safe for concurrent
// use; build it once and share it.
//
// # Tokens and scopes
//
// Token is one of the configuration's api.tokens, sent as "Authorization:
// Bearer <token>" on every request; it is a secret.String, which prints as
// "[redacted]", and this package never puts it in an error. Each call needs
// a scope: read for Domain, Domains, History, Sweep, Sweeps, SweepReport
// and Compliance; write for Lock, Unlock, TradeLock and StartSweep; admin
// (which grants every scope) for ApplySweep and Forget. A token may also
// be limited to some providers (api.tokens[].providers): it then sees and
// changes only their domains, and a domain of another provider answers as
// one not in the inventory.
//
// # Changes record intent; workers apply it
//
// Lock, Unlock and TradeLock return as soon as the intent is recorded and
// its work queued, with 202 Accepted: Accepted.Generation is the domain's
// new generation (each intent gets the next one; the newest wins) and
// Accepted.TaskID the queued task. A worker then changes the lock at the
// registrar, reads it back, and retries through registrar outages. To know
// whether the registrar has it, read the domain: Domain.Generation is at
// least the one accepted, Domain.Observed is what the registrar last
// showed, and Domain.InSync is true once the two agree (Domain.Task says
// what is queued or retrying, Domain.Observed.Error what failed). A sweep
// (StartSweep) reads every domain and fixes confirmed drift; Sweep reports
// its progress, SweepReport what it found.
//
// # Errors
//
// When the API answers with an error status, the error is an *Error with
// the HTTP status and the API's stable, machine-readable code; match on
// the code with errors.As, never on the message:
//
//	var ae *client.Error
//	if errors.As(err, &ae) && ae.Code == "provider_required" { ... }
//
// Codes a producer meets: provider_required (the domain is not in the
// inventory and no provider's TLDs cover it: name the provider in the
// request), unknown_provider, provider_conflict (the domain is recorded
// under another provider), invalid_domain, invalid_field, forbidden_provider
// (a token limited to other providers), unauthorized (401) and forbidden
// (403, the token lacks the scope), not_found (404), lock_unsupported and
// locked_by_policy (the TLD or a registry window forbids it), and
// unavailable and store_lost (503: Redis or the store is unavailable;
// retry later). GET /v1/openapi.json lists them all.
// An error answer that is not the API's (a proxy's HTML 502, say) is an
// *Error with the code http_error and the start of its body, trimmed, as
// the message. A request refused with a 4xx status records and queues
// nothing.
//
// Any other error is the transport's or the context's (a refused
// connection, a timeout, a cancelled context): the request may or may not
// have reached the API.
//
// # Retries and idempotency
//
// A write may be retried safely with an idempotency key: a context from
// WithIdempotencyKey makes Lock, Unlock, TradeLock, StartSweep, ApplySweep
// and Forget send "Idempotency-Key: <key>", and the API answers a retry of
// the same request (same token, method, path and body) within 24 hours
// with the first answer, recording no second intent. Use one key per
// intended change (the ID of the producer's own job, or a UUID) and the
// same key for each retry of it:
//
//	ctx = client.WithIdempotencyKey(ctx, "order-4711-lock")
//	acc, err := c.Lock(ctx, "example.com", client.LockRequest{Reason: "paid"})
//
// Without a key, a lock or unlock retried after a lost answer is recorded
// again as a new generation of the same intent: harmless for the lock
// state, but it appears twice in the domain's history.
//
// # Timeouts
//
// Every call takes a context: its deadline and cancellation bound that
// call. The Client's HTTP timeout (30 seconds when HTTP is nil) bounds
// every call as well. A change answers as soon as Redis has recorded it,
// without waiting for any registrar, so a timeout of a few seconds is
// usually plenty (during a Redis failover the API may hold a request
// while it waits for the new master).
//
// # Tracing, proxies and TLS
//
// Set HTTP to an *http.Client with the transport you need. For
// OpenTelemetry, wrap the transport with otelhttp, so that each request
// gets a client span and carries the trace context in its headers; this
// package imports no OpenTelemetry itself:
//
//	c.HTTP = &http.Client{
//		Timeout:   10 * time.Second,
//		Transport: otelhttp.NewTransport(http.DefaultTransport),
//	}
//
// The server's api.InProcess returns a Client whose transport calls the
// API's handler in the same process: how the CLI and the console use the
// API without a network.
package client
