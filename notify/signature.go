package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Headers of a delivery.
const (
	// SignatureHeader carries "t=<unix seconds>,v1=<hex HMAC-SHA256>".
	SignatureHeader = "Reglock-Signature"
	// EventIDHeader carries Event.ID: the same on every attempt.
	EventIDHeader = "Reglock-Event-Id"
	// EventHeader carries Event.Kind.
	EventHeader = "Reglock-Event"
)

// DefaultTolerance is how far a signature's timestamp may be from the
// receiver's clock when Verify is given no tolerance: Stripe's choice.
const DefaultTolerance = 5 * time.Minute

// Errors of Verify.
var (
	ErrNoSignature  = errors.New("notify: no signature (want t=<unix>,v1=<hex>)")
	ErrBadSignature = errors.New("notify: signature does not match the body")
	ErrTimestamp    = errors.New("notify: signature timestamp outside the tolerance")
)

// Sign returns the signature header of body sent at t:
// "t=<unix>,v1=<hex(HMAC-SHA256(secret, "<unix>.<body>"))>".
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a delivery as a receiver should: header is the
// Reglock-Signature header, body the raw request body (before any JSON
// decoding), now the receiver's clock. The timestamp must be within
// tolerance of now (DefaultTolerance if tolerance <= 0), so that a
// recorded request cannot be replayed later, and one of the v1 signatures
// must match; the comparison takes constant time.
func Verify(secret, header string, body []byte, tolerance time.Duration, now time.Time) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			if ts != "" {
				return ErrNoSignature // two timestamps: which one was signed?
			}
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrNoSignature
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrTimestamp
	}
	want := mac(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return ErrBadSignature
}
