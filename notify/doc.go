// Package notify tells operators' systems what reglock does, through the
// webhooks of the notifications: section of the configuration:
//
//	notifications:
//	  - name: ops                      # optional; default: the URL's host
//	    url: https://hooks.example.com/reglock
//	    secret: ${REGLOCK_HOOK_SECRET} # at least 16 characters
//	    events: [drift_confirmed, fix_failed, sweep_paused, breaker_opened]  # default (or "*"): all
//	  - url: https://hooks.slack.com/services/T000/B000/XXXX
//	    secret: ${REGLOCK_SLACK_SECRET}
//	    format: slack                  # json (default) or slack
//
// # Events
//
// drift_confirmed, drift_fixed and fix_failed (a change failed
// permanently); sweep_paused (the blast-radius guard held a sweep's fixes)
// and sweep_finished (with the sweep's figures); breaker_opened and
// breaker_closed (calls to a registrar account stopped, and resumed);
// relock_done (an unlock window ended and the domain is locked again) and
// relock_overdue (it ended without its relock); domain_gone (no longer in
// its registrar account); store_lost.
// The Kind constants say what each one's ID is made of.
//
// # Delivery
//
// Raise never waits for an endpoint: it queues one asynq task (TypeWebhook,
// on Queue) per endpoint that wants the event, and returns within
// RaiseTimeout; the worker delivers it. A delivery is a POST of
//
//	{"id": "sweep_paused:sweep-20261202T030000Z", "kind": "sweep_paused",
//	 "time": "2026-12-02T03:04:05Z", "domain": "", "provider": "enom-main",
//	 "sweep_id": "sweep-20261202T030000Z", "summary": "one line for people",
//	 "data": {...}}
//
// with Content-Type: application/json, User-Agent: reglock,
// Reglock-Event-Id (the event's ID), Reglock-Event (its kind) and
// Reglock-Signature. In the slack format the body is a Slack
// incoming-webhook message instead, {"text": "reglock: <summary>"}, with the
// same headers (Slack ignores them).
//
// A 2xx answer delivers it. A 408, 429, 5xx or a failed connection is
// retried with backoff (MaxRetry times, four to five hours in all); a
// redirect or another 4xx (410 Gone included) is not, since retrying would
// not help, and the task is archived where asynqmon shows it. Each
// endpoint's last success, last error and failures in a row are kept in
// Redis (Notifier.Status) and counted in reglock_notifications_total
// {endpoint,kind,result}; errors never hold the secret or the URL's path
// and query (a Slack webhook URL is itself a credential).
//
// # Duplicates
//
// A delivery's task ID is "notify:<endpoint>:<event id>". Raising an event
// again, from any process, while its delivery is queued, retrying,
// archived or within Retention (a day) of being delivered queues nothing:
// each endpoint gets each event once. A retried delivery carries the same
// body and Reglock-Event-Id, so a receiver that saw the first attempt
// succeed but whose answer was lost can drop the second by its ID.
//
// # Verifying a delivery
//
// Reglock-Signature is "t=<unix seconds>,v1=<hex>", where the hex is
// HMAC-SHA256, keyed with the endpoint's secret, of the timestamp, a '.'
// and the raw body, as Stripe signs its webhooks. A receiver
// recomputes it over the body exactly as received, compares in constant
// time, and refuses a timestamp more than a few minutes from its own
// clock (a replay). In Go:
//
//	body, _ := io.ReadAll(r.Body)
//	err := notify.Verify(secret, r.Header.Get("Reglock-Signature"), body, 5*time.Minute, time.Now())
//
// Elsewhere: split the header on ',', take t and v1, and compare v1 with
// hex(hmac_sha256(secret, t + "." + body)).
package notify
