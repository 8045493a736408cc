package clock

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestReal_Sleep(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Real.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep on a cancelled context: %v, want context.Canceled", err)
	}
	if err := Real.Sleep(context.Background(), 0); err != nil {
		t.Fatalf("Sleep(0): %v", err)
	}
	start := time.Now()
	if err := Real.Sleep(context.Background(), 5*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 5*time.Millisecond {
		t.Fatal("Sleep returned early")
	}
}

func TestOr(t *testing.T) {
	if Or(nil) != Real {
		t.Fatal("Or(nil) is not Real")
	}
	var c Clock = real{}
	if Or(c) != c {
		t.Fatal("Or(c) is not c")
	}
}

func TestManual(t *testing.T) {
	at := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	m := NewManual(at)
	if err := m.Sleep(context.Background(), time.Hour); err != nil || !m.Now().Equal(at.Add(time.Hour)) {
		t.Fatalf("after Sleep(1h): %v, %v", m.Now(), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) || !m.Now().Equal(at.Add(time.Hour)) {
		t.Fatalf("Sleep on a cancelled context: %v, %v", m.Now(), err)
	}
	m.Add(-time.Hour)
	if !m.Now().Equal(at) {
		t.Fatalf("after Add(-1h): %v", m.Now())
	}
}
