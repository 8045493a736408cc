package providers

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{" 5 ", 5 * time.Second, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"99999999999999999999", 0, false},
		{"86400", MaxRetryAfter, true},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second, true},
		{now.Add(48 * time.Hour).Format(http.TimeFormat), MaxRetryAfter, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"tomorrow", 0, false},
	}
	for _, tt := range tests {
		got, ok := ParseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestHTTPStatusError(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	withRetry := http.Header{"Retry-After": {"7"}}
	tests := []struct {
		name      string
		code      int
		h         http.Header
		wantAfter time.Duration // 0: not a retry-after
	}{
		{"503 with Retry-After", http.StatusServiceUnavailable, withRetry, 7 * time.Second},
		{"429 with Retry-After", http.StatusTooManyRequests, withRetry, 7 * time.Second},
		{"503 without", http.StatusServiceUnavailable, http.Header{}, 0},
		{"429 with a bad Retry-After", http.StatusTooManyRequests, http.Header{"Retry-After": {"soon"}}, 0},
		{"500 with Retry-After", http.StatusInternalServerError, withRetry, 0},
		{"404", http.StatusNotFound, http.Header{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := HTTPStatusError(tt.code, tt.h, "<html>busy</html>", now)
			var se *StatusError
			if !errors.As(err, &se) || se.Code != tt.code || se.Body != "<html>busy</html>" {
				t.Fatalf("err = %v, want a *StatusError %d carrying the body", err, tt.code)
			}
			if IsPermanent(err) {
				t.Errorf("err = %v is permanent; an HTTP status outside the protocol is transient", err)
			}
			var ra *RetryAfterError
			gotAfter := time.Duration(0)
			if errors.As(err, &ra) {
				gotAfter = ra.After
			}
			if gotAfter != tt.wantAfter {
				t.Errorf("retry after = %v, want %v (err %v)", gotAfter, tt.wantAfter, err)
			}
		})
	}
}
