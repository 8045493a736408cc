package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/hibiken/asynq"

	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/providers"
)

// maxAnswer is how much of an endpoint's answer is read: only its start
// goes into an error.
const maxAnswer = 64 << 10

// Deliver is the TypeWebhook handler: it sends the event to its endpoint
// and records how that went. Its errors are classified for the worker's
// verdicts middleware (providers.Judge): a payload that cannot run, an
// endpoint no longer configured, a redirect or a 4xx answer other than 408
// and 429 are permanent (archived: retrying will not help); a 408, 429,
// 5xx or transport error is retried with backoff. Every attempt of one
// delivery sends the same body and event ID, with a fresh signature.
func (n *Notifier) Deliver(ctx context.Context, t *asynq.Task) error {
	var p WebhookPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return providers.Permanent(fmt.Errorf("decode %s payload: %w", TypeWebhook, err))
	}
	if err := p.Validate(); err != nil {
		return providers.Permanent(fmt.Errorf("%s payload: %w", TypeWebhook, err))
	}
	var e Event
	_ = json.Unmarshal(p.Event, &e) // Validate decoded it
	log := n.o.Log.With().Str("endpoint", p.Endpoint).Str("event_id", e.ID).Str("kind", e.Kind).Logger()
	ep, ok := n.endpoints().byName[p.Endpoint]
	if !ok {
		log.Warn().Msg("notify: endpoint no longer configured; delivery dropped")
		return providers.Permanent(fmt.Errorf("notification endpoint %q is not configured", p.Endpoint))
	}

	body := []byte(p.Event)
	if ep.Format == config.FormatSlack {
		body = slackBody(e)
	}
	err := n.post(ctx, ep, e, body)
	now := n.o.Clock.Now()
	if err == nil {
		n.recordSuccess(ctx, ep.Name, now)
		n.count(ep.Name, e.Kind, ResultDelivered)
		if n.o.Counters != nil {
			n.o.Counters.NotificationDelivered(ep.Name, now)
		}
		log.Debug().Msg("notify: delivered")
		return nil
	}
	if ctx.Err() != nil {
		return err // this worker is stopping: not the endpoint's failure
	}
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, inTask := asynq.GetMaxRetry(ctx)
	gaveUp := providers.IsPermanent(err) || inTask && retried >= maxRetry
	n.recordFailure(ctx, ep.Name, err.Error(), now)
	if gaveUp {
		n.count(ep.Name, e.Kind, ResultGaveUp)
		log.Error().Err(err).Int("attempt", retried+1).Msg("notify: delivery failed for good; the task is archived")
	} else {
		n.count(ep.Name, e.Kind, ResultFailed)
		log.Warn().Err(err).Int("attempt", retried+1).Msg("notify: delivery failed; it is retried")
	}
	return err
}

// post sends body to ep once and classifies the outcome.
func (n *Notifier) post(ctx context.Context, ep config.Notification, e Event, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(body))
	if err != nil {
		// Not quoting err: it holds the URL.
		return providers.Permanent(fmt.Errorf("POST %s: cannot build the request", ep.RedactedURL()))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "reglock")
	req.Header.Set(EventIDHeader, e.ID)
	req.Header.Set(EventHeader, e.Kind)
	req.Header.Set(SignatureHeader, Sign(ep.Secret.Reveal(), n.o.Clock.Now(), body))
	resp, err := n.o.Client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return n.redact(ep, transportError(ep, err))
	}
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	resp.Body.Close()
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusRequestTimeout, code == http.StatusTooManyRequests, code >= 500:
		return n.redact(ep, &providers.StatusError{Code: code, Body: providers.Snippet(answer)})
	case code >= 300 && code < 400:
		return providers.Permanent(fmt.Errorf("POST %s: HTTP %d: redirects are not followed; configure the final URL", ep.RedactedURL(), code))
	default:
		return providers.Permanent(n.redact(ep, &providers.StatusError{Code: code, Body: providers.Snippet(answer)}))
	}
}

// transportError names the endpoint by its scheme and host only: the URL's
// path may be its credential (a Slack webhook's is).
func transportError(ep config.Notification, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("POST %s: %w", ep.RedactedURL(), err)
}

// redact removes the secret and the URL from an error's text, should an
// endpoint echo them.
func (n *Notifier) redact(ep config.Notification, err error) error {
	u, perr := url.Parse(ep.URL)
	forms := []string{ep.Secret.Reveal(), ep.URL}
	if perr == nil {
		forms = append(forms, u.RawQuery)
		if len(u.Path) > 1 {
			forms = append(forms, u.Path)
		}
	}
	r := providers.NewRedactor(forms...)
	msg := err.Error()
	if clean := r.Redact(msg); clean != msg {
		if providers.IsPermanent(err) {
			return providers.Permanent(errors.New(clean))
		}
		return errors.New(clean)
	}
	return err
}

// slackBody is a Slack incoming-webhook message: {"text": "reglock: ..."},
// with &, < and > escaped as Slack asks.
func slackBody(e Event) []byte {
	line := e.Summary
	if line == "" {
		line = strings.TrimSpace(strings.ReplaceAll(e.Kind, "_", " ") + " " + e.subject())
	}
	esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace("reglock: " + line)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(struct {
		Text string `json:"text"`
	}{esc})
	return bytes.TrimRight(b.Bytes(), "\n")
}
