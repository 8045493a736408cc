package store

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reglock/reglock/tasks"
)

// An export is the desired state of every domain (its intent, its unlock
// window, its trade lock setting) as JSON lines: a header, one line per
// domain, and an end line with the count, so that a truncated file is
// refused instead of restoring part of the inventory:
//
//	{"format":"reglock-export","version":1,"exported_at":"…","store_id":"…"}
//	{"domain":"example.com","provider":"enom-main","locked":false,"generation":7,
//	 "requested_at":"…","relock_at":"…","trade_lock":null,"trade_lock_applied":false,
//	 "trade_requested_at":null,"consent_ip":""}
//	{"end":true,"domains":1}
//
// Observations, errors, owed work and leases are not exported: after a
// restore, the next reads (a sweep) fill them in.

// ExportFormat and ExportVersion identify an export's header.
const (
	ExportFormat  = "reglock-export"
	ExportVersion = 1
)

// ExportHeader is an export's first line.
type ExportHeader struct {
	Format     string    `json:"format"`
	Version    int       `json:"version"`
	ExportedAt time.Time `json:"exported_at"`
	// StoreID is the id of the store it was taken from ("" if it had none).
	StoreID string `json:"store_id"`
}

// ExportRecord is one domain's desired state in an export.
type ExportRecord struct {
	Domain           string     `json:"domain"`
	Provider         string     `json:"provider"`
	Locked           bool       `json:"locked"`
	Generation       int64      `json:"generation"`
	RequestedAt      *time.Time `json:"requested_at"`
	RelockAt         *time.Time `json:"relock_at"`
	TradeLock        *bool      `json:"trade_lock"`
	TradeLockApplied bool       `json:"trade_lock_applied"`
	TradeRequestedAt *time.Time `json:"trade_requested_at"`
	ConsentIP        string     `json:"consent_ip"`
	// ForTransfer: an unlock asked for a transfer away.
	ForTransfer bool `json:"for_transfer,omitempty"`
}

// exportEnd is an export's last line.
type exportEnd struct {
	End     bool  `json:"end"`
	Domains int64 `json:"domains"`
}

// RecordOf is a domain's desired state as an export holds it.
func RecordOf(name string, d Desired) ExportRecord {
	r := ExportRecord{Domain: name, Provider: d.Provider, Locked: d.Locked, Generation: d.Generation,
		RequestedAt: timePtr(d.RequestedAt), RelockAt: timePtr(d.RelockAt), ForTransfer: d.ForTransfer && !d.Locked}
	if d.TradeLock != nil {
		on := *d.TradeLock
		r.TradeLock, r.TradeLockApplied, r.TradeRequestedAt, r.ConsentIP = &on, d.TradeApplied, timePtr(d.TradeRequestedAt), d.ConsentIP
	}
	return r
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// exportBatch is how many occupied buckets one round trip of an export
// reads: about 15,000 domains at a million, so memory stays flat.
const exportBatch = 256

// ScanDesired calls fn with the desired state of every domain, a batch of
// buckets at a time, in (bucket, name) order: one pipelined round trip per
// 256 occupied buckets (64 for a full inventory). It reads the intents
// alone. A domain changed while the scan runs is seen before or after the
// change, never half of it. It stops at fn's first error.
func (s *Store) ScanDesired(ctx context.Context, fn func([]Domain) error) error {
	bitmap, err := s.occupied(ctx)
	if err != nil {
		return err
	}
	var ids []int
	for b := range Buckets {
		if isOccupied(bitmap, b) {
			ids = append(ids, b)
		}
	}
	for first := 0; first < len(ids); first += exportBatch {
		batch := ids[first:min(first+exportBatch, len(ids))]
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.MapStringStringCmd, len(batch))
		for j, b := range batch {
			cmds[j] = pipe.HGetAll(ctx, s.keys(b)[keyIntent])
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return err
		}
		var out []Domain
		for _, c := range cmds {
			start := len(out)
			for name, v := range c.Val() {
				d, err := decodeIntent(v)
				if err != nil {
					return fmt.Errorf("store: domain %s: %w", name, err)
				}
				out = append(out, Domain{Name: name, Desired: d})
			}
			slices.SortFunc(out[start:], func(a, b Domain) int { return strings.Compare(a.Name, b.Name) })
		}
		if len(out) == 0 {
			continue
		}
		if err := fn(out); err != nil {
			return err
		}
	}
	return nil
}

// Export writes the desired state of every domain to w as an export
// (header, one line per domain, end line) and returns how many domains it
// wrote. It streams: memory does not grow with the inventory.
func (s *Store) Export(ctx context.Context, w io.Writer, exportedAt time.Time) (int64, error) {
	id, _, err := s.Identity(ctx)
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriterSize(w, 256<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(ExportHeader{Format: ExportFormat, Version: ExportVersion, ExportedAt: exportedAt.UTC(), StoreID: id.ID}); err != nil {
		return 0, err
	}
	var n int64
	err = s.ScanDesired(ctx, func(doms []Domain) error {
		for _, d := range doms {
			if err := enc.Encode(RecordOf(d.Name, d.Desired)); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return n, err
	}
	if err := enc.Encode(exportEnd{End: true, Domains: n}); err != nil {
		return n, err
	}
	return n, bw.Flush()
}

// ExportError is a problem with an export file, at a line.
type ExportError struct {
	Line int
	Err  error
}

func (e *ExportError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *ExportError) Unwrap() error { return e.Err }

// maxExportLine bounds one line of an export: a domain's line is a few
// hundred bytes.
const maxExportLine = 64 << 10

// exportLine is any line after the header.
type exportLine struct {
	ExportRecord
	End     *bool  `json:"end"`
	Domains *int64 `json:"domains"`
}

// ReadExport reads an export from r, checking everything a restore relies
// on, and calls fn with each domain's record (its name normalized) and its
// line number. It fails, naming the line, on a header of another format or
// version, a line that does not parse or holds unknown fields, a bad domain
// name or value, and a file that ends without its end line (truncated) or
// whose end line's count differs. fn's error stops it, wrapped with the
// line. It returns the header and the number of domains read.
func ReadExport(r io.Reader, fn func(line int, rec ExportRecord) error) (ExportHeader, int64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxExportLine)
	var h ExportHeader
	var n int64
	line, header, ended := 0, false, false
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		if ended {
			return h, n, &ExportError{line, errors.New("text after the end line")}
		}
		if !header {
			header = true
			if err := decodeStrict(text, &h); err != nil {
				return h, n, &ExportError{line, fmt.Errorf("not a reglock export header: %w", err)}
			}
			if h.Format != ExportFormat {
				return h, n, &ExportError{line, fmt.Errorf("format %q, want %q: not a reglock export", h.Format, ExportFormat)}
			}
			if h.Version != ExportVersion {
				return h, n, &ExportError{line, fmt.Errorf("export format version %d; this reglock reads version %d", h.Version, ExportVersion)}
			}
			continue
		}
		var l exportLine
		if err := decodeStrict(text, &l); err != nil {
			return h, n, &ExportError{line, err}
		}
		if l.End != nil || l.Domains != nil {
			if l.End == nil || !*l.End || l.Domains == nil || l.Domain != "" {
				return h, n, &ExportError{line, errors.New(`an end line is exactly {"end":true,"domains":N}`)}
			}
			if *l.Domains != n {
				return h, n, &ExportError{line, fmt.Errorf("the end line counts %d domains, the file holds %d", *l.Domains, n)}
			}
			ended = true
			continue
		}
		rec := l.ExportRecord
		if err := checkRecord(&rec); err != nil {
			return h, n, &ExportError{line, err}
		}
		if fn != nil {
			if err := fn(line, rec); err != nil {
				return h, n, &ExportError{line, err}
			}
		}
		n++
	}
	if err := sc.Err(); err != nil {
		return h, n, &ExportError{line + 1, err}
	}
	if !header {
		return h, n, errors.New("empty file: not a reglock export")
	}
	if !ended {
		return h, n, fmt.Errorf("truncated export: no end line after line %d (%d domains read); nothing was restored", line, n)
	}
	return h, n, nil
}

// decodeStrict decodes one JSON object with no unknown fields and nothing
// after it.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("more than one JSON value on the line")
	}
	return nil
}

// checkRecord checks one domain's record and normalizes its name.
func checkRecord(r *ExportRecord) error {
	if r.Domain == "" {
		return errors.New("domain: missing")
	}
	name, err := tasks.NormalizeDomain(r.Domain)
	if err != nil {
		return fmt.Errorf("domain %q: %w", r.Domain, err)
	}
	r.Domain = name
	switch {
	case r.Provider == "":
		return fmt.Errorf("%s: provider: missing", name)
	case strings.ContainsAny(r.Provider, "|\n"):
		return fmt.Errorf("%s: provider %q: not a provider name", name, r.Provider)
	case r.Generation < 1 || r.Generation > MaxGeneration:
		return fmt.Errorf("%s: generation %d out of range [1, %d]", name, r.Generation, int64(MaxGeneration))
	case r.RelockAt != nil && r.Locked:
		return fmt.Errorf("%s: relock_at on a locked domain: only an unlock has a window", name)
	case r.TradeLock == nil && (r.TradeLockApplied || r.TradeRequestedAt != nil || r.ConsentIP != ""):
		return fmt.Errorf("%s: trade_lock_applied, trade_requested_at and consent_ip need trade_lock", name)
	}
	if r.ConsentIP != "" {
		ip, err := netip.ParseAddr(r.ConsentIP)
		if err != nil {
			return fmt.Errorf("%s: consent_ip %q: %w", name, r.ConsentIP, err)
		}
		r.ConsentIP = ip.String()
	}
	for _, t := range []*time.Time{r.RequestedAt, r.RelockAt, r.TradeRequestedAt} {
		if t != nil && t.UnixMilli() <= 0 {
			return fmt.Errorf("%s: a time before 1970 (%s)", name, t.Format(time.RFC3339))
		}
	}
	return nil
}

// intentValue is a record's intent in the store's format:
// provider|locked|generation|requested_ms|trade|relock_ms|trade_ms|consent_ip|transfer,
// where trade is "" (no setting) or the setting ('1' on, '0' off) followed
// by 'p' (pending) or 'a' (accepted by the registrar).
func intentValue(r ExportRecord) string {
	ms := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return timeMS(*t)
	}
	trade, tradeMS, ip := "", "", ""
	if r.TradeLock != nil {
		trade = boolDigit(*r.TradeLock) + "p"
		if r.TradeLockApplied {
			trade = boolDigit(*r.TradeLock) + "a"
		}
		tradeMS, ip = ms(r.TradeRequestedAt), r.ConsentIP
		if tradeMS == "" {
			tradeMS = ms(r.RequestedAt)
		}
	}
	relock, transfer := "", ""
	if !r.Locked {
		relock = ms(r.RelockAt)
		if r.ForTransfer {
			transfer = "t"
		}
	}
	return strings.Join([]string{r.Provider, boolDigit(r.Locked), strconv.FormatInt(r.Generation, 10), ms(r.RequestedAt),
		trade, relock, tradeMS, ip, transfer}, "|")
}

// RestoreOutcome says what restoring one record did.
type RestoreOutcome string

// The restore outcomes.
const (
	// Restored: the domain was not in the store; it is now.
	Restored RestoreOutcome = "restored"
	// Replaced: the store held an older generation; the record replaced it.
	Replaced RestoreOutcome = "replaced"
	// Kept: the store holds the same or a newer generation; left alone.
	Kept RestoreOutcome = "kept"
)

// restoreScript writes a record's intent unless the store holds the same
// or a newer generation, and keeps what the intent script keeps beside it:
// the provider counters, the windows and the drift index; the domain's
// history records it as an intent from the source "restore".
//
// KEYS: i o e x n q w h. ARGV: domain intent provider locked generation
// relock_ms trade now_ms by reason, then the history limits. Returns
// "restored", "replaced" or "kept".
var restoreScript = redis.NewScript(historyLua + `
local d = ARGV[1]
local cur = redis.call("HGET", KEYS[1], d)
local old = nil
if cur then
  local gen = tonumber(string.match(cur, "^[^|]*|%d|(%d+)|")) or 0
  if gen >= tonumber(ARGV[5]) then return "kept" end
  old = string.match(cur, "^([^|]*)|")
end
redis.call("HSET", KEYS[1], d, ARGV[2])
if old ~= ARGV[3] then
  if old then redis.call("HINCRBY", KEYS[5], old, -1) end
  redis.call("HINCRBY", KEYS[5], ARGV[3], 1)
end
if ARGV[6] ~= "" then
  redis.call("ZADD", KEYS[7], ARGV[6], d)
else
  redis.call("ZREM", KEYS[7], d)
end
local obs = redis.call("HGET", KEYS[2], d)
local err = redis.call("HGET", KEYS[3], d)
if obs and not err and string.sub(obs, 1, 1) == ARGV[4] then
  redis.call("SREM", KEYS[4], d)
else
  redis.call("SADD", KEYS[4], d)
end
local intent = "unlock"
if ARGV[4] == "1" then intent = "lock" end
hist(ARGV[8], "kind", "intent", "gen", ARGV[5], "provider", ARGV[3], "intent", intent, "source", "restore",
  "by", ARGV[9], "reason", ARGV[10], "relock", ARGV[6], "trade", ARGV[7])
if cur then return "replaced" end
return "restored"
`)

// Restore writes records' desired state back, in one round trip: a domain
// the store does not hold is added; one it holds under an older generation
// is replaced; one it holds under the same or a newer generation is kept,
// so that generations never go back and a restore run twice changes
// nothing. Restored domains are out of sync (nothing is observed yet) and
// owe no work: a sweep reads them and fixes what two readings confirm. The
// records must have passed ReadExport. Each domain written has the restore
// in its history, as asked by by for reason. Outcomes come back in order.
func (s *Store) Restore(ctx context.Context, recs []ExportRecord, by, reason string) ([]RestoreOutcome, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	ops := make([]op, 0, 2*len(recs))
	cmds := make([]*redis.Cmd, len(recs))
	marked := map[int]bool{}
	now := timeMS(time.Now())
	for i, r := range recs {
		b := Bucket(r.Domain)
		if !marked[b] {
			marked[b] = true
			// Occupied before the domain exists, as Fold does.
			ops = append(ops, func(p redis.Pipeliner) redis.Cmder { return p.SetBit(ctx, s.occupiedKey(), int64(b), 1) })
		}
		keys := s.withHistory(s.keys(b), r.Domain)
		relock, trade := "", ""
		if !r.Locked && r.RelockAt != nil {
			relock = timeMS(*r.RelockAt)
		}
		if r.TradeLock != nil {
			trade = boolDigit(*r.TradeLock)
		}
		args := s.historyArgs([]any{r.Domain, intentValue(r), r.Provider, boolDigit(r.Locked), strconv.FormatInt(r.Generation, 10),
			relock, trade, now, errorText(by), errorText(reason)})
		ops = append(ops, func(p redis.Pipeliner) redis.Cmder {
			cmds[i] = restoreScript.EvalSha(ctx, p, keys, args...)
			return cmds[i]
		})
	}
	if err := runPipeline(ctx, s.rdb, ops, restoreScript); err != nil {
		return nil, err
	}
	out := make([]RestoreOutcome, len(recs))
	for i, c := range cmds {
		v, err := c.Text()
		if err != nil {
			return nil, err
		}
		out[i] = RestoreOutcome(v)
	}
	return out, nil
}
