package enom

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/providertest"
)

// rrpAnswer is the GetRegLock document's answer envelope carrying an error
// in RRPCode/RRPText alone, with no Err1, as WWW::eNom's GetRegLock mocks
// have it ({ErrCount => 1, RRPText => '...'}; the client reads GetRegLock's
// errors from RRPText, having met them on eNom's test service). An empty
// code or text leaves the element out.
func rrpAnswer(errCount int, code, text string) providertest.Answer {
	var b strings.Builder
	b.WriteString("<?xml version=\"1.0\"?>\n<interface-response>\n<registrar>eNom</registrar>\n")
	if code != "" {
		fmt.Fprintf(&b, "<RRPCode>%s</RRPCode>\n", code)
	}
	if text != "" {
		fmt.Fprintf(&b, "<RRPText>%s</RRPText>\n", text)
	}
	fmt.Fprintf(&b, `<Command>GETREGLOCK</Command>
<Language>eng</Language>
<ErrCount>%d</ErrCount>
<ResponseCount>0</ResponseCount>
<MinPeriod/>
<MaxPeriod>10</MaxPeriod>
<Server>sjl21wresellt01</Server>
<Site>eNom</Site>
<IsLockable/>
<IsRealTimeTLD/>
<TimeDifference>+8.00</TimeDifference>
<ExecTime>0.563</ExecTime>
<Done>true</Done>
<debug/>
<TrackingKey>95f6daeb-3bd3-4bf3-a97f-e82be665edc2</TrackingKey>
<RequestDateTime>12/9/2011 2:28:08 AM</RequestDateTime>
</interface-response>
`, errCount)
	return providertest.Answer{Body: []byte(b.String())}
}

// verdict is what an answer must mean.
type verdict int

const (
	vNotFound     verdict = iota // permanent ErrNotFound
	vNotPermitted                // permanent ErrNotPermitted
	vRefused                     // permanent ErrRefused
	vBusy                        // *RetryAfterError
	vTransient                   // retried: not permanent, not unrecognized, not ErrAuth
	vInvalid                     // permanent, not one of the sentinels
	vUnrecognized                // providers.Unrecognized
	vAuth                        // permanent ErrAuth
)

func assertVerdict(t *testing.T, err error, want verdict) {
	t.Helper()
	var ra *providers.RetryAfterError
	isRA := errors.As(err, &ra)
	sentinel := errors.Is(err, providers.ErrNotFound) || errors.Is(err, providers.ErrNotPermitted) ||
		errors.Is(err, providers.ErrRefused) || errors.Is(err, providers.ErrAuth) || errors.Is(err, providers.ErrNotLockable)
	perm, unrec := providers.IsPermanent(err), providers.IsUnrecognized(err)
	var ok bool
	switch want {
	case vNotFound:
		ok = errors.Is(err, providers.ErrNotFound) && perm
	case vNotPermitted:
		ok = errors.Is(err, providers.ErrNotPermitted) && perm
	case vRefused:
		ok = errors.Is(err, providers.ErrRefused) && perm
	case vAuth:
		ok = errors.Is(err, providers.ErrAuth) && perm
	case vBusy:
		ok = isRA && ra.After > 0 && !perm
	case vTransient:
		ok = err != nil && !perm && !unrec && !isRA && !sentinel
	case vInvalid:
		ok = perm && !sentinel && !unrec
	case vUnrecognized:
		ok = unrec && !perm && !sentinel
	}
	if !ok {
		t.Errorf("err = %v (permanent %v, unrecognized %v, retry-after %v); want verdict %d", err, perm, unrec, isRA, want)
	}
}

// TestClient_rrpCodeWithoutErr1 holds the RRPCode table (errors.go) row by
// row: an eNom error that arrives in RRPCode/RRPText with no Err1 is
// classified, never retried for ever as "ErrCount > 0, no text". Codes are
// RFC 2832's (RRP, listed on eNom's "RRP Return Codes" page) and RFC 5730's
// (EPP, whose texts WWW::eNom matches in RRPText).
func TestClient_rrpCodeWithoutErr1(t *testing.T) {
	tests := []struct {
		errCount   int
		code, text string
		want       verdict
	}{
		// WWW::eNom's GetRegLock rules, texts alone.
		{1, "", "Object does not exist", vNotFound},
		{1, "", "Authorization error", vNotFound},
		{1, "", "Command blocked", vRefused},
		{1, "", "Object status prohibits operation", vNotPermitted},
		// EPP codes with their RFC 5730 texts.
		{1, "2303", "Object does not exist", vNotFound},
		{1, "2201", "Authorization error", vNotFound},
		{1, "2304", "Object status prohibits operation", vNotPermitted},
		{1, "2300", "Object pending transfer", vTransient},
		{1, "2400", "Command failed", vTransient},
		{1, "2500", "Command failed; server closing connection", vTransient},
		{1, "2200", "Authentication error", vTransient}, // eNom's login at the registry, not this account's
		{1, "2501", "Authentication error; server closing connection", vTransient},
		{1, "2502", "Session limit exceeded; server closing connection", vBusy},
		{1, "2005", "Parameter value syntax error", vInvalid},
		{1, "2003", "Required parameter missing", vInvalid},
		// RRP codes with their RFC 2832 texts.
		{1, "545", "Entity reference not found", vNotFound},
		{1, "531", "Authorization failed", vNotFound},
		{1, "552", "Domain status does not allow for operation", vNotPermitted},
		{1, "544", "Entity on hold", vNotPermitted},
		{1, "553", "Operation not allowed. Domain pending transfer", vTransient},
		{1, "420", "Command failed due to server error. Server closing connection", vTransient},
		{1, "421", "Command failed due to server error. Client should try again", vTransient},
		{1, "520", "Server closing connection. Client should try opening new connection", vTransient},
		{1, "549", "Command failed", vTransient},
		{1, "530", "Authentication failed", vTransient}, // eNom's session at the registry
		{1, "535", "Restricted IP address", vTransient}, // eNom's address at the registry
		{1, "521", "Too many sessions open. Server closing connection", vBusy},
		{1, "505", "Invalid attribute value syntax", vInvalid},
		{1, "541", "Invalid attribute value", vInvalid},
		// A code alone, without RRPText.
		{1, "2303", "", vNotFound},
		{1, "421", "", vTransient},
		// The code decides over a text that says otherwise.
		{1, "2303", "Command blocked", vNotFound},
		// A failure code with ErrCount 0 is still a failure.
		{0, "2303", "Object does not exist", vNotFound},
		{0, "545", "Entity reference not found", vNotFound},
		// Nothing to go on, or nothing known: Unrecognized (retried a few
		// times, then reported), not transient for ever.
		{1, "", "", vUnrecognized},
		{2, "", "", vUnrecognized},
		{1, "200", "Command completed successfully", vUnrecognized},
		{1, "599", "Something new", vUnrecognized},
		{1, "2999", "", vUnrecognized},
		{1, "", "Something new", vUnrecognized},
		{1, "abc", "", vUnrecognized},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("ErrCount %d RRPCode %q RRPText %q", tt.errCount, tt.code, tt.text), func(t *testing.T) {
			c, _ := setup(t, rrpAnswer(tt.errCount, tt.code, tt.text))
			_, err := c.LockState(context.Background(), "resellerdocs.com")
			assertVerdict(t, err, tt.want)
			if tt.text != "" && !strings.Contains(err.Error(), tt.text) {
				t.Errorf("err = %q, want it to carry RRPText", err)
			}
		})
	}
}

// A success code with ErrCount 0 is an answer, whatever else RRPText says.
func TestClient_rrpSuccess(t *testing.T) {
	for _, code := range []string{"200", "1000", ""} {
		c, _ := setup(t, edited(t, "getreglock_locked.xml", "<RRPCode>200</RRPCode>", "<RRPCode>"+code+"</RRPCode>"))
		if st, err := c.LockState(context.Background(), "resellerdocs.com"); err != nil || !st.Locked {
			t.Errorf("RRPCode %q: LockState = %+v, %v; want locked", code, st, err)
		}
	}
}

// eNom's own error texts and ResponseNumbers: the numbers alone are enough
// (eNom's troubleshooting article gives 304155 for bad credentials and
// 713254 for a caller outside the IP allow-list), and unknown texts are
// Unrecognized unless they say to try again.
func TestClient_errorTexts(t *testing.T) {
	answer := func(err1, number, str string) providertest.Answer {
		b := "<interface-response><Command>GETREGLOCK</Command><ErrCount>1</ErrCount>"
		if err1 != "" {
			b += "<errors><Err1>" + err1 + "</Err1></errors>"
		}
		if number != "" || str != "" {
			b += "<ResponseCount>1</ResponseCount><responses><response><ResponseNumber>" + number +
				"</ResponseNumber><ResponseString>" + str + "</ResponseString></response></responses>"
		}
		return providertest.Answer{Body: []byte(b + "<Done>true</Done></interface-response>")}
	}
	tests := []struct {
		name                 string
		err1, number, string string
		want                 verdict
	}{
		{"bad login by number", "Login failed", "304155", "Validation error; invalid ; loginid", vAuth},
		{"IP by number", "Access denied", "713254", "Policy error; unauthorized; user(s)", vAuth},
		{"IP with the caller's address", "User not permitted from this IP address - 203.0.113.7", "", "", vAuth},
		{"IP, another wording", "Invalid client IP: 203.0.113.7", "", "", vAuth},
		{"not found by number", "Validation error", "316153", "", vNotFound},
		{"unknown text", "Account not found in database.", "", "", vUnrecognized},
		{"unknown number", "Something", "620397", "System error; failed ; CSR", vUnrecognized},
		{"try again", "An unexpected error has occurred. Please try again later.", "", "", vTransient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := setup(t, answer(tt.err1, tt.number, tt.string))
			_, err := c.LockState(context.Background(), "resellerdocs.com")
			assertVerdict(t, err, tt.want)
		})
	}
}
