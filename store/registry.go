package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// A domain's registry view is what the second witness (RDAP, the registry's
// public record) last said of it, beside the registrar's word
// (observation):
//
//	<prefix>{b}:r   hash domain -> tp|stp|pt|read_ms|db_ms|reg_ms|xfer_ms|chg_ms
//
// tp: transfer prohibited (client or server), stp: by the registry itself,
// pt: a transfer pending ("1" or "0"); read_ms: when reglock asked; db_ms:
// how fresh the registry's answer was ("last update of RDAP database");
// reg_ms, xfer_ms, chg_ms: when the domain was registered, last
// transferred, last changed — the dates the policy windows start from.

// RegistryView is the registry's word on a domain.
type RegistryView struct {
	Domain             string
	TransferProhibited bool
	ByRegistry         bool
	PendingTransfer    bool
	ReadAt             time.Time
	// DatabaseUpdated is how fresh the registry's answer was.
	DatabaseUpdated                      time.Time
	Registered, Transferred, LastChanged time.Time
}

func (s *Store) registryKey(b int) string { return s.bucketTag(b) + "r" }

// setRegistryScript records a view, for a domain still in the inventory.
// KEYS: i r. ARGV: domain view.
var setRegistryScript = redis.NewScript(`
if redis.call("HEXISTS", KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call("HSET", KEYS[2], ARGV[1], ARGV[2])
return 1
`)

// SetRegistryView records the registry's word on a domain in the inventory
// (a domain forgotten meanwhile is left alone).
func (s *Store) SetRegistryView(ctx context.Context, v RegistryView) error {
	b := Bucket(v.Domain)
	return setRegistryScript.Run(ctx, s.rdb, []string{s.keys(b)[keyIntent], s.registryKey(b)}, v.Domain, encodeView(v)).Err()
}

// RegistryView returns the registry's last word on a domain; false if none
// was recorded.
func (s *Store) RegistryView(ctx context.Context, domain string) (RegistryView, bool, error) {
	v, err := s.rdb.HGet(ctx, s.registryKey(Bucket(domain)), domain).Result()
	if errors.Is(err, redis.Nil) {
		return RegistryView{}, false, nil
	}
	if err != nil {
		return RegistryView{}, false, err
	}
	return decodeView(domain, v), true, nil
}

func encodeView(v RegistryView) string {
	return strings.Join([]string{boolDigit(v.TransferProhibited), boolDigit(v.ByRegistry), boolDigit(v.PendingTransfer),
		timeMS(v.ReadAt), timeMS(v.DatabaseUpdated), timeMS(v.Registered), timeMS(v.Transferred), timeMS(v.LastChanged)}, "|")
}

func decodeView(domain, s string) RegistryView {
	var f [8]string
	splitFields(s, f[:])
	return RegistryView{Domain: domain, TransferProhibited: f[0] == "1", ByRegistry: f[1] == "1", PendingTransfer: f[2] == "1",
		ReadAt: msTime(f[3]), DatabaseUpdated: msTime(f[4]), Registered: msTime(f[5]), Transferred: msTime(f[6]), LastChanged: msTime(f[7])}
}
