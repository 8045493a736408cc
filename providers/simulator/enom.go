package simulator

// The eNom reseller API (interface.asp), after protocols.md "Simulator notes
// (eNom)" and the GetRegLock document: parameters by GET or POST with
// case-insensitive names, HTTP 200 for every API-level answer, and answers
// in TEXT (the default), HTML or XML.

import (
	"cmp"
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/net/publicsuffix"
)

// eNom's texts. The first three come from the documents and public clients;
// the rest are not documented and are this simulator's choices (the
// "already" ones contain the substrings clients match on).
const (
	enomBadAuth        = "Bad User name or Password"
	enomNotFound       = "Domain name not found"
	enomNotFoundNumber = "316153"
	enomNotFoundString = "Validation error; not found; domain name(s)"
	// A refused login, as eNom's support article 201000065294 quotes it.
	enomBadAuthNumber   = "304155"
	enomBadAuthString   = "Validation error; invalid ; loginid"
	enomAlreadyUnlocked = "Unable to update registrar lock; domain is already unlocked"
	enomAlreadyLocked   = "Unable to update registrar lock; domain is already locked"
	enomNotLockable     = "Registrar lock is not supported for this TLD"
	enomUnexpected      = "An unexpected error has occurred. Please try again later."
	enomCompleted       = "Command completed successfully"
	enomMachine         = "SIM-ENOM01"

	// enomRegistryLocked passes on the registry's refusal of an update
	// under its own lock: EPP 2304's text [sim].
	enomRegistryLocked = "Object status prohibits operation"
)

// The commands this simulator implements, spelled as their documents do.
const (
	enomGetRegLock    = "GetRegLock"
	enomSetRegLock    = "SetRegLock"
	enomGetDomains    = "GetDomains"
	enomGetAllDomains = "GetAllDomains"
)

// enomFormat is the ResponseType of an answer.
type enomFormat int

const (
	enomText enomFormat = iota // the documented default
	enomXML
	enomHTML
)

// Content types, as shared slices so that setting them does not allocate.
var (
	enomContentType = map[enomFormat][]string{
		enomText: {"text/plain; charset=utf-8"},
		enomXML:  {"text/xml; charset=utf-8"},
		enomHTML: {"text/html; charset=utf-8"},
	}
	htmlContentType = []string{"text/html; charset=utf-8"}
)

func enomFormatOf(responseType string) enomFormat {
	switch {
	case strings.EqualFold(responseType, "XML"):
		return enomXML
	case strings.EqualFold(responseType, "HTML"):
		return enomHTML
	}
	return enomText
}

// enomField is one name=value of an answer.
type enomField struct{ name, value string }

// enomResult is what a command answers, before rendering.
type enomResult struct {
	// command is the command as requested; the answer spells it upper-case.
	command string
	// domain is the sld.tld the call was about, for the request log.
	domain string
	write  bool
	// fields come first in the answer (reg-lock, RRPCode, ...).
	fields []enomField
	// list is GetDomains' or GetAllDomains' listing.
	list *enomListing
	errs []string
	// response, if set, is the ResponseNumber/ResponseString pair eNom
	// sends with an error: "Domain name not found", a refused login.
	response *[2]string
	// domainScoped fills the trailer's per-TLD fields; lockable is then
	// IsLockable.
	domainScoped bool
	lockable     bool
}

func (r *enomResult) fail(text string) *enomResult {
	r.errs = append(r.errs, text)
	return r
}

// outcome is the request log's Outcome: "ok" or the first error text.
func (r *enomResult) outcome() string {
	if len(r.errs) > 0 {
		return r.errs[0]
	}
	return "ok"
}

// enomListing is one page of GetDomains, or all of GetAllDomains.
type enomListing struct {
	all     bool // GetAllDomains
	tab     string
	entries []enomEntry // this page
	start   int         // 1-based position of entries[0]
	display int
	total   int
}

// enomEntry is one domain in a listing.
type enomEntry struct {
	name   string
	locked bool
}

// serveENom answers /enom/interface.asp.
func (s *Simulator) serveENom(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// The query and a form body merge; a body never needs more than this.
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	parseErr := r.ParseForm()
	form := r.Form
	format := enomFormatOf(enomParam(form, "ResponseType"))
	command := enomParam(form, "command")
	if parseErr != nil {
		s.writeENom(w, format, start, (&enomResult{command: command}).fail("Invalid request: the parameters could not be read"), false)
		return
	}
	name, problem := enomDomain(form)
	res := &enomResult{command: command, domain: name, write: strings.EqualFold(command, enomSetRegLock)}
	uid := enomParam(form, "uid")
	a := s.account(ENom, uid, enomParam(form, "pw"))
	if a == nil {
		s.enomRecord(uid, res, enomBadAuth)
		s.writeENom(w, format, start, res.failBadAuth(), false)
		return
	}
	fault, ok := a.begin(r)
	if !ok {
		s.enomRecord(a.user, res, "canceled")
		return
	}
	if fault != "" {
		// A fault stands in for the command: nothing is read or changed.
		s.enomRecord(a.user, res, string(fault))
		s.serveENomFault(w, r, format, start, res, fault)
		return
	}
	res = s.enomCommand(a, command, form, name, problem)
	s.enomRecord(a.user, res, res.outcome())
	s.writeENom(w, format, start, res, false)
}

// enomCommands are the implemented commands, for the request log's Op.
var enomCommands = []string{enomGetRegLock, enomSetRegLock, enomGetDomains, enomGetAllDomains}

// enomRecord logs a call, naming the command as its document spells it.
func (s *Simulator) enomRecord(user string, res *enomResult, outcome string) {
	op := res.command
	for _, c := range enomCommands {
		if strings.EqualFold(op, c) {
			op = c
		}
	}
	s.record(Request{Kind: ENom, Account: user, Op: op, Domain: res.domain, Write: res.write, Outcome: outcome})
}

// serveENomFault answers with an injected fault.
func (s *Simulator) serveENomFault(w http.ResponseWriter, r *http.Request, format enomFormat, start time.Time, res *enomResult, f Fault) {
	switch f {
	case FaultUnavailable:
		w.Header()["Content-Type"] = htmlContentType
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("<html><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1></body></html>\n"))
	case FaultBusy, FaultRateLimited: // eNom documents no busy or rate-limit answer; a gateway would send 429
		w.Header()["Content-Type"] = htmlContentType
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte("<html><head><title>429 Too Many Requests</title></head><body><h1>Too Many Requests</h1></body></html>\n"))
	case FaultMalformed:
		// The envelope of a successful answer, cut off before Done.
		s.writeENom(w, format, start, &enomResult{command: res.command}, true)
	case FaultHuge:
		writeHuge(w, "text/xml; charset=utf-8", `<?xml version="1.0" encoding="utf-8"?><interface-response><Command>`)
	case FaultDrop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	default: // FaultError, and any fault this protocol has no rendering for
		s.writeENom(w, format, start, (&enomResult{command: res.command}).fail(enomUnexpected), false)
	}
}

// enomCommand runs one authenticated command; name and problem are
// enomDomain's reading of the request.
func (s *Simulator) enomCommand(a *Account, command string, form url.Values, name, problem string) *enomResult {
	switch {
	case strings.EqualFold(command, enomGetRegLock):
		return s.enomGetRegLock(a, name, problem)
	case strings.EqualFold(command, enomSetRegLock):
		return s.enomSetRegLock(a, form, name, problem)
	case strings.EqualFold(command, enomGetDomains):
		return s.enomGetDomains(a, form)
	case strings.EqualFold(command, enomGetAllDomains):
		return s.enomGetAllDomains(a)
	case command == "":
		return (&enomResult{}).fail("Missing required parameter: command")
	}
	return (&enomResult{command: command}).fail("Invalid command: " + command)
}

func (s *Simulator) enomGetRegLock(a *Account, name, problem string) *enomResult {
	res := &enomResult{command: enomGetRegLock, domain: name}
	if problem != "" {
		return res.fail(problem)
	}
	s.mu.Lock()
	d, ok := s.lookup(a, name)
	var locked bool
	if ok {
		d.reads++
		locked = d.locked
	}
	s.mu.Unlock()
	if !ok {
		return res.failNotFound()
	}
	res.domainScoped, res.lockable = true, s.lockable(name)
	lock := "0"
	if locked {
		lock = "1"
	}
	res.fields = []enomField{
		{"reg-lock", lock},
		{"registrar", "eNom"},
		{"RRPCode", "200"},
		{"RRPText", enomCompleted},
	}
	return res
}

func (s *Simulator) enomSetRegLock(a *Account, form url.Values, name, problem string) *enomResult {
	res := &enomResult{command: enomSetRegLock, domain: name, write: true}
	if problem != "" {
		return res.fail(problem)
	}
	// The flag is inverted: 0 locks, 1 unlocks.
	flag := enomParam(form, "UnlockRegistrar")
	if flag != "0" && flag != "1" {
		return res.fail("Invalid value for UnlockRegistrar: use 0 to lock or 1 to unlock")
	}
	lock, lockable := flag == "0", s.lockable(name)
	var refusal string
	s.mu.Lock()
	d, ok := s.lookup(a, name)
	if ok {
		d.writes++
		switch {
		case !lockable:
			refusal = enomNotLockable
		case !lock && !d.locked:
			refusal = enomAlreadyUnlocked
		case lock && d.locked && s.opts.ENomLockWhenLockedFails:
			refusal = enomAlreadyLocked
		case lock != d.locked && d.registryLocked:
			refusal = enomRegistryLocked
		default:
			d.locked = lock
		}
	}
	s.mu.Unlock()
	if !ok {
		return res.failNotFound()
	}
	res.domainScoped, res.lockable = true, lockable
	if refusal != "" {
		return res.fail(refusal)
	}
	// REGISTRAR-LOCK is the document's value for a lock; ACTIVE is what an
	// older captured unlock answer carried.
	state := "ACTIVE"
	if lock {
		state = "REGISTRAR-LOCK"
	}
	res.fields = []enomField{
		{"reg-lock", state},
		{"RRPCodeSR", "200"},
		{"RRPText", enomCompleted},
	}
	return res
}

func (r *enomResult) failNotFound() *enomResult {
	r.response = &[2]string{enomNotFoundNumber, enomNotFoundString}
	return r.fail(enomNotFound)
}

func (r *enomResult) failBadAuth() *enomResult {
	r.response = &[2]string{enomBadAuthNumber, enomBadAuthString}
	return r.fail(enomBadAuth)
}

func (s *Simulator) enomGetDomains(a *Account, form url.Values) *enomResult {
	res := &enomResult{command: enomGetDomains}
	display := enomInt(enomParam(form, "Display"), 25)
	if display <= 0 {
		display = 25
	}
	display = min(display, 100)
	start := max(enomInt(enomParam(form, "Start"), 1), 1)
	tab := cmp.Or(enomParam(form, "Tab"), "IOwn")
	var all []enomEntry
	// Only IOwn holds names here; the other tabs (watch list, expired, ...)
	// are empty.
	if strings.EqualFold(tab, "IOwn") {
		all = s.enomAccountDomains(a)
	}
	// Bounded without adding to start, which may be near MaxInt.
	lo := min(start-1, len(all))
	page := all[lo : lo+min(display, len(all)-lo)]
	res.list = &enomListing{tab: strings.ToLower(tab), entries: page, start: start, display: display, total: len(all)}
	return res
}

func (s *Simulator) enomGetAllDomains(a *Account) *enomResult {
	// GetAllDomains reads every domain's lock: it counts as a read of each,
	// as GetRegLock does of one.
	s.mu.Lock()
	doms := s.listing(a, "enom", func(x, y *domain) int { return cmpBySLD(x.name, y.name) })
	all := make([]enomEntry, len(doms))
	for i, d := range doms {
		d.reads++
		all[i] = enomEntry{name: d.name, locked: d.locked}
	}
	s.mu.Unlock()
	return &enomResult{command: enomGetAllDomains, list: &enomListing{all: true, entries: all, start: 1, total: len(all)}}
}

// enomAccountDomains returns the account's domains ordered by SLD, then
// TLD.
func (s *Simulator) enomAccountDomains(a *Account) []enomEntry {
	s.mu.RLock()
	defer s.mu.RUnlock()
	doms := s.listing(a, "enom", func(x, y *domain) int { return cmpBySLD(x.name, y.name) })
	out := make([]enomEntry, len(doms))
	for i, d := range doms {
		out[i] = enomEntry{name: d.name, locked: d.locked}
	}
	return out
}

// cmpBySLD orders names by SLD, then TLD: it compares bytes with '.'
// lowest, so "a.com" sorts before "a-b.com" as its SLD "a" does.
func cmpBySLD(x, y string) int {
	for i := 0; i < len(x) && i < len(y); i++ {
		cx, cy := x[i], y[i]
		if cx == cy {
			continue
		}
		if cx == '.' {
			return -1
		}
		if cy == '.' {
			return 1
		}
		return cmp.Compare(cx, cy)
	}
	return cmp.Compare(len(x), len(y))
}

// enomDomain reads sld and tld into a lowercase name, or says what is
// missing.
func enomDomain(form url.Values) (name, problem string) {
	sld := strings.ToLower(strings.TrimSpace(enomParam(form, "sld")))
	tld := strings.ToLower(strings.Trim(strings.TrimSpace(enomParam(form, "tld")), "."))
	switch {
	case sld == "":
		return "", "Missing required parameter: SLD"
	case tld == "":
		return "", "Missing required parameter: TLD"
	}
	return sld + "." + tld, ""
}

// enomParam reads a parameter case-insensitively, as eNom does: its own
// documents mix SLD/sld and ResponseType/responsetype.
func enomParam(form url.Values, name string) string {
	if v := form[name]; len(v) > 0 {
		return v[0]
	}
	for k, v := range form {
		if len(v) > 0 && strings.EqualFold(k, name) {
			return v[0]
		}
	}
	return ""
}

func enomInt(s string, def int) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return def
	}
	return n
}

// enomBufs recycles answer buffers: the hot path is thousands of small
// GetRegLock/SetRegLock answers a second.
var enomBufs = sync.Pool{New: func() any { return &enomWriter{buf: make([]byte, 0, 2048)} }}

// writeENom renders res and sends it with HTTP 200; truncate cuts the body
// in half (FaultMalformed), which always drops Done.
func (s *Simulator) writeENom(w http.ResponseWriter, format enomFormat, start time.Time, res *enomResult, truncate bool) {
	ew := enomBufs.Get().(*enomWriter)
	ew.reset(format)
	s.renderENom(ew, start, res)
	b := ew.buf
	if truncate {
		b = b[:len(b)/2]
	}
	h := w.Header()
	h["Content-Type"] = enomContentType[format]
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	// Do not keep a GetAllDomains-sized buffer alive in the pool.
	if cap(ew.buf) <= 64<<10 {
		enomBufs.Put(ew)
	}
}

// renderENom writes the whole answer: header, the command's fields, its
// listing, then the envelope trailer every eNom answer ends with.
func (s *Simulator) renderENom(w *enomWriter, start time.Time, res *enomResult) {
	w.header()
	for _, f := range res.fields {
		w.field(f.name, f.value)
	}
	if res.list != nil {
		s.renderListing(w, res.list)
	}
	w.field("Command", strings.ToUpper(res.command))
	if w.format != enomXML {
		w.field("APIType", "API.NET")
	}
	w.field("Language", "eng")
	w.field("ErrCount", strconv.Itoa(len(res.errs)))
	if len(res.errs) > 0 {
		w.open("errors", "")
		for i, e := range res.errs {
			w.field("Err"+strconv.Itoa(i+1), e)
		}
		w.close("errors")
	}
	if res.response != nil {
		w.field("ResponseCount", "1")
		w.open("responses", "")
		w.open("response", "")
		w.n = 1
		w.field("ResponseNumber", res.response[0])
		w.field("ResponseString", res.response[1])
		w.n = 0
		w.close("response")
		w.close("responses")
	} else {
		w.field("ResponseCount", "0")
	}
	minPeriod, lockable, realTime := "", "", ""
	if res.domainScoped {
		minPeriod, lockable, realTime = "1", "False", "True"
		if res.lockable {
			lockable = "True"
		}
	}
	w.field("MinPeriod", minPeriod)
	w.field("MaxPeriod", "10")
	w.field("Server", enomMachine)
	w.field("Site", "eNom")
	w.field("IsLockable", lockable)
	w.field("IsRealTimeTLD", realTime)
	w.field("TimeDifference", "+0.00")
	mark := w.startField("ExecTime")
	w.buf = strconv.AppendFloat(w.buf, time.Since(start).Seconds(), 'f', 3, 64)
	w.endField("ExecTime", mark)
	w.field("Done", "true")
	if w.format == enomXML {
		w.field("debug", "")
	}
	mark = w.startField("TrackingKey")
	w.buf = appendTrackingKey(w.buf)
	w.endField("TrackingKey", mark)
	mark = w.startField("RequestDateTime")
	w.buf = s.now().AppendFormat(w.buf, "1/2/2006 3:04:05 PM")
	w.endField("RequestDateTime", mark)
	w.footer()
}

// renderListing writes GetDomains' or GetAllDomains' block in the shape of
// their documents; in TEXT and HTML the entries' fields are numbered.
func (s *Simulator) renderListing(w *enomWriter, l *enomListing) {
	expires := s.now().AddDate(1, 0, 0).Format("1/2/2006")
	if l.all {
		w.open("GetAllDomains", "")
		for i, e := range l.entries {
			w.n = i + 1
			w.open("DomainDetail", "")
			w.field("DomainName", e.name)
			w.field("DomainNameID", enomDomainID(e.name))
			w.field("expiration-date", expires)
			status := "Not Locked"
			if e.locked {
				status = "Locked"
			}
			w.field("lockstatus", status)
			w.field("AutoRenew", "No")
			w.close("DomainDetail")
		}
		w.n = 0
		w.field("domaincount", strconv.Itoa(l.total))
		w.field("UserRequestStatus", "DomainBox")
		w.close("GetAllDomains")
		return
	}
	w.open("GetDomains", "")
	w.field("tab", l.tab)
	w.field("multirrp", "False")
	w.open("domain-list", ` type="Registered"`)
	for i, e := range l.entries {
		sld, tld := splitSLD(e.name)
		w.n = i + 1
		w.open("domain", "")
		w.field("DomainNameID", enomDomainID(e.name))
		w.field("sld", sld)
		w.field("tld", tld)
		w.field("ns-status", "NA")
		w.field("expiration-date", expires)
		w.field("auto-renew", "No")
		w.field("wppsstatus", "disabled")
		w.field("wppsexpdate", expires)
		w.field("RRProcessor", "E")
		w.close("domain")
	}
	w.n = 0
	w.close("domain-list")
	end, prev, next := 0, 0, 0
	if len(l.entries) > 0 {
		end = l.start + len(l.entries) - 1
	}
	if l.start > 1 {
		prev = max(l.start-l.display, 1)
	}
	if end > 0 && end < l.total {
		next = end + 1
	}
	w.field("EndPosition", strconv.Itoa(end))
	w.field("PreviousRecords", strconv.Itoa(prev))
	w.field("NextRecords", strconv.Itoa(next))
	w.field("OrderBy", "")
	w.field("Result", "True")
	w.field("StartPosition", strconv.Itoa(l.start))
	w.field("DomainCount", strconv.Itoa(l.total))
	w.field("TotalDomainCount", strconv.Itoa(l.total))
	w.field("StartLetter", "")
	w.close("GetDomains")
}

// splitSLD splits a name at its public suffix, as eNom's sld and tld.
func splitSLD(name string) (sld, tld string) {
	suffix, _ := publicsuffix.PublicSuffix(name)
	if sld, ok := strings.CutSuffix(name, "."+suffix); ok {
		return sld, suffix
	}
	return name, ""
}

// enomDomainID is a stable nine-digit DomainNameID for a name.
func enomDomainID(name string) string {
	h := fnv.New32a()
	h.Write([]byte(name))
	return strconv.FormatUint(uint64(100000000+h.Sum32()%900000000), 10)
}

// appendTrackingKey appends a random UUID-shaped key, as eNom's are.
func appendTrackingKey(b []byte) []byte {
	const hex = "0123456789abcdef"
	hi, lo := rand.Uint64(), rand.Uint64()
	for i := range 32 {
		if i == 8 || i == 12 || i == 16 || i == 20 {
			b = append(b, '-')
		}
		word := hi
		if i >= 16 {
			word = lo
		}
		b = append(b, hex[(word>>(60-4*(i%16)))&0xf])
	}
	return b
}

// enomWriter renders an answer in one of eNom's three formats. XML nests
// elements; TEXT and HTML flatten them to numbered name=value lines.
type enomWriter struct {
	buf    []byte
	format enomFormat
	// n is the number appended to field names in TEXT and HTML (sld1,
	// ResponseNumber1); 0 for none.
	n int
}

func (w *enomWriter) reset(format enomFormat) {
	w.buf, w.format, w.n = w.buf[:0], format, 0
}

func (w *enomWriter) header() {
	switch w.format {
	case enomXML:
		w.buf = append(w.buf, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<interface-response>\n"...)
	case enomHTML:
		w.buf = append(w.buf, ";URL Interface<br>\n;Machine is "+enomMachine+"<br>\n;Encoding Type is utf-8<br>\n<HTML><BODY>\n"...)
	default:
		w.buf = append(w.buf, ";URL Interface\n;Machine is "+enomMachine+"\n;Encoding Type is utf-8\n"...)
	}
}

func (w *enomWriter) footer() {
	switch w.format {
	case enomXML:
		w.buf = append(w.buf, "</interface-response>\n"...)
	case enomHTML:
		w.buf = append(w.buf, "</BODY></HTML>\n"...)
	}
}

// open starts an XML element; attrs is raw (` type="Registered"`).
func (w *enomWriter) open(name, attrs string) {
	if w.format == enomXML {
		w.buf = append(append(append(append(w.buf, '<'), name...), attrs...), ">\n"...)
	}
}

func (w *enomWriter) close(name string) {
	if w.format == enomXML {
		w.buf = append(append(append(w.buf, "</"...), name...), ">\n"...)
	}
}

// field writes one value; an empty one is <name/> in XML.
func (w *enomWriter) field(name, value string) {
	mark := w.startField(name)
	w.buf = appendEscaped(w.buf, value, w.format)
	w.endField(name, mark)
}

// startField writes what comes before a value and returns where the value
// starts; the caller appends the value to w.buf and calls endField.
func (w *enomWriter) startField(name string) int {
	switch w.format {
	case enomXML:
		w.buf = append(append(append(w.buf, '<'), name...), '>')
	case enomHTML:
		w.buf = append(w.appendName(append(w.buf, "<STRONG>"...), name), "= </STRONG>"...)
	default:
		w.buf = append(w.appendName(w.buf, name), '=')
	}
	return len(w.buf)
}

func (w *enomWriter) endField(name string, mark int) {
	switch w.format {
	case enomXML:
		if len(w.buf) == mark {
			w.buf = append(w.buf[:mark-1], "/>\n"...)
			return
		}
		w.buf = append(append(append(w.buf, "</"...), name...), ">\n"...)
	case enomHTML:
		w.buf = append(w.buf, "<br />\n"...)
	default:
		w.buf = append(w.buf, '\n')
	}
}

// appendName writes a TEXT/HTML field name: the XML answer's reg-lock and
// RRPCodeSR are RegLock and RRPCode there, and list fields are numbered.
func (w *enomWriter) appendName(b []byte, name string) []byte {
	switch name {
	case "reg-lock":
		name = "RegLock"
	case "RRPCodeSR":
		name = "RRPCode"
	}
	b = append(b, name...)
	if w.n > 0 {
		b = strconv.AppendInt(b, int64(w.n), 10)
	}
	return b
}

// appendEscaped appends s escaped for the format: markup characters in XML
// and HTML, where characters XML 1.0 forbids (control characters, invalid
// UTF-8) become U+FFFD; line breaks, which would start a new field, in TEXT.
func appendEscaped(b []byte, s string, format enomFormat) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if format == enomText {
			if c == '\n' || c == '\r' {
				c = ' '
			}
			b = append(b, c)
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if (r == utf8.RuneError && size == 1) || !xmlChar(r) {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, s[i:i+size]...)
			}
			i += size
			continue
		}
		switch {
		case c == '<':
			b = append(b, "&lt;"...)
		case c == '>':
			b = append(b, "&gt;"...)
		case c == '&':
			b = append(b, "&amp;"...)
		case c == '"':
			b = append(b, "&quot;"...)
		case c == '\'':
			b = append(b, "&#39;"...)
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r':
			b = utf8.AppendRune(b, utf8.RuneError)
		default:
			b = append(b, c)
		}
		i++
	}
	return b
}

// xmlChar reports whether XML 1.0 allows r (above ASCII).
func xmlChar(r rune) bool {
	return (r >= 0x80 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
}
