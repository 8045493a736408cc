package notify_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/reglock/reglock/notify"
)

func TestVerify(t *testing.T) {
	const secret = "whsec-0123456789abcdef"
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"id":"sweep_paused:s1","kind":"sweep_paused"}`)
	good := notify.Sign(secret, now, body)
	if !strings.HasPrefix(good, "t=1800000000,v1=") || len(good) != len("t=1800000000,v1=")+64 {
		t.Fatalf("Sign = %q, want t=<unix>,v1=<64 hex digits>", good)
	}
	other := notify.Sign("another-secret-0123456789", now, body)
	tests := []struct {
		name      string
		secret    string
		header    string
		body      string
		tolerance time.Duration
		now       time.Time
		want      error
	}{
		{"good", secret, good, string(body), time.Minute, now, nil},
		{"good, clock a little ahead", secret, good, string(body), time.Minute, now.Add(59 * time.Second), nil},
		{"good, clock a little behind", secret, good, string(body), time.Minute, now.Add(-59 * time.Second), nil},
		{"spaces after commas", secret, strings.ReplaceAll(good, ",", ", "), string(body), time.Minute, now, nil},
		{"a second signature matches (rotation)", secret, other + "," + strings.Split(good, ",")[1], string(body), time.Minute, now, nil},
		{"body changed", secret, good, strings.Replace(string(body), "s1", "s2", 1), time.Minute, now, notify.ErrBadSignature},
		{"body with a trailing newline", secret, good, string(body) + "\n", time.Minute, now, notify.ErrBadSignature},
		{"another secret", secret, other, string(body), time.Minute, now, notify.ErrBadSignature},
		{"timestamp changed", secret, strings.Replace(good, "t=1800000000", "t=1800000001", 1), string(body), time.Minute, now, notify.ErrBadSignature},
		{"too old: a replay", secret, good, string(body), time.Minute, now.Add(61 * time.Second), notify.ErrTimestamp},
		{"from the future", secret, good, string(body), time.Minute, now.Add(-61 * time.Second), notify.ErrTimestamp},
		{"default tolerance 5m", secret, good, string(body), 0, now.Add(6 * time.Minute), notify.ErrTimestamp},
		{"default tolerance, within", secret, good, string(body), 0, now.Add(4 * time.Minute), nil},
		{"empty header", secret, "", string(body), time.Minute, now, notify.ErrNoSignature},
		{"no v1", secret, "t=1800000000", string(body), time.Minute, now, notify.ErrNoSignature},
		{"no t", secret, strings.Split(good, ",")[1], string(body), time.Minute, now, notify.ErrNoSignature},
		{"two timestamps", secret, "t=1," + good, string(body), time.Minute, now, notify.ErrNoSignature},
		{"v1 not hex", secret, "t=1800000000,v1=zz", string(body), time.Minute, now, notify.ErrNoSignature},
		{"truncated v1", secret, good[:len(good)-2], string(body), time.Minute, now, notify.ErrBadSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := notify.Verify(tc.secret, tc.header, []byte(tc.body), tc.tolerance, tc.now)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

// The signed string is "<t>.<body>", as the package documents for
// receivers in other languages.
func TestSign_documentedForm(t *testing.T) {
	// printf '1700000000.{}' | openssl dgst -sha256 -hmac key
	const want = "t=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
	if got := notify.Sign("key", time.Unix(1_700_000_000, 0), []byte("{}")); got != want {
		t.Errorf("Sign = %q, want %q", got, want)
	}
}
