package providers

import (
	"context"
	"errors"
	"iter"
	"net/netip"
	"slices"
	"testing"
)

type fakeBase struct{}

func (fakeBase) LockState(context.Context, string) (State, error) { return State{Locked: true}, nil }
func (fakeBase) SetLock(context.Context, string, bool) error      { return nil }

type fakeTrade struct{}

func (fakeTrade) SetTradeLock(context.Context, string, bool, netip.Addr) error { return nil }

type fakeList struct{}

func (fakeList) Domains(context.Context) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for _, d := range []string{"a.com", "b.com"} {
			if !yield(d, nil) {
				return
			}
		}
		yield("", errors.New("page 2 failed"))
	}
}

type fakeBulk struct{}

func (fakeBulk) LockStates(context.Context) iter.Seq2[DomainState, error] {
	return func(yield func(DomainState, error) bool) { yield(DomainState{Domain: "a.com"}, nil) }
}

// Every combination of optional abilities survives wrapping, and the
// middleware sees every call once.
func TestWrap_keepsAbilities(t *testing.T) {
	type combo struct{ trade, list, bulk bool }
	for _, c := range []combo{{}, {true, false, false}, {false, true, false}, {false, false, true}, {true, true, false}, {true, false, true}, {false, true, true}, {true, true, true}} {
		var r Registrar = fakeBase{}
		switch c {
		case combo{true, false, false}:
			r = struct {
				fakeBase
				fakeTrade
			}{}
		case combo{false, true, false}:
			r = struct {
				fakeBase
				fakeList
			}{}
		case combo{false, false, true}:
			r = struct {
				fakeBase
				fakeBulk
			}{}
		case combo{true, true, false}:
			r = struct {
				fakeBase
				fakeTrade
				fakeList
			}{}
		case combo{true, false, true}:
			r = struct {
				fakeBase
				fakeTrade
				fakeBulk
			}{}
		case combo{false, true, true}:
			r = struct {
				fakeBase
				fakeList
				fakeBulk
			}{}
		case combo{true, true, true}:
			r = struct {
				fakeBase
				fakeTrade
				fakeList
				fakeBulk
			}{}
		}
		var ops []string
		w := Wrap(r, func(ctx context.Context, op, _ string, call func(context.Context) error) error {
			ops = append(ops, op)
			return call(ctx)
		})
		_, isTrade := w.(TradeLocker)
		_, isList := w.(Lister)
		_, isBulk := w.(BulkReader)
		if (combo{isTrade, isList, isBulk}) != c {
			t.Errorf("wrapping %+v gave abilities %v %v %v", c, isTrade, isList, isBulk)
		}
		ctx := context.Background()
		if st, _ := w.LockState(ctx, "a.com"); !st.Locked {
			t.Error("LockState result lost")
		}
		w.SetLock(ctx, "a.com", true)
		want := []string{"lock_state", "set_lock"}
		if isTrade {
			w.(TradeLocker).SetTradeLock(ctx, "a.com", false, netip.MustParseAddr("203.0.113.7"))
			want = append(want, "set_trade_lock")
		}
		if isList {
			var got []string
			var lastErr error
			for d, err := range w.(Lister).Domains(ctx) {
				if err != nil {
					lastErr = err
					continue
				}
				got = append(got, d)
			}
			if !slices.Equal(got, []string{"a.com", "b.com"}) || lastErr == nil {
				t.Errorf("listing through the wrapper: %v, %v", got, lastErr)
			}
			want = append(want, "list")
		}
		if isBulk {
			for range w.(BulkReader).LockStates(ctx) {
			}
			want = append(want, "bulk_read")
		}
		if !slices.Equal(ops, want) {
			t.Errorf("%+v: middleware saw %v, want %v", c, ops, want)
		}
	}
}
