package ee

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// tokenValidity is how long the registry's tokens live
// (AuthTokenCreator::DEFAULT_VALIDITY); the client falls back on it when
// expires_at is missing or already past by its own clock.
const tokenValidity = 2 * time.Hour

// renewEarly is how long before expires_at the client logs in again, so
// that a request in flight does not meet an expired token.
const renewEarly = 5 * time.Minute

// session is one token from POST auth/eid.
type session struct {
	token string
	// previous is the token this one replaced, kept for redaction.
	previous string
	// renewAt is when the client logs in again.
	renewAt time.Time
}

// bearer returns the token for the next request: the static one, or the
// eID session's, logging in first when there is none or it is about to
// expire. One login runs at a time; the others wait for it.
func (c *Client) bearer(ctx context.Context) (string, error) {
	if c.eid == nil {
		return c.token.Reveal(), nil
	}
	if s := c.session.Load(); s != nil && c.now().Before(s.renewAt) {
		return s.token, nil
	}
	select {
	case c.login <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-c.login }()
	old := c.session.Load()
	if old != nil && c.now().Before(old.renewAt) {
		return old.token, nil // someone else logged in meanwhile
	}
	s, err := c.logIn(ctx)
	if err != nil {
		return "", err
	}
	if old != nil {
		s.previous = old.token
	}
	c.session.Store(s)
	return s.token, nil
}

// dropSession forgets the session whose token the registry refused, unless
// it has been replaced already.
func (c *Client) dropSession(token string) {
	if s := c.session.Load(); s != nil && s.token == token {
		// Keep the token for redaction; renewAt in the past forces a login.
		c.session.CompareAndSwap(s, &session{token: s.token, previous: s.previous})
	}
}

// logIn is POST auth/eid with the configured identity.
func (c *Client) logIn(ctx context.Context) (*session, error) {
	req := struct {
		Ident       string `json:"ident"`
		FirstName   string `json:"first_name"`
		LastName    string `json:"last_name"`
		CountryCode string `json:"country_code,omitempty"`
	}{c.eid.Ident, c.eid.FirstName, c.eid.LastName, c.eid.CountryCode}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	resp, err := c.send(ctx, http.MethodPost, c.prefix+"/auth/eid", nil, body, "")
	if err != nil {
		return nil, fmt.Errorf("eID login: %w", err)
	}
	if err := classify(opLogin, resp.status, resp.header, resp.body, c.now(), c.redactor()); err != nil {
		return nil, fmt.Errorf("eID login: %w", err)
	}
	a, err := parseAuth(resp.body)
	if err != nil {
		// The registry answers 200 with an error body when it cannot create
		// the token (AuthController#eid): say what it said, transient.
		if msgs := parseErrors(resp.body); len(msgs) > 0 {
			return nil, fmt.Errorf("eID login: the registry answered without a token: %s", c.redactor().Redact(messagesText(msgs)))
		}
		// The body holds a token, perhaps half of one: show none of it.
		return nil, fmt.Errorf("eID login: %w", err)
	}
	return &session{token: a.token, renewAt: renewAt(c.now(), a.expiresAt)}, nil
}

// renewAt is when to replace a token expiring at expires: renewEarly
// before, or a quarter of its life before for short-lived tokens. An
// expires_at that is missing or already past (clock skew) counts as the
// documented two hours; if the token dies sooner, the registry's 401 makes
// the client log in again.
func renewAt(now, expires time.Time) time.Time {
	life := expires.Sub(now)
	if expires.IsZero() || life <= 0 {
		life = tokenValidity
	}
	return now.Add(life - min(renewEarly, life/4))
}
