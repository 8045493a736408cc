package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
)

// maxCredentialSize bounds a credential file; systemd's own limit is 1 MiB.
const maxCredentialSize = 1 << 20

// WithCredentials wraps env (os.LookupEnv when nil) for Load: a ${NAME}
// that env does not set is read from the file $CREDENTIALS_DIRECTORY/NAME
// when there is one. systemd's LoadCredential=NAME:/path puts a secret
// there, readable by the service only, instead of in the environment
// (where it would show in /proc/PID/environ, `systemctl show` and child
// processes). One trailing newline (as editors leave) is dropped.
//
// CREDENTIALS_DIRECTORY is looked up through env too. A file that cannot
// be read counts as unset: the configuration error names the variable.
func WithCredentials(env func(string) (string, bool)) func(string) (string, bool) {
	if env == nil {
		env = os.LookupEnv
	}
	return func(name string) (string, bool) {
		if v, ok := env(name); ok {
			return v, true
		}
		dir, ok := env("CREDENTIALS_DIRECTORY")
		if !ok || dir == "" || !filepath.IsAbs(dir) || !isVarName(name) {
			return "", false
		}
		v, ok := readCredential(filepath.Join(dir, name))
		return v, ok
	}
}

func readCredential(path string) (string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return "", false
	}
	b, err := io.ReadAll(io.LimitReader(f, maxCredentialSize+1))
	if err != nil || len(b) > maxCredentialSize {
		return "", false
	}
	s := string(b)
	if strings.HasSuffix(s, "\n") {
		s = strings.TrimSuffix(strings.TrimSuffix(s, "\n"), "\r")
	}
	return s, true
}
