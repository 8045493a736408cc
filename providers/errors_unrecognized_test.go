package providers

import (
	"errors"
	"fmt"
	"testing"
)

func TestUnrecognized(t *testing.T) {
	base := errors.New("enom: RRPCode 599: something new")
	err := fmt.Errorf("GetRegLock example.com: %w", Unrecognized(base))
	if !IsUnrecognized(err) || IsPermanent(err) || !errors.Is(err, base) {
		t.Fatalf("Unrecognized: unrecognized %v permanent %v", IsUnrecognized(err), IsPermanent(err))
	}
	if Unrecognized(nil) != nil || IsUnrecognized(base) {
		t.Fatal("Unrecognized(nil) or a plain error")
	}
	if !IsPermanent(Permanent(err)) || !IsUnrecognized(Permanent(err)) {
		t.Fatal("an unrecognized answer made permanent")
	}
}
