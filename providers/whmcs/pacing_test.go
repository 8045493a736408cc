package whmcs

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/providertest"
)

// countingPacer counts the rate-limit slots a context's requests take.
func countingPacer() (context.Context, *atomic.Int64) {
	n := &atomic.Int64{}
	return providers.WithPacer(context.Background(), func(ctx context.Context) error { n.Add(1); return ctx.Err() }), n
}

// Case 2 of issue "Step 8": with a cold cache one read is a lookup and the
// read, and both take a slot of the account's rate limit, as does every
// page of a lookup or a listing and the XML retry. Each case uses a fresh
// client: nothing cached.
func TestClient_everyRequestTakesASlot_coldCache(t *testing.T) {
	lockState := func(ctx context.Context, c *Client) error { _, err := c.LockState(ctx, docDomain); return err }
	tests := []struct {
		name     string
		answers  func(t *testing.T) []providertest.Answer
		pageSize int
		call     func(ctx context.Context, c *Client) error
		want     int // requests, and so slots
	}{
		{
			name: "LockState",
			answers: func(t *testing.T) []providertest.Answer {
				return lookupThen(t, ok(t, "domaingetlockingstatus_locked.json"))
			},
			call: lockState,
			want: 2,
		},
		{
			name: "SetLock",
			answers: func(t *testing.T) []providertest.Answer {
				return lookupThen(t, ok(t, "domainupdatelockingstatus_success.json"))
			},
			call: func(ctx context.Context, c *Client) error { return c.SetLock(ctx, docDomain, true) },
			want: 2,
		},
		{
			name: "multi-page lookup",
			answers: func(t *testing.T) []providertest.Answer {
				return []providertest.Answer{ok(t, "getclientsdomains_lookuppage1.json"), ok(t, "getclientsdomains_lookuppage2.json"), ok(t, "domaingetlockingstatus_locked.json")}
			},
			pageSize: 2,
			call:     lockState,
			want:     3,
		},
		{
			name: "lookup answered as XML",
			answers: func(t *testing.T) []providertest.Answer {
				return []providertest.Answer{ok(t, "error_jsonencoding.json"), ok(t, "getclientsdomains_domain.xml"), ok(t, "domaingetlockingstatus_locked.json")}
			},
			call: lockState,
			want: 3,
		},
		{
			name: "stale id looked up again",
			answers: func(t *testing.T) []providertest.Answer {
				return []providertest.Answer{ok(t, "getclientsdomains_page1.json"), ok(t, "getclientsdomains_page2.json"),
					ok(t, "error_domainidnotfound.json"), ok(t, "getclientsdomains_duplicates.json"), ok(t, "domaingetlockingstatus_locked.json")}
			},
			pageSize: 3,
			call: func(ctx context.Context, c *Client) error {
				if _, errs := collect(c.Domains(ctx)); len(errs) != 0 {
					return errs[0]
				}
				return lockState(ctx, c)
			},
			want: 5,
		},
		{
			name: "listing",
			answers: func(t *testing.T) []providertest.Answer {
				return []providertest.Answer{ok(t, "getclientsdomains_page1.json"), ok(t, "getclientsdomains_page2.json")}
			},
			pageSize: 3,
			call: func(ctx context.Context, c *Client) error {
				if _, errs := collect(c.Domains(ctx)); len(errs) != 0 {
					return errs[0]
				}
				return nil
			},
			want: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, w := setup(t, tt.answers(t)...)
			if tt.pageSize > 0 {
				c.pageSize = tt.pageSize
			}
			ctx, slots := countingPacer()
			if err := tt.call(ctx, c); err != nil {
				t.Fatal(err)
			}
			if sent := len(w.Requests()); sent != tt.want || slots.Load() != int64(sent) {
				t.Errorf("%d requests sent, %d slots taken; want %d of each", sent, slots.Load(), tt.want)
			}
		})
	}
}

// A slot is taken before its request: a rate limit that says no sends
// nothing, and its error is the caller's.
func TestClient_pacerRefusalSendsNothing(t *testing.T) {
	c, w := setup(t, lookupThen(t, ok(t, "domaingetlockingstatus_locked.json"))...)
	refused := errors.New("no slot")
	ctx := providers.WithPacer(context.Background(), func(context.Context) error { return refused })
	if _, err := c.LockState(ctx, docDomain); !errors.Is(err, refused) {
		t.Errorf("LockState = %v, want the pacer's error", err)
	}
	if n := len(w.Requests()); n != 0 {
		t.Errorf("%d requests sent without a slot", n)
	}
}

// doRequest is the package's only way to the network, so that no request
// can skip its rate-limit slot: no other function builds or sends an HTTP
// request.
func TestClient_oneWayToTheNetwork(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	// Do and RoundTrip on anything; Get, Post, NewRequest... on the net/http
	// package or on the client's http field.
	anywhere := map[string]bool{"Do": true, "RoundTrip": true}
	onHTTP := map[string]bool{"Get": true, "Head": true, "Post": true, "PostForm": true, "NewRequest": true, "NewRequestWithContext": true}
	sends := func(sel *ast.SelectorExpr) bool {
		if anywhere[sel.Sel.Name] {
			return true
		}
		switch x := sel.X.(type) {
		case *ast.Ident:
			return x.Name == "http" && onHTTP[sel.Sel.Name]
		case *ast.SelectorExpr:
			return x.Sel.Name == "http" && onHTTP[sel.Sel.Name]
		}
		return false
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				if sel, ok := call.Fun.(*ast.SelectorExpr); ok && sends(sel) && fn.Name.Name != "doRequest" {
					t.Errorf("%s: %s calls %s: only doRequest may send requests", fset.Position(call.Pos()), fn.Name.Name, sel.Sel.Name)
				}
				return true
			})
		}
	}
}
