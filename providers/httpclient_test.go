package providers

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
)

// countingReader counts what is read from it.
type countingReader struct {
	r    io.Reader
	read int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read += n
	return n, err
}

func (c *countingReader) Close() error { return nil }

func TestReadBody_bounded(t *testing.T) {
	at := bytes.Repeat([]byte("a"), MaxResponseBytes)
	cases := []struct {
		name          string
		body          []byte
		contentLength int64
		wantErr       bool
		maxRead       int
	}{
		{"small", []byte("<ok/>"), 5, false, 5},
		{"exactly the bound, length unknown", at, -1, false, MaxResponseBytes},
		{"one byte over, length unknown", append(at, 'b'), -1, true, MaxResponseBytes + 1},
		{"announced over the bound", append(at, 'b'), MaxResponseBytes + 1, true, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := &countingReader{r: bytes.NewReader(c.body)}
			got, err := ReadBody(&http.Response{Body: body, ContentLength: c.contentLength})
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, want error %v", err, c.wantErr)
			}
			if err != nil && !strings.Contains(err.Error(), "8 MiB") {
				t.Errorf("error %q does not say what the bound is", err)
			}
			if err == nil && len(got) != len(c.body) {
				t.Errorf("read %d bytes of %d", len(got), len(c.body))
			}
			if body.read > c.maxRead {
				t.Errorf("read %d bytes from the body, at most %d expected", body.read, c.maxRead)
			}
		})
	}
}
