package tasks

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/hibiken/asynq"
)

// FuzzDecode feeds arbitrary payloads to every task type, as a producer that
// enqueues with asynq directly might. Decode never panics; what it accepts
// is normalised (a domain NormalizeDomain leaves alone) and survives a round
// trip through JSON unchanged; what it refuses names the problem.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"domain":"example.com","provider":"enom-main","requested_at":"2026-11-22T12:00:00Z"}`,
		`{"domain":"Bücher.DE.","generation":3,"reason":"paid","cause":"sweep"}`,
		`{"domain":"example.com","relock_after":"72h"}`,
		`{"domain":"example.com","relock_after":"-1h"}`,
		`{"domain":"example.com","enable":true,"consent_ip":"203.0.113.7"}`,
		`{"domain":"example.com","enable":true,"consent_ip":"::ffff:203.0.113.7%eth0"}`,
		`{"domain":"example.com","confirm":true}`,
		`{"sweep_id":"sweep-1","phase":"unit","unit":"c17"}`,
		`{"domain":"exa_mple.com"}`,
		`{"domain":"example.com","generation":-1}`,
		`{"domain":"example.com","requested_at":"0001-01-01T00:00:00Z"}`,
		`{"domain":7}`,
		`[]`,
		`null`,
		``,
	} {
		for typ := range 5 {
			f.Add(uint8(typ), []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, typ uint8, payload []byte) {
		var p interface{ Validate() error }
		var name string
		switch typ % 5 {
		case 0:
			p, name = &LockPayload{}, TypeLock
		case 1:
			p, name = &UnlockPayload{}, TypeUnlock
		case 2:
			p, name = &TradeLockPayload{}, TypeTradeLock
		case 3:
			p, name = &CheckPayload{}, TypeCheck
		default:
			p, name = &SweepPayload{}, TypeSweep
		}
		err := Decode(asynq.NewTask(name, payload), p)
		if err != nil {
			var fe *FieldError
			if errors.As(err, &fe) && (fe.Field == "" || fe.Reason == "") {
				t.Fatalf("a field error that names nothing: %#v", fe)
			}
			if err.Error() == "" {
				t.Fatal("an empty error")
			}
			return
		}
		var domain string
		switch v := p.(type) {
		case *LockPayload:
			domain = v.Domain
		case *UnlockPayload:
			domain = v.Domain
		case *TradeLockPayload:
			domain = v.Domain
		case *CheckPayload:
			domain = v.Domain
		}
		if domain != "" {
			if n, err := NormalizeDomain(domain); err != nil || n != domain {
				t.Fatalf("accepted domain %q is not normal: %q %v", domain, n, err)
			}
		}
		again, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("an accepted payload does not encode: %v", err)
		}
		q := reflect.New(reflect.TypeOf(p).Elem()).Interface().(interface{ Validate() error })
		if err := Decode(asynq.NewTask(name, again), q); err != nil {
			t.Fatalf("re-encoded payload %s refused: %v", again, err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("round trip changed the payload:\n%#v\n%#v", p, q)
		}
	})
}
