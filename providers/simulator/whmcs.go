package simulator

// The WHMCS API (includes/api.php), after protocols.md "Simulator notes
// (WHMCS)" and the DomainUpdateLockingStatus document: a POST form with
// action, credentials (identifier+secret, the same in username/password,
// or username + MD5 of the password), an optional accesskey that bypasses
// the IP allow-list, and answers in JSON (or XML) whose result/message say
// what happened; refusals come at HTTP 403, business errors at 200.
//
// The simulator is one WHMCS installation per account with one client
// (customer, whmcsClientID) owning all its domains; a domain's WHMCS id is
// the simulator's domain id.

import (
	"cmp"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// WHMCS's texts. The first four come from the documents and public
// clients; the rest are this simulator's choices for texts that a
// registrar module makes up (WHMCS passes them through as the message).
const (
	whmcsAuthFailed       = "Authentication Failed"
	whmcsInvalidIP        = "Invalid IP "
	whmcsDomainIDNotFound = "Domain ID Not Found"
	whmcsCommandNotFound  = "Command Not Found"
	whmcsRegistrarError   = "Registrar Error: Unable to establish socket: (110) Connection timed out"
	whmcsNotLockable      = "Registrar Error: Registrar lock is not supported for this TLD"
	whmcsPending          = "Registrar Error: The domain has a pending operation; changes are not allowed"
	whmcsBadRequest       = "Invalid request: the parameters could not be read"

	// whmcsRegistryLocked is a registrar module passing on the registry's
	// refusal of an update under its own lock: EPP 2304's text [sim].
	whmcsRegistryLocked = "Registrar Error: Object status prohibits operation"
)

// The commands this simulator implements, spelled as their documents do.
// WHMCS matches action case-insensitively.
const (
	whmcsGetLockingStatus    = "DomainGetLockingStatus"
	whmcsUpdateLockingStatus = "DomainUpdateLockingStatus"
	whmcsGetClientsDomains   = "GetClientsDomains"
)

var whmcsActions = []string{whmcsGetLockingStatus, whmcsUpdateLockingStatus, whmcsGetClientsDomains}

// whmcsClientID is the one WHMCS client that owns every domain of an
// installation (the userid of GetClientsDomains' items).
const whmcsClientID = 1

// whmcsDefaultLimit is GetClientsDomains' documented default limitnum.
const whmcsDefaultLimit = 25

var (
	jsonContentType = []string{"application/json; charset=utf-8"}
	xmlContentType  = []string{"text/xml; charset=utf-8"}
)

// whmcsAnswer is every answer's shape; each command fills its fields. It
// renders as WHMCS's JSON, or as its XML (<whmcsapi>) for responsetype=xml.
type whmcsAnswer struct {
	XMLName    xml.Name `json:"-" xml:"whmcsapi"`
	Action     string   `json:"-" xml:"action"`
	Result     string   `json:"result" xml:"result"`
	Message    string   `json:"message,omitempty" xml:"message,omitempty"`
	LockStatus string   `json:"lockstatus,omitempty" xml:"lockstatus,omitempty"`
	// GetClientsDomains: the filters echoed as sent ("" when absent),
	// totalresults as a string of digits (as the document's example shows
	// it), the rest as numbers.
	ClientID     *string       `json:"clientid,omitempty" xml:"clientid,omitempty"`
	DomainID     *string       `json:"domainid,omitempty" xml:"domainid,omitempty"`
	TotalResults *string       `json:"totalresults,omitempty" xml:"totalresults,omitempty"`
	StartNumber  *int          `json:"startnumber,omitempty" xml:"startnumber,omitempty"`
	NumReturned  *int          `json:"numreturned,omitempty" xml:"numreturned,omitempty"`
	Domains      *whmcsDomains `json:"domains,omitempty" xml:"domains,omitempty"`
}

// whmcsDomains is {"domain": [...]}, or "" when nothing matches, as WHMCS
// sends it.
type whmcsDomains struct {
	Domain []whmcsDomainItem `json:"domain" xml:"domain"`
}

func (d whmcsDomains) MarshalJSON() ([]byte, error) {
	if len(d.Domain) == 0 {
		return []byte(`""`), nil
	}
	type plain whmcsDomains
	return json.Marshal(plain(d))
}

// whmcsDomainItem is one GetClientsDomains entry. Only id, userid,
// domainname and status say something about the simulator; the billing
// fields are fixed values in their documented places.
type whmcsDomainItem struct {
	ID                 int    `json:"id" xml:"id"`
	UserID             int    `json:"userid" xml:"userid"`
	OrderID            int    `json:"orderid" xml:"orderid"`
	RegType            string `json:"regtype" xml:"regtype"`
	DomainName         string `json:"domainname" xml:"domainname"`
	Registrar          string `json:"registrar" xml:"registrar"`
	RegPeriod          int    `json:"regperiod" xml:"regperiod"`
	FirstPaymentAmount string `json:"firstpaymentamount" xml:"firstpaymentamount"`
	RecurringAmount    string `json:"recurringamount" xml:"recurringamount"`
	PaymentMethod      string `json:"paymentmethod" xml:"paymentmethod"`
	PaymentMethodName  string `json:"paymentmethodname" xml:"paymentmethodname"`
	RegDate            string `json:"regdate" xml:"regdate"`
	ExpiryDate         string `json:"expirydate" xml:"expirydate"`
	NextDueDate        string `json:"nextduedate" xml:"nextduedate"`
	Status             string `json:"status" xml:"status"`
	SubscriptionID     string `json:"subscriptionid" xml:"subscriptionid"`
	PromoID            int    `json:"promoid" xml:"promoid"`
	DNSManagement      string `json:"dnsmanagement" xml:"dnsmanagement"`
	EmailForwarding    string `json:"emailforwarding" xml:"emailforwarding"`
	IDProtection       string `json:"idprotection" xml:"idprotection"`
	DoNotRenew         string `json:"donotrenew" xml:"donotrenew"`
	Notes              string `json:"notes" xml:"notes"`
}

// whmcsResult is a command's outcome before rendering.
type whmcsResult struct {
	status  int // HTTP status; 0 means 200
	op      string
	domain  string
	write   bool
	outcome string // "" means "ok"
	answer  whmcsAnswer
}

func whmcsFail(op, message string) *whmcsResult {
	return &whmcsResult{op: op, outcome: message, answer: whmcsAnswer{Result: "error", Message: message}}
}

// whmcsFormat is the answer format: JSON unless responsetype=xml. WHMCS
// also has a deprecated "nvp" format, which is not simulated.
type whmcsFormat int

const (
	whmcsJSON whmcsFormat = iota
	whmcsXML
)

// serveWHMCS answers /whmcs/includes/api.php.
func (s *Simulator) serveWHMCS(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// Like PHP's $_REQUEST, the query and the form body merge.
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	parseErr := r.ParseForm()
	form := r.Form
	format := whmcsJSON
	if strings.EqualFold(strings.TrimSpace(form.Get("responsetype")), "xml") {
		format = whmcsXML
	}
	op := whmcsOp(form.Get("action"))
	claimed := cmp.Or(form.Get("identifier"), form.Get("username"))
	if parseErr != nil {
		res := whmcsFail(op, whmcsBadRequest)
		res.status = http.StatusBadRequest
		s.whmcsRecord(claimed, res)
		s.writeWHMCS(w, format, res, false)
		return
	}
	if ip, ok := s.whmcsIPAllowed(r, form.Get("accesskey")); !ok {
		res := whmcsFail(op, whmcsInvalidIP+ip)
		res.status = http.StatusForbidden
		s.whmcsRecord(claimed, res)
		s.writeWHMCS(w, format, res, false)
		return
	}
	a := s.whmcsAuth(form)
	if a == nil {
		res := whmcsFail(op, whmcsAuthFailed)
		res.status = http.StatusForbidden
		s.whmcsRecord(claimed, res)
		s.writeWHMCS(w, format, res, false)
		return
	}
	fault, ok := a.begin(r)
	if !ok {
		s.whmcsRecord(a.user, &whmcsResult{op: op, outcome: "canceled"})
		return
	}
	if fault != "" && fault != FaultFalseUnlocked {
		// A fault stands in for the command: nothing is read or changed.
		s.whmcsRecord(a.user, &whmcsResult{op: op, write: op == whmcsUpdateLockingStatus, outcome: string(fault)})
		s.serveWHMCSFault(w, format, op, fault)
		return
	}
	// FaultFalseUnlocked only changes lock reads; other commands use it up
	// and are served as usual.
	res := s.whmcsCommand(a, op, form, fault == FaultFalseUnlocked)
	s.whmcsRecord(a.user, res)
	s.writeWHMCS(w, format, res, false)
}

// whmcsOp names an action as its document spells it, or as sent.
func whmcsOp(action string) string {
	action = strings.TrimSpace(action)
	for _, c := range whmcsActions {
		if strings.EqualFold(action, c) {
			return c
		}
	}
	return action
}

func (s *Simulator) whmcsRecord(user string, res *whmcsResult) {
	s.record(Request{Kind: WHMCS, Account: user, Op: res.op, Domain: res.domain, Write: res.write, Outcome: cmp.Or(res.outcome, "ok")})
}

// whmcsIPAllowed applies the API IP allow-list (exact addresses or CIDR
// prefixes), which a matching accesskey bypasses. It returns the caller's
// address for the refusal.
func (s *Simulator) whmcsIPAllowed(r *http.Request, accessKey string) (string, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if len(s.opts.WHMCSAllowedIPs) == 0 {
		return host, true
	}
	if s.opts.WHMCSAccessKey != "" && accessKey != "" && constantTimeEqual(accessKey, s.opts.WHMCSAccessKey) {
		return host, true
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return host, false
	}
	addr = addr.Unmap()
	for _, allowed := range s.opts.WHMCSAllowedIPs {
		allowed = strings.TrimSpace(allowed)
		if p, err := netip.ParsePrefix(allowed); err == nil {
			if p.Contains(addr) {
				return host, true
			}
		} else if a, err := netip.ParseAddr(allowed); err == nil && a.Unmap() == addr {
			return host, true
		}
	}
	return host, false
}

// whmcsAuth returns the account the credentials belong to, or nil. API
// credentials come as identifier/secret or in username/password; the legacy
// admin login is username plus the MD5 (hex) of the password, for which the
// account's secret serves as the admin password.
func (s *Simulator) whmcsAuth(form url.Values) *Account {
	if id, sec := form.Get("identifier"), form.Get("secret"); id != "" || sec != "" {
		return s.account(WHMCS, id, sec)
	}
	user, pw := form.Get("username"), form.Get("password")
	if user == "" {
		return nil
	}
	if a := s.account(WHMCS, user, pw); a != nil {
		return a
	}
	s.mu.RLock()
	a := s.accounts[accountKey{WHMCS, user}]
	var stored string
	if a != nil {
		stored = a.password
	}
	s.mu.RUnlock()
	if a == nil {
		return nil
	}
	sum := md5.Sum([]byte(stored))
	if constantTimeEqual(hex.EncodeToString(sum[:]), strings.ToLower(pw)) {
		return a
	}
	return nil
}

// serveWHMCSFault answers with an injected fault.
func (s *Simulator) serveWHMCSFault(w http.ResponseWriter, format whmcsFormat, op string, f Fault) {
	switch f {
	case FaultUnavailable:
		w.Header()["Content-Type"] = htmlContentType
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("<html><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1></body></html>\n"))
	case FaultBusy, FaultRateLimited: // WHMCS documents no rate limiting; a proxy in front would send 429
		w.Header()["Content-Type"] = htmlContentType
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte("<html><head><title>429 Too Many Requests</title></head><body><h1>Too Many Requests</h1></body></html>\n"))
	case FaultMalformed:
		// A successful answer's start, cut off.
		ans := whmcsAnswer{Result: "success"}
		if op == whmcsGetLockingStatus {
			ans.LockStatus = "locked"
		}
		s.writeWHMCS(w, format, &whmcsResult{op: op, answer: ans}, true)
	case FaultHuge:
		writeHuge(w, "application/json", `{"result":"success","lockstatus":"`)
	case FaultDrop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler)
	default: // FaultError, and any fault this protocol has no rendering for
		s.writeWHMCS(w, format, whmcsFail(op, whmcsRegistrarError), false)
	}
}

// whmcsCommand runs one authenticated command.
func (s *Simulator) whmcsCommand(a *Account, op string, form url.Values, falseUnlocked bool) *whmcsResult {
	switch op {
	case whmcsGetLockingStatus:
		return s.whmcsGetLockingStatus(a, form, falseUnlocked)
	case whmcsUpdateLockingStatus:
		return s.whmcsUpdateLockingStatus(a, form)
	case whmcsGetClientsDomains:
		return s.whmcsGetClientsDomains(a, form)
	}
	return whmcsFail(op, whmcsCommandNotFound)
}

// whmcsOwned returns account a's domain name if it still has WHMCS id id,
// or nil; name is whmcsName's answer for the id. The caller holds s.mu.
func (s *Simulator) whmcsOwned(a *Account, id int, name string) *domain {
	d, ok := s.lookup(a, name)
	if !ok || d.id != id {
		return nil
	}
	return d
}

func (s *Simulator) whmcsGetLockingStatus(a *Account, form url.Values, falseUnlocked bool) *whmcsResult {
	res := &whmcsResult{op: whmcsGetLockingStatus}
	id, name, ok := s.whmcsName(form.Get("domainid"))
	var locked bool
	if ok {
		s.mu.Lock()
		d := s.whmcsOwned(a, id, name)
		if d != nil {
			d.reads++
			locked = d.locked
		}
		s.mu.Unlock()
		ok = d != nil
	}
	if !ok {
		return whmcsFail(res.op, whmcsDomainIDNotFound)
	}
	res.domain = name
	status := "unlocked"
	switch {
	case !s.lockable(name):
		// What WHMCS answers when the registrar module returns no lock state.
		status = "Unknown"
	case falseUnlocked:
		// The OpenSRS module's answer when its registrar call failed.
		res.outcome = string(FaultFalseUnlocked)
	case locked:
		status = "locked"
	}
	res.answer = whmcsAnswer{Result: "success", LockStatus: status}
	return res
}

func (s *Simulator) whmcsUpdateLockingStatus(a *Account, form url.Values) *whmcsResult {
	res := &whmcsResult{op: whmcsUpdateLockingStatus, write: true}
	// lockstatus is "should the lock be turned on": missing, empty, 0 or
	// false unlock; anything else locks, as PHP's truthiness would (except
	// "false", which PHP calls true but no sane client means so).
	flag := strings.TrimSpace(form.Get("lockstatus"))
	lock := flag != "" && flag != "0" && !strings.EqualFold(flag, "false")
	id, name, ok := s.whmcsName(form.Get("domainid"))
	lockable := ok && s.lockable(name)
	var refusal string
	if ok {
		s.mu.Lock()
		d := s.whmcsOwned(a, id, name)
		if d != nil {
			d.writes++
			switch {
			case !lockable:
				refusal = whmcsNotLockable
			case d.busy():
				refusal = whmcsPending
			case lock != d.locked && d.registryLocked:
				refusal = whmcsRegistryLocked
			default:
				d.locked = lock
			}
		}
		s.mu.Unlock()
		ok = d != nil
	}
	if !ok {
		return whmcsFail(res.op, whmcsDomainIDNotFound)
	}
	res.domain = name
	if refusal != "" {
		res.outcome = refusal
		res.answer = whmcsAnswer{Result: "error", Message: refusal}
		return res
	}
	res.answer = whmcsAnswer{Result: "success"}
	return res
}

// whmcsEntry is one domain of a listing page.
type whmcsEntry struct {
	id   int
	name string
}

func (s *Simulator) whmcsGetClientsDomains(a *Account, form url.Values) *whmcsResult {
	res := &whmcsResult{op: whmcsGetClientsDomains}
	start := max(whmcsInt(form.Get("limitstart"), 0), 0)
	limit := whmcsInt(form.Get("limitnum"), whmcsDefaultLimit)
	if limit <= 0 {
		limit = whmcsDefaultLimit
	}
	clientText, idText, nameFilter := form.Get("clientid"), form.Get("domainid"), form.Get("domain")
	// Every domain belongs to client whmcsClientID; another clientid
	// matches nothing.
	clientOK := strings.TrimSpace(clientText) == "" || whmcsInt(clientText, 0) == whmcsClientID

	var page []whmcsEntry
	total := 0
	switch {
	case strings.TrimSpace(nameFilter) != "" || strings.TrimSpace(idText) != "":
		// One domain at most: looked up directly, never by scanning.
		name := strings.ToLower(strings.TrimSpace(nameFilter))
		res.domain = name
		id := 0
		if strings.TrimSpace(idText) != "" {
			var byID string
			var ok bool
			if id, byID, ok = s.whmcsName(idText); !ok || (name != "" && byID != name) {
				break
			}
			name = byID
		}
		s.mu.RLock()
		d, ok := s.lookup(a, name)
		if ok && clientOK && (id == 0 || d.id == id) {
			total = 1
			if start == 0 {
				page = []whmcsEntry{{d.id, d.name}}
			}
		}
		s.mu.RUnlock()
	case clientOK:
		l := s.whmcsListing(a)
		total = len(l)
		lo := min(start, total)
		page = l[lo : lo+min(limit, total-lo)]
	}

	ans := whmcsAnswer{Result: "success", ClientID: &clientText, DomainID: &idText}
	totalText := strconv.Itoa(total)
	n := len(page)
	ans.TotalResults, ans.StartNumber, ans.NumReturned = &totalText, &start, &n
	switch {
	case total == 0:
		ans.Domains = &whmcsDomains{}
	case n > 0:
		ans.Domains = &whmcsDomains{Domain: s.whmcsItems(page)}
	}
	// A page past the end of a non-empty listing has no "domains" at all:
	// WHMCS only fills it from the rows it found.
	res.answer = ans
	return res
}

// whmcsItems renders a page's entries with the simulator's fixed billing
// details.
func (s *Simulator) whmcsItems(page []whmcsEntry) []whmcsDomainItem {
	now := s.now()
	regDate := now.AddDate(-1, 0, 0).Format("2006-01-02")
	expiry := now.AddDate(1, 0, 0).Format("2006-01-02")
	items := make([]whmcsDomainItem, len(page))
	for i, e := range page {
		items[i] = whmcsDomainItem{
			ID: e.id, UserID: whmcsClientID, OrderID: e.id, RegType: "Register", DomainName: e.name,
			Registrar: "opensrs", RegPeriod: 1, FirstPaymentAmount: "10.00", RecurringAmount: "10.00",
			PaymentMethod: "banktransfer", PaymentMethodName: "Bank Transfer",
			RegDate: regDate, ExpiryDate: expiry, NextDueDate: expiry, Status: "Active",
			DNSManagement: "0", EmailForwarding: "0", IDProtection: "0", DoNotRenew: "0",
		}
	}
	return items
}

// whmcsInt reads an integer parameter; anything unreadable is def.
func whmcsInt(v string, def int) int {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return def
	}
	return n
}

// writeWHMCS renders res; truncate cuts the body in half (FaultMalformed),
// which never leaves a complete document.
func (s *Simulator) writeWHMCS(w http.ResponseWriter, format whmcsFormat, res *whmcsResult, truncate bool) {
	ans := &res.answer
	var b []byte
	var err error
	h := w.Header()
	if format == whmcsXML {
		ans.Action = strings.ToLower(res.op)
		b, err = xml.Marshal(ans)
		b = append([]byte(xml.Header), b...)
		h["Content-Type"] = xmlContentType
	} else {
		b, err = json.Marshal(ans)
		h["Content-Type"] = jsonContentType
	}
	if err != nil {
		// Cannot happen with these types; answer like a broken PHP would.
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if truncate {
		b = b[:len(b)/2]
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(cmp.Or(res.status, http.StatusOK))
	w.Write(b)
}

// whmcsName resolves a domainid parameter to the name that has that id.
// The caller checks the name against the inventory (owner, and that the id
// is still the name's). It takes s.mu itself.
func (s *Simulator) whmcsName(idText string) (int, string, bool) {
	id, err := strconv.Atoi(strings.TrimSpace(idText))
	if err != nil || id <= 0 {
		return 0, "", false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	d := s.domainByID(id)
	if d == nil {
		return 0, "", false
	}
	return id, d.name, true
}

// whmcsListing returns a's domains ordered by id (WHMCS lists by id).
func (s *Simulator) whmcsListing(a *Account) []whmcsEntry {
	s.mu.RLock()
	defer s.mu.RUnlock()
	doms := s.listing(a, "id", nil)
	entries := make([]whmcsEntry, len(doms))
	for i, d := range doms {
		entries[i] = whmcsEntry{d.id, d.name}
	}
	return entries
}
