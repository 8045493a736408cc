package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/reglock/reglock/secret"
)

// Client calls a reglock API: what the CLI uses with --api, and what a Go
// producer can use instead of enqueueing tasks itself.
type Client struct {
	BaseURL string
	Token   secret.String
	HTTP    *http.Client
}

// Error is an error answer of the API.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s (HTTP %d): %s", e.Code, e.Status, e.Message)
}

// Lock asks for desired = locked.
func (c *Client) Lock(ctx context.Context, domain string, r LockRequest) (Accepted, error) {
	var out Accepted
	return out, c.do(ctx, http.MethodPost, "/v1/domains/"+url.PathEscape(domain)+"/lock", r, &out)
}

// Unlock asks for desired = unlocked.
func (c *Client) Unlock(ctx context.Context, domain string, r UnlockRequest) (Accepted, error) {
	var out Accepted
	return out, c.do(ctx, http.MethodDelete, "/v1/domains/"+url.PathEscape(domain)+"/lock", r, &out)
}

// TradeLock sets the trade lock setting.
func (c *Client) TradeLock(ctx context.Context, domain string, r TradeLockRequest) (Accepted, error) {
	var out Accepted
	return out, c.do(ctx, http.MethodPut, "/v1/domains/"+url.PathEscape(domain)+"/trade-lock", r, &out)
}

// Domain reads one domain's record.
func (c *Client) Domain(ctx context.Context, domain string) (Domain, error) {
	var out Domain
	return out, c.do(ctx, http.MethodGet, "/v1/domains/"+url.PathEscape(domain), nil, &out)
}

// ListQuery filters GET /v1/domains.
type ListQuery struct {
	Provider string
	Drift    bool
	Cursor   string
	Limit    int
}

// Domains reads one page of the inventory.
func (c *Client) Domains(ctx context.Context, q ListQuery) (DomainList, error) {
	v := url.Values{}
	if q.Provider != "" {
		v.Set("provider", q.Provider)
	}
	if q.Drift {
		v.Set("drift", "true")
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	path := "/v1/domains"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var out DomainList
	return out, c.do(ctx, http.MethodGet, path, nil, &out)
}

// StartSweep starts a sweep.
func (c *Client) StartSweep(ctx context.Context, r SweepRequest) (SweepStarted, error) {
	var out SweepStarted
	return out, c.do(ctx, http.MethodPost, "/v1/sweeps", r, &out)
}

// Sweep reads a sweep's progress.
func (c *Client) Sweep(ctx context.Context, id string) (Sweep, error) {
	var out Sweep
	return out, c.do(ctx, http.MethodGet, "/v1/sweeps/"+url.PathEscape(id), nil, &out)
}

// ApplySweep queues the held fixes of a paused sweep.
func (c *Client) ApplySweep(ctx context.Context, id string) (Sweep, error) {
	var out Sweep
	return out, c.do(ctx, http.MethodPost, "/v1/sweeps/"+url.PathEscape(id)+"/apply", nil, &out)
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+c.Token.Reveal())
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e errorJSON
		if json.Unmarshal(data, &e) == nil && e.Error.Code != "" {
			return &Error{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
		}
		return &Error{Status: resp.StatusCode, Code: "http_error", Message: strings.TrimSpace(string(data))}
	}
	return json.Unmarshal(data, out)
}
