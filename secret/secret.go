// Package secret holds credentials so that they cannot leak by accident.
//
// A secret.String prints as "[redacted]" through fmt, JSON, YAML and zerolog;
// the only way to read it is Reveal, which makes every use greppable.
package secret

import "fmt"

// Redacted is what a secret prints as.
const Redacted = "[redacted]"

// String is a credential: an API token, password or key.
type String string

// Reveal returns the secret value. Call it only where the value goes on the wire.
func (s String) Reveal() string { return string(s) }

// IsZero reports whether no secret is set.
func (s String) IsZero() bool { return s == "" }

// String implements fmt.Stringer without disclosing the value.
func (s String) String() string {
	if s == "" {
		return ""
	}
	return Redacted
}

// GoString keeps %#v from printing the value.
func (s String) GoString() string { return fmt.Sprintf("secret.String(%q)", s.String()) }

// Format covers every fmt verb, including %s, %v, %q and %x.
func (s String) Format(f fmt.State, verb rune) {
	switch verb {
	case 'q':
		fmt.Fprintf(f, "%q", s.String())
	default:
		fmt.Fprint(f, s.String())
	}
}

// MarshalText keeps encoding/json, yaml and zerolog from printing the value.
func (s String) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
