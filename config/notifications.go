package config

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/reglock/reglock/secret"
)

// Notification formats, the values of Notification.Format.
const (
	// FormatJSON is reglock's own JSON event (package notify documents it).
	FormatJSON = "json"
	// FormatSlack is a Slack incoming-webhook message: {"text": "..."}.
	FormatSlack = "slack"
)

// EventsAll in a notification's events stands for every kind of event.
const EventsAll = "*"

// NotificationEvents are the kinds of event a notification can subscribe
// to, in the order of their documentation. Package notify raises them; its
// Kind constants are these strings.
var NotificationEvents = []string{
	"drift_confirmed",    // a domain's lock differed from its intent on two readings
	"drift_fixed",        // reglock changed a lock back to its intent
	"fix_failed",         // a change failed permanently; the error is recorded on the domain
	"sweep_paused",       // the blast-radius guard held a sweep's fixes for an operator
	"sweep_finished",     // a sweep ended (done or paused), with its figures
	"breaker_opened",     // calls to a registrar account stopped (failing, or credentials refused)
	"breaker_closed",     // the account answers again
	"relock_done",        // an unlock window ended and the domain is locked again
	"relock_overdue",     // an unlock window ended without its relock: the janitor queued it
	"domain_gone",        // a domain is no longer in its registrar account
	"store_lost",         // the store lost its data (a Redis without persistence restarted)
	"transfer_pending",   // a transfer away is pending for a domain meant to be locked: act now
	"transferred",        // a domain unlocked for a transfer left the account: done, and forgotten
	"registry_disagrees", // the registry's record (RDAP) disagrees with the registrar: re-read
}

// minNotificationSecret is the shortest notification secret accepted, in
// characters: the secret is an HMAC key.
const minNotificationSecret = 16

// Notification is one webhook endpoint that hears reglock's events.
//
// Every delivery is signed with Secret (HMAC-SHA256 over a timestamp and
// the body, in the Reglock-Signature header), so the receiver can tell
// reglock's requests from anyone else's; see package notify.
type Notification struct {
	// Name names the endpoint in metrics, task IDs and status: 1 to 63 of
	// a-z, 0-9, '.', '_' and '-'. Default: the URL's host (with -<index>
	// if an earlier endpoint has that name).
	Name string `yaml:"name"`
	// URL is an absolute http:// or https:// URL without user info. It may
	// itself be a credential (a Slack webhook URL is): reglock shows only
	// its scheme and host.
	URL string `yaml:"url"`
	// Secret signs every delivery; at least 16 characters.
	Secret secret.String `yaml:"secret"`
	// Events are the kinds of event sent here (NotificationEvents), or "*";
	// empty means all.
	Events []string `yaml:"events"`
	// Format is FormatJSON (default) or FormatSlack.
	Format string `yaml:"format"`
}

func (n *Notification) setDefaults() { n.Format = FormatJSON }

// Wants reports whether the endpoint subscribes to events of kind.
func (n Notification) Wants(kind string) bool {
	return len(n.Events) == 0 || slices.Contains(n.Events, EventsAll) || slices.Contains(n.Events, kind)
}

// RedactedURL is the URL reduced to its scheme and host, for logs, errors
// and status: the path and query of a webhook URL are often its credential.
func (n Notification) RedactedURL() string { return RedactURL(n.URL) }

// RedactURL reduces a URL to its scheme and host ("https://hooks.slack.com"),
// adding "/…" if anything was left out.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return secret.Redacted
	}
	out := u.Scheme + "://" + u.Host
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		out += "/…"
	}
	return out
}

func (d *decoder) validateNotifications(ns []Notification) {
	// Names given first, so that a default never takes one of them.
	names := make(map[string]int)
	for i, n := range ns {
		path := "notifications[" + strconv.Itoa(i) + "].name"
		if !d.has(path) {
			continue
		}
		switch j, dup := names[n.Name]; {
		case !providerName.MatchString(n.Name):
			d.problemf(path, "invalid notification name %q (want 1 to 63 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit)", n.Name)
		case dup:
			d.problemf(path, "notification name %q already used by notifications[%d] (line %d)",
				n.Name, j, d.line(fmt.Sprintf("notifications[%d].name", j)))
		default:
			names[n.Name] = i
		}
	}
	for i := range ns {
		n := &ns[i]
		path := "notifications[" + strconv.Itoa(i) + "]"
		key := func(k string) string { return path + "." + k }

		if reason := checkWebhookURL(n.URL); reason != "" {
			d.problem(key("url"), reason)
			if d.skippedAt(key("url")) && !d.has(key("name")) {
				// Raising an event names its endpoint, in every process.
				d.problem(key("name"), "required when url's variable is not set in this process (the name would be its host): give the endpoint a name")
			}
		} else if !d.has(key("name")) {
			n.Name = defaultNotificationName(n.URL, i, names)
			names[n.Name] = i
		}

		// No reason here may quote the secret.
		switch s := n.Secret.Reveal(); {
		case s == "":
			d.problem(key("secret"), "required")
		case utf8.RuneCountInString(s) < minNotificationSecret:
			d.problemf(key("secret"), "secret too short (min %d characters)", minNotificationSecret)
		}

		for k, e := range n.Events {
			if e != EventsAll && !slices.Contains(NotificationEvents, e) {
				d.problemf(key("events["+strconv.Itoa(k)+"]"), "unknown event %q (known: %s, or * for all)",
					e, strings.Join(NotificationEvents, ", "))
			}
		}

		if n.Format != FormatJSON && n.Format != FormatSlack {
			d.problemf(key("format"), "unknown format %q (want json or slack)", n.Format)
		}
	}
}

// checkWebhookURL wants what a provider endpoint must be: an absolute
// http(s) URL with a host and no user info. No reason quotes it.
func checkWebhookURL(raw string) string {
	return checkURL(raw, "must not hold credentials (user:password@); receivers check the signature made with secret")
}

// defaultNotificationName is the URL's host as a name, made unique with
// -<index> when an earlier endpoint has it already.
func defaultNotificationName(raw string, i int, taken map[string]int) string {
	u, _ := url.Parse(raw) // checked already
	name := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		default:
			return '-'
		}
	}, strings.ToLower(u.Hostname()))
	name = strings.TrimLeft(name, "._-")
	if len(name) > 50 {
		name = name[:50]
	}
	if name == "" {
		name = "webhook"
	}
	for base, k := name, i; ; k++ {
		if _, dup := taken[name]; !dup {
			return name
		}
		name = base + "-" + strconv.Itoa(k)
	}
}
