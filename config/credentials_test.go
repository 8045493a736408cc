package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWithCredentials(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"PLAIN":    "s3cret",
		"NEWLINE":  "s3cret\n",
		"CRLF":     "s3cret\r\n",
		"TWO":      "s3cret\n\n",
		"EMPTY":    "",
		"SPACES":   "  s3cret  ",
		"BOTH":     "from-file",
		"TOO_LONG": strings.Repeat("x", maxCredentialSize+1),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "A_DIR"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(t.TempDir(), "OUTSIDE"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"CREDENTIALS_DIRECTORY": dir, "BOTH": "from-env", "SET_EMPTY": ""}
	lookup := WithCredentials(envOf(env))
	for _, c := range []struct {
		name string
		want string
		ok   bool
	}{
		{"PLAIN", "s3cret", true},
		{"NEWLINE", "s3cret", true},    // as an editor or `echo` leaves it
		{"CRLF", "s3cret", true},       // and a Windows editor
		{"TWO", "s3cret\n", true},      // one newline only: the rest is the value's
		{"EMPTY", "", true},            // set, to "": validation says what it thinks of that
		{"SPACES", "  s3cret  ", true}, // spaces may be part of a password
		{"BOTH", "from-env", true},     // the environment wins
		{"SET_EMPTY", "", true},        // even when empty
		{"MISSING", "", false},
		{"A_DIR", "", false},
		{"TOO_LONG", "", false},
		{"../OUTSIDE", "", false}, // never a path: config only looks up ${NAME}s, but still
	} {
		if got, ok := lookup(c.name); got != c.want || ok != c.ok {
			t.Errorf("%s: got %q, %v; want %q, %v", c.name, got, ok, c.want, c.ok)
		}
	}

	// Without CREDENTIALS_DIRECTORY (not under systemd, or no
	// LoadCredential=), or with a relative one, only the environment counts.
	for _, e := range []map[string]string{{}, {"CREDENTIALS_DIRECTORY": ""}, {"CREDENTIALS_DIRECTORY": "relative/dir"}} {
		if v, ok := WithCredentials(envOf(e))("PLAIN"); ok {
			t.Errorf("CREDENTIALS_DIRECTORY=%q: PLAIN = %q, want unset", e["CREDENTIALS_DIRECTORY"], v)
		}
	}

	// nil is os.LookupEnv, as for Load.
	t.Setenv("CREDENTIALS_DIRECTORY", dir)
	t.Setenv("RGL_TEST_FROM_ENV", "e")
	if v, ok := WithCredentials(nil)("PLAIN"); v != "s3cret" || !ok {
		t.Errorf("WithCredentials(nil)(PLAIN) = %q, %v", v, ok)
	}
	if v, ok := WithCredentials(nil)("RGL_TEST_FROM_ENV"); v != "e" || !ok {
		t.Errorf("WithCredentials(nil)(RGL_TEST_FROM_ENV) = %q, %v", v, ok)
	}
}

// Through Load: ${NAME} comes from a credential file, and a missing one is
// the usual configuration error naming it.
func TestLoad_withCredentials(t *testing.T) {
	creds := t.TempDir()
	if err := os.WriteFile(filepath.Join(creds, "ENOM_PW"), []byte("pw from a credential\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "reglock.yaml")
	src := strings.Replace(enom, "password: p", "password: ${ENOM_PW}", 1)
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(file, WithCredentials(envOf(map[string]string{"CREDENTIALS_DIRECTORY": creds})))
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Providers[0].Password.Reveal(); got != "pw from a credential" {
		t.Errorf("providers[0].password = %q", got)
	}

	_, err = Load(file, WithCredentials(envOf(map[string]string{"CREDENTIALS_DIRECTORY": t.TempDir()})))
	if err == nil || !strings.Contains(err.Error(), "ENOM_PW is not set") {
		t.Errorf("no credential file: %v, want ENOM_PW is not set", err)
	}
}
