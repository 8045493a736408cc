package simulator

// The OpenSRS XCP API, after protocols.md "Simulator notes (OpenSRS)" and
// the modify_trade_lock_setting document: signed OPS envelopes POSTed to
// one URL, a reply envelope at HTTP 200 for every API-level answer, with
// is_success, response_code and response_text, and a dropped connection
// for callers that fail authentication (what a caller outside the IP
// allow-list sees) unless Options.OpenSRSBadAuthReply asks for an XCP error.

import (
	"bytes"
	"cmp"
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/reglock/reglock/providers/opensrs/ops"
)

// OpenSRS's response texts. The trade lock pattern and "Modify type not
// specified" / "No Domain Supplied" come from the documents; the codes
// come from protocols.md; the other texts are this simulator's.
const (
	osrsAuthError     = "Authentication Error."
	osrsQueryOK       = "Query Successful"
	osrsCommandOK     = "Command successful"
	osrsNotFound      = "Domain not found"
	osrsNoDomain      = "No Domain Supplied"
	osrsNoModifyType  = "Modify type not specified"
	osrsProcessing    = "Domain is in a processing state; try again later"
	osrsNotLockable   = "Registrar lock is not supported for this TLD"
	osrsInternalError = "Internal server error"
	osrsBusy          = "Another request is already waiting on this domain; try again later"
	osrsRateLimited   = "Exceeded maximum command rate; try again later"
	// The document's answer is osrsTradeLockHead + "enabled" or "disabled" +
	// osrsTradeLockMiddle + the address + ")".
	osrsTradeLockHead   = "Command successful: The 60-day trade hold has been "
	osrsTradeLockMiddle = " (by reseller (via API); Supplied IP address: "

	// osrsRegistryLocked passes on the registry's refusal of an update
	// under its own lock with EPP 2304's text, as code 435 and in the
	// words of a recorded 435 for a registry's refusal [sim].
	osrsRegistryLocked = "Request failed validation: Object status prohibits operation"
)

// The request log's Outcome for a signature that does not match, in the
// default mode where the connection is dropped.
const osrsDroppedAuth = "bad signature: connection dropped"

// The actions this simulator implements, as the log's Op spells them.
const (
	osrsGet          = "get"
	osrsModify       = "modify"
	osrsTradeLock    = "modify_trade_lock_setting"
	osrsListByExpiry = "get_domains_by_expiredate"
)

const (
	// osrsDateLayout is exp_from's and exp_to's format (the document's
	// YYYY-MM-DD); osrsExpiryLayout is expiredate's.
	osrsDateLayout   = "2006-01-02"
	osrsExpiryLayout = "2006-01-02 15:04:05"
	// get_domains_by_expiredate's limit when none is given, and the most it
	// answers at once: not documented, the simulator's choice.
	osrsDefaultLimit = 40
	osrsMaxLimit     = 1000
	// osrsMaxRequestBody bounds a request; the largest is a few hundred
	// bytes.
	osrsMaxRequestBody = 64 << 10
)

// The response codes this simulator answers (protocols.md "Response codes").
const (
	osrsOK              = 200
	osrsCodeRateLimit   = 300
	osrsCodeInternal    = 400
	osrsCodeAuth        = 415
	osrsCodeInvalidCmd  = 430
	osrsCodeDenied      = 435
	osrsCodeBusy        = 437
	osrsCodeMissing     = 460
	osrsCodeInvalidData = 465
	osrsCodeNotFound    = 480
	osrsCodeProcessing  = 486
)

var (
	osrsContentType = []string{"text/xml"}
	osrsHTMLType    = []string{"text/html; charset=utf-8"}
)

// osrsCall is a request as read from its envelope.
type osrsCall struct {
	// action is the lower-cased action; the log's Op.
	action string
	// domain is the lower-cased domain the call names, "" for account-level
	// calls.
	domain string
	attrs  ops.Assoc
	// code and text are set when the request cannot be served as it stands:
	// not an envelope, not XCP, not a domain command.
	code int
	text string
}

func (c *osrsCall) write() bool { return c.action == osrsModify || c.action == osrsTradeLock }

// osrsResult is what a command answers, before rendering.
type osrsResult struct {
	code  int
	text  string
	attrs ops.Assoc // nil: no attributes
	// outcome overrides the log's Outcome (an injected fault that still
	// answered).
	outcome string
}

func osrsFail(code int, text string) *osrsResult { return &osrsResult{code: code, text: text} }

func (r *osrsResult) success() bool { return r.code < 300 }

// logOutcome is the request log's Outcome: "ok" or the response text.
func (r *osrsResult) logOutcome() string {
	switch {
	case r.outcome != "":
		return r.outcome
	case r.success():
		return "ok"
	}
	return r.text
}

// Request bodies and answers are recycled: the hot path is thousands of
// small get/modify calls a second.
var (
	osrsRequestBufs = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, 2048)) }}
	osrsAnswerBufs  = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}
)

// serveOpenSRS answers /opensrs/.
func (s *Simulator) serveOpenSRS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	in := osrsRequestBufs.Get().(*bytes.Buffer)
	in.Reset()
	defer osrsRequestBufs.Put(in)
	if _, err := in.ReadFrom(http.MaxBytesReader(w, r.Body, osrsMaxRequestBody)); err != nil {
		http.Error(w, "request body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	user := r.Header.Get("X-Username")
	a := s.osrsAuthenticate(user, r.Header.Get("X-Signature"), in.Bytes())
	call := osrsRead(in.Bytes())
	if a == nil {
		if !s.opts.OpenSRSBadAuthReply {
			s.osrsRecord(user, call, osrsDroppedAuth)
			osrsDrop(w)
			return
		}
		s.osrsRecord(user, call, osrsAuthError)
		s.writeOpenSRS(w, osrsFail(osrsCodeAuth, osrsAuthError), false)
		return
	}
	fault, ok := a.begin(r)
	if !ok {
		s.osrsRecord(a.user, call, "canceled")
		return
	}
	if fault != "" && fault != FaultFalseUnlocked {
		// A fault stands in for the command: nothing is read or changed.
		s.osrsRecord(a.user, call, string(fault))
		s.serveOpenSRSFault(w, fault)
		return
	}
	res := s.osrsCommand(a, call, fault == FaultFalseUnlocked)
	s.osrsRecord(a.user, call, res.logOutcome())
	s.writeOpenSRS(w, res, false)
}

// osrsAuthenticate returns the account whose key signs body to sig, or nil.
// The signature is md5_hex(md5_hex(body + key) + key); its hex is compared
// without regard to case.
func (s *Simulator) osrsAuthenticate(user, sig string, body []byte) *Account {
	s.mu.RLock()
	a := s.accounts[accountKey{OpenSRS, user}]
	var key string
	if a != nil {
		key = a.password
	}
	s.mu.RUnlock()
	want := osrsSign(body, key)
	var got [2 * md5.Size]byte
	if len(sig) != len(got) {
		return nil
	}
	for i := range got {
		c := sig[i]
		if 'A' <= c && c <= 'F' {
			c += 'a' - 'A'
		}
		got[i] = c
	}
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 || a == nil {
		return nil
	}
	return a
}

// osrsSign is the double MD5 of body with key, in lowercase hex.
func osrsSign(body []byte, key string) [2 * md5.Size]byte {
	h := md5.New()
	h.Write(body)
	io.WriteString(h, key)
	var inner, outer [2 * md5.Size]byte
	var sum [md5.Size]byte
	hex.Encode(inner[:], h.Sum(sum[:0]))
	h.Reset()
	h.Write(inner[:])
	io.WriteString(h, key)
	hex.Encode(outer[:], h.Sum(sum[:0]))
	return outer
}

// osrsRead decodes a request envelope and reads what every command shares:
// protocol XCP, object domain, the action and the attributes. Names are
// compared without regard to case, as the documents and toolkits mix
// DOMAIN and domain.
func osrsRead(body []byte) *osrsCall {
	call := &osrsCall{}
	v, err := ops.Decode(body)
	if err != nil {
		call.code, call.text = osrsCodeInvalidData, "Invalid request: "+err.Error()
		return call
	}
	top := v.Assoc()
	call.action = strings.ToLower(strings.TrimSpace(top.Text("action")))
	call.attrs = top.Get("attributes").Assoc()
	switch call.action {
	case osrsModify:
		call.domain = osrsDomainName(cmp.Or(call.attrs.Text("domain"), call.attrs.Text("domain_name")))
	case osrsListByExpiry:
	default:
		call.domain = osrsDomainName(call.attrs.Text("domain"))
	}
	switch {
	case v.Kind() != ops.KindAssoc:
		call.code, call.text = osrsCodeInvalidData, "Invalid request: the data block is not a dt_assoc"
	case !strings.EqualFold(strings.TrimSpace(top.Text("protocol")), "XCP"):
		call.code, call.text = osrsCodeInvalidCmd, "Invalid Command: protocol must be XCP"
	case !strings.EqualFold(strings.TrimSpace(top.Text("object")), "domain"):
		call.code, call.text = osrsCodeInvalidCmd, "Invalid Command: object "+top.Text("object")
	case call.action == "":
		call.code, call.text = osrsCodeInvalidCmd, "Invalid Command: no action"
	}
	return call
}

// osrsDomainName is a domain attribute as the inventory keys it.
func osrsDomainName(s string) string {
	return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "."))
}

// osrsRecord logs a call.
func (s *Simulator) osrsRecord(user string, call *osrsCall, outcome string) {
	s.record(Request{Kind: OpenSRS, Account: user, Op: call.action, Domain: call.domain, Write: call.write(), Outcome: outcome})
}

// osrsDrop closes the connection without an answer.
func osrsDrop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// serveOpenSRSFault answers with an injected fault.
func (s *Simulator) serveOpenSRSFault(w http.ResponseWriter, f Fault) {
	switch f {
	case FaultUnavailable:
		w.Header()["Content-Type"] = osrsHTMLType
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("<html><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1></body></html>\n"))
	case FaultBusy:
		s.writeOpenSRS(w, osrsFail(osrsCodeBusy, osrsBusy), false)
	case FaultRateLimited:
		s.writeOpenSRS(w, osrsFail(osrsCodeRateLimit, osrsRateLimited), false)
	case FaultMalformed:
		// The envelope of a successful answer, cut off half way.
		s.writeOpenSRS(w, &osrsResult{code: osrsOK, text: osrsCommandOK}, true)
	case FaultHuge:
		writeHuge(w, "text/xml", `<?xml version='1.0' encoding='UTF-8' standalone='no' ?><!DOCTYPE OPS_envelope SYSTEM 'ops.dtd'><OPS_envelope><body><data_block><dt_assoc><item key="response_text">`)
	case FaultDrop:
		osrsDrop(w)
	default: // FaultError, and any fault this protocol has no rendering for
		s.writeOpenSRS(w, osrsFail(osrsCodeInternal, osrsInternalError), false)
	}
}

// osrsCommand runs one authenticated call; falseUnlocked makes a status
// read answer "unlocked" (FaultFalseUnlocked).
func (s *Simulator) osrsCommand(a *Account, call *osrsCall, falseUnlocked bool) *osrsResult {
	if call.code != 0 {
		return osrsFail(call.code, call.text)
	}
	switch call.action {
	case osrsGet:
		return s.osrsGetStatus(a, call, falseUnlocked)
	case osrsModify:
		return s.osrsModifyStatus(a, call)
	case osrsTradeLock:
		return s.osrsTradeLock(a, call)
	case osrsListByExpiry:
		return s.osrsListByExpiry(a, call)
	}
	return osrsFail(osrsCodeInvalidCmd, "Invalid Command: "+call.action)
}

// osrsGetStatus is get with type=status.
func (s *Simulator) osrsGetStatus(a *Account, call *osrsCall, falseUnlocked bool) *osrsResult {
	switch typ := strings.TrimSpace(call.attrs.Text("type")); {
	case call.domain == "":
		return osrsFail(osrsCodeMissing, osrsNoDomain)
	case typ == "":
		return osrsFail(osrsCodeMissing, "Missing required field: type")
	case !strings.EqualFold(typ, "status"):
		return osrsFail(osrsCodeInvalidData, "Invalid type: "+typ+" (this simulator answers type status only)")
	}
	s.mu.Lock()
	d, ok := s.lookup(a, call.domain)
	var locked, pending, registryLocked bool
	if ok {
		d.reads++
		locked, pending, registryLocked = d.locked, d.busy(), d.registryLocked
	}
	s.mu.Unlock()
	if !ok {
		return s.osrsNotHeld()
	}
	res := &osrsResult{code: osrsOK, text: osrsQueryOK}
	if falseUnlocked {
		locked, res.outcome = false, string(FaultFalseUnlocked)
	}
	// What domain_supports holds is not documented; here it says whether
	// the TLD offers a registrar lock. A pending domain is shown as a
	// transfer away in progress, which the registry does not let change;
	// nor does it change a domain under its own lock.
	res.attrs = ops.Assoc{
		ops.Field("lock_state", osrsFlag(locked)),
		ops.Field("can_modify", osrsFlag(!pending && !registryLocked)),
		{Key: "domain_supports", Value: ops.Assoc{ops.Field("lock", osrsFlag(s.lockable(call.domain)))}.Value()},
		ops.Field("transfer_away_in_progress", osrsFlag(pending)),
		ops.Field("parkp_status", "disabled"),
		ops.Field("auctionescrow", "0"),
	}
	return res
}

// osrsModifyStatus is modify with data=status. affect_domains=1 (all
// domains of the profile) changes only this domain: the simulator has no
// profiles.
func (s *Simulator) osrsModifyStatus(a *Account, call *osrsCall) *osrsResult {
	attrs := call.attrs
	data := strings.TrimSpace(attrs.Text("data"))
	switch {
	case data == "":
		return osrsFail(osrsCodeMissing, osrsNoModifyType)
	case !strings.EqualFold(data, "status"):
		return osrsFail(osrsCodeInvalidData, "Invalid modify type: "+data+" (this simulator answers data status only)")
	case call.domain == "":
		return osrsFail(osrsCodeMissing, osrsNoDomain)
	}
	if d, dn := osrsDomainName(attrs.Text("domain")), osrsDomainName(attrs.Text("domain_name")); d != "" && dn != "" && d != dn {
		return osrsFail(osrsCodeInvalidData, "domain and domain_name differ")
	}
	if res := osrsRequireFlag(attrs, "affect_domains"); res != nil {
		return res
	}
	if res := osrsRequireFlag(attrs, "lock_state"); res != nil {
		return res
	}
	lock, lockable := attrs.Text("lock_state") == "1", s.lockable(call.domain)
	var refusal *osrsResult
	s.mu.Lock()
	d, ok := s.lookup(a, call.domain)
	if ok {
		d.writes++
		switch {
		case d.busy():
			refusal = osrsFail(osrsCodeProcessing, osrsProcessing)
		case lock && !lockable:
			refusal = osrsFail(osrsCodeInvalidData, osrsNotLockable)
		case lock != d.locked && d.registryLocked:
			refusal = osrsFail(osrsCodeDenied, osrsRegistryLocked)
		default:
			// Setting the state the domain already has succeeds: what
			// OpenSRS does is not documented.
			d.locked = lock
		}
	}
	s.mu.Unlock()
	switch {
	case !ok:
		return s.osrsNotHeld()
	case refusal != nil:
		return refusal
	}
	return &osrsResult{code: osrsOK, text: osrsCommandOK}
}

// osrsNotHeld answers a call about a domain the account does not hold:
// 415 "Authentication Error." as OpenSRS does live, or 480, the documented
// "item not found", with Options.OpenSRSNotHeldNotFound.
func (s *Simulator) osrsNotHeld() *osrsResult {
	if s.opts.OpenSRSNotHeldNotFound {
		return osrsFail(osrsCodeNotFound, osrsNotFound)
	}
	return osrsFail(osrsCodeAuth, osrsAuthError)
}

// osrsTradeLock is modify_trade_lock_setting: domain, enable and ip_address
// are all required; the setting is stored apart from the registrar lock.
func (s *Simulator) osrsTradeLock(a *Account, call *osrsCall) *osrsResult {
	attrs := call.attrs
	if call.domain == "" {
		return osrsFail(osrsCodeMissing, osrsNoDomain)
	}
	if res := osrsRequireFlag(attrs, "enable"); res != nil {
		return res
	}
	raw := strings.TrimSpace(attrs.Text("ip_address"))
	if raw == "" {
		return osrsFail(osrsCodeMissing, "Missing required field: ip_address")
	}
	ip, err := netip.ParseAddr(raw)
	if err != nil {
		return osrsFail(osrsCodeInvalidData, "Invalid ip_address: "+raw)
	}
	enable := attrs.Text("enable") == "1"
	s.mu.Lock()
	d, ok := s.lookup(a, call.domain)
	if ok {
		d.writes++
		d.trade = tradeSetting{set: true, enable: enable, ip: ip.String()}
	}
	s.mu.Unlock()
	if !ok {
		return s.osrsNotHeld()
	}
	state := "disabled"
	if enable {
		state = "enabled"
	}
	return &osrsResult{code: osrsOK, text: osrsTradeLockHead + state + osrsTradeLockMiddle + ip.String() + ")"}
}

// osrsListByExpiry is get_domains_by_expiredate: the account's domains
// whose (made-up, stable) expiry date is within exp_from..exp_to, ordered
// by name, a page of limit at a time; remainder says whether more follow.
func (s *Simulator) osrsListByExpiry(a *Account, call *osrsCall) *osrsResult {
	attrs := call.attrs
	var window [2]time.Time
	for i, key := range []string{"exp_from", "exp_to"} {
		v := strings.TrimSpace(attrs.Text(key))
		if v == "" {
			return osrsFail(osrsCodeMissing, "Missing required field: "+key)
		}
		t, err := time.Parse(osrsDateLayout, v)
		if err != nil {
			return osrsFail(osrsCodeInvalidData, "Invalid "+key+": "+v+" (use YYYY-MM-DD)")
		}
		window[i] = t
	}
	limit, res := osrsPositive(attrs, "limit", osrsDefaultLimit)
	if res != nil {
		return res
	}
	page, res := osrsPositive(attrs, "page", 1)
	if res != nil {
		return res
	}
	limit = min(limit, osrsMaxLimit)
	now := s.now()
	all := s.osrsAccountDomains(a, now, window[0], window[1].AddDate(0, 0, 1))
	// (page-1)*limit, without overflowing for a huge page.
	lo := len(all)
	if page-1 <= len(all)/limit {
		lo = min((page-1)*limit, len(all))
	}
	hi := lo + min(limit, len(all)-lo)
	// Only this page needs to be in order: select it, then sort it.
	osrsSelect(all, lo)
	osrsSelect(all[lo:], hi-lo)
	entries := all[lo:hi]
	slices.Sort(entries)
	list := make(ops.Array, len(entries))
	for i, name := range entries {
		list[i] = ops.Assoc{
			ops.Field("name", name),
			ops.Field("expiredate", osrsExpiry(name, now).Format(osrsExpiryLayout)),
			ops.Field("f_auto_renew", "0"),
			ops.Field("f_let_expire", "0"),
		}.Value()
	}
	return &osrsResult{code: osrsOK, text: osrsCommandOK, attrs: ops.Assoc{
		{Key: "exp_domains", Value: list.Value()},
		ops.Field("page", strconv.Itoa(page)),
		ops.Field("remainder", osrsFlag(hi < len(all))),
		ops.Field("total", strconv.Itoa(len(all))),
	}}
}

// osrsAccountDomains returns the names of the account's domains that
// expire in [from, until), in no particular order.
func (s *Simulator) osrsAccountDomains(a *Account, now, from, until time.Time) []string {
	first, last := osrsExpiryYear(now)
	everything := !from.After(first) && !until.Before(last)
	var out []string
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, d := range s.listing(a, "id", nil) {
		if !everything {
			if exp := osrsExpiry(d.name, now); exp.Before(from) || !exp.Before(until) {
				continue
			}
		}
		out = append(out, d.name)
	}
	return out
}

// osrsExpiry is a domain's made-up expiry date and time: some moment of
// next year, the same for a name all year.
func osrsExpiry(name string, now time.Time) time.Time {
	h := fnv.New32a()
	io.WriteString(h, name)
	sum := h.Sum32()
	first, _ := osrsExpiryYear(now)
	return first.Add(time.Duration(sum%365)*24*time.Hour + time.Duration(sum%86400)*time.Second)
}

// osrsExpiryYear is the span of osrsExpiry's dates: next year.
func osrsExpiryYear(now time.Time) (first, last time.Time) {
	first = time.Date(now.Year()+1, time.January, 1, 0, 0, 0, 0, time.UTC)
	return first, first.Add(365 * 24 * time.Hour)
}

// osrsSelect reorders names so that names[k] is the one that sorts k-th,
// with the names before it sorting lower and those after it higher; for k
// outside names it does nothing. Quickselect is linear on average, so a
// page of a million-name listing does not cost a full sort.
func osrsSelect(names []string, k int) {
	lo, hi := 0, len(names)-1
	if k < lo || k > hi {
		return
	}
	for lo < hi {
		p := lo + rand.IntN(hi-lo+1)
		names[p], names[hi] = names[hi], names[p]
		pivot, i := names[hi], lo
		for j := lo; j < hi; j++ {
			if names[j] < pivot {
				names[i], names[j] = names[j], names[i]
				i++
			}
		}
		names[i], names[hi] = names[hi], names[i]
		switch {
		case k == i:
			return
		case k < i:
			hi = i - 1
		default:
			lo = i + 1
		}
	}
}

// osrsRequireFlag checks that attrs has key as "0" or "1".
func osrsRequireFlag(attrs ops.Assoc, key string) *osrsResult {
	v, ok := attrs.Lookup(key)
	switch {
	case !ok:
		return osrsFail(osrsCodeMissing, "Missing required field: "+key)
	case v.Text() != "0" && v.Text() != "1":
		return osrsFail(osrsCodeInvalidData, "Invalid "+key+": use 0 or 1")
	}
	return nil
}

// osrsPositive reads an optional positive number.
func osrsPositive(attrs ops.Assoc, key string, def int) (int, *osrsResult) {
	v := strings.TrimSpace(attrs.Text(key))
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, osrsFail(osrsCodeInvalidData, "Invalid "+key+": "+v)
	}
	return n, nil
}

func osrsFlag(on bool) string {
	if on {
		return "1"
	}
	return "0"
}

// writeOpenSRS renders res as a reply envelope, in the order of the
// document's example answer, and sends it with HTTP 200; truncate cuts the
// body in half (FaultMalformed).
func (s *Simulator) writeOpenSRS(w http.ResponseWriter, res *osrsResult, truncate bool) {
	top := ops.Assoc{
		ops.Field("protocol", "XCP"),
		ops.Field("object", "DOMAIN"),
		ops.Field("response_text", res.text),
		ops.Field("action", "REPLY"),
		ops.Field("response_code", strconv.Itoa(res.code)),
		ops.Field("is_success", osrsFlag(res.success())),
	}
	if res.attrs != nil {
		top = append(top, ops.Item{Key: "attributes", Value: res.attrs.Value()})
	}
	bp := osrsAnswerBufs.Get().(*[]byte)
	b, err := ops.Append((*bp)[:0], top.Value())
	// Do not keep a listing-sized buffer alive in the pool.
	if cap(b) <= 64<<10 {
		defer func() { *bp = b; osrsAnswerBufs.Put(bp) }()
	}
	if err != nil {
		// Only a simulator bug gets here: every key is a constant.
		http.Error(w, "simulator: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if truncate {
		b = b[:len(b)/2]
	}
	h := w.Header()
	h["Content-Type"] = osrsContentType
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
}
