package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// ErrBadCursor is returned for a cursor that List did not hand out.
var ErrBadCursor = errors.New("invalid cursor")

// ListOptions filter and page a listing.
type ListOptions struct {
	// Provider keeps only the domains of one provider.
	Provider string
	// Drift keeps only the domains that are not in sync.
	Drift bool
	// Cursor continues a previous listing; empty starts at the beginning.
	Cursor string
	// Limit is the page size: default 100, at most 1000.
	Limit int
}

// Page is one page of a listing. Next is empty at the end; a page may hold
// fewer than Limit domains (even none) before the end, because one call
// reads a bounded share of the inventory.
type Page struct {
	Domains []Domain
	Next    string
}

// maxScanBuckets bounds the occupied buckets one List call reads, so that a
// filter matching nothing cannot make one request read the whole inventory.
const maxScanBuckets = 2048

// occupied returns the bitmap of buckets that hold domains.
func (s *Store) occupied(ctx context.Context) ([]byte, error) {
	b, err := s.rdb.Get(ctx, s.occupiedKey()).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return b, err
}

// isOccupied reads bucket b's bit (Redis bitmaps are big-endian within a byte).
func isOccupied(bitmap []byte, b int) bool {
	i := b / 8
	return i < len(bitmap) && bitmap[i]&(0x80>>(b%8)) != 0
}

// List returns one page of domains in a stable order (by bucket, then name).
func (s *Store) List(ctx context.Context, opt ListOptions) (Page, error) {
	if opt.Limit <= 0 {
		opt.Limit = 100
	}
	if opt.Limit > 1000 {
		opt.Limit = 1000
	}
	b, after, err := parseCursor(opt.Cursor)
	if err != nil {
		return Page{}, err
	}
	bitmap, err := s.occupied(ctx)
	if err != nil {
		return Page{}, err
	}
	var out []Domain
	batch, scanned := 8, 0
	for b < Buckets && scanned < maxScanBuckets {
		// The next batch of occupied buckets.
		var ids []int
		for ; b < Buckets && len(ids) < batch; b++ {
			if isOccupied(bitmap, b) {
				ids = append(ids, b)
			}
		}
		if len(ids) == 0 {
			break
		}
		buckets, err := s.readBuckets(ctx, ids, opt.Drift)
		if err != nil {
			return Page{}, err
		}
		for j, doms := range buckets {
			for _, d := range doms {
				if after != "" && d.Name <= after {
					continue
				}
				if opt.Provider != "" && d.Desired.Provider != opt.Provider {
					continue
				}
				out = append(out, d)
				if len(out) == opt.Limit {
					return Page{Domains: out, Next: formatCursor(ids[j], d.Name)}, nil
				}
			}
			after = "" // only the first bucket resumes mid-way
		}
		scanned += len(ids)
		batch = min(batch*2, 512)
	}
	p := Page{Domains: out}
	if b < Buckets && scanned >= maxScanBuckets {
		p.Next = formatCursor(b, "")
	}
	return p, nil
}

// readBuckets reads the given buckets in one round trip (two for drift
// listings), each bucket's domains sorted by name.
func (s *Store) readBuckets(ctx context.Context, ids []int, driftOnly bool) ([][]Domain, error) {
	if driftOnly {
		return s.readDrift(ctx, ids)
	}
	pipe := s.rdb.Pipeline()
	cmds := make([][4]*redis.MapStringStringCmd, len(ids))
	for j, b := range ids {
		k := s.keys(b)
		cmds[j] = [4]*redis.MapStringStringCmd{pipe.HGetAll(ctx, k[keyIntent]), pipe.HGetAll(ctx, k[keyObserved]),
			pipe.HGetAll(ctx, k[keyError]), pipe.HGetAll(ctx, k[keyWork])}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	out := make([][]Domain, len(ids))
	for j, c := range cmds {
		intents, obs, errs, work := c[0].Val(), c[1].Val(), c[2].Val(), c[3].Val()
		doms := make([]Domain, 0, len(intents))
		for name, iv := range intents {
			d, err := decodeDomain(name, iv, obs[name], errs[name])
			if err != nil {
				return nil, err
			}
			if len(work) > 0 {
				if m, ok := work["m:"+name]; ok {
					d.Work.Mark, d.Work.Pending = parseMark(m), true
				}
				if l, ok := work["l:"+name]; ok {
					d.Work.LeaseUntil = leaseUntil(l)
				}
			}
			doms = append(doms, d)
		}
		slices.SortFunc(doms, func(a, b Domain) int { return strings.Compare(a.Name, b.Name) })
		out[j] = doms
	}
	return out, nil
}

// readDrift reads the drift index of the given buckets, then the records of
// the drifted domains.
func (s *Store) readDrift(ctx context.Context, ids []int) ([][]Domain, error) {
	pipe := s.rdb.Pipeline()
	sets := make([]*redis.StringSliceCmd, len(ids))
	for j, b := range ids {
		sets[j] = pipe.SMembers(ctx, s.keys(b)[keyDrift])
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	type get struct{ i, o, e *redis.StringCmd }
	gets := make([][]get, len(ids))
	pipe = s.rdb.Pipeline()
	queued := false
	for j, c := range sets {
		names := c.Val()
		slices.Sort(names)
		k := s.keys(ids[j])
		for _, name := range names {
			gets[j] = append(gets[j], get{pipe.HGet(ctx, k[keyIntent], name), pipe.HGet(ctx, k[keyObserved], name), pipe.HGet(ctx, k[keyError], name)})
			queued = true
		}
	}
	if queued {
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
	}
	out := make([][]Domain, len(ids))
	for j, names := range sets {
		for x, name := range names.Val() {
			g := gets[j][x]
			if g.i.Val() == "" {
				continue // left in the index by a domain that is gone
			}
			d, err := decodeDomain(name, g.i.Val(), g.o.Val(), g.e.Val())
			if err != nil {
				return nil, err
			}
			out[j] = append(out[j], d)
		}
	}
	return out, nil
}

// Chunks is the number of chunks a sweep splits the inventory into.
const Chunks = Buckets / chunkBuckets

const chunkBuckets = 64

// scanBatch is how many buckets ScanChunk hands over at a time: about 500
// domains at a million, so a sweep's memory does not grow with the inventory.
const scanBatch = 8

// OccupiedChunks returns the chunks that hold at least one domain.
func (s *Store) OccupiedChunks(ctx context.Context) ([]int, error) {
	bitmap, err := s.occupied(ctx)
	if err != nil {
		return nil, err
	}
	var out []int
	for c := range Chunks {
		for b := c * chunkBuckets; b < (c+1)*chunkBuckets; b++ {
			if isOccupied(bitmap, b) {
				out = append(out, c)
				break
			}
		}
	}
	return out, nil
}

// ScanChunk calls fn with the domains of one chunk (0 <= chunk < Chunks), a
// few buckets at a time, in (bucket, name) order, starting after cursor (as
// returned by Cursor; "" for the start). It stops early when fn returns false.
func (s *Store) ScanChunk(ctx context.Context, chunk int, cursor string, fn func([]Domain) bool) error {
	if chunk < 0 || chunk >= Chunks {
		return fmt.Errorf("store: chunk %d out of range [0,%d)", chunk, Chunks)
	}
	from, after, err := parseCursor(cursor)
	if err != nil {
		return err
	}
	bitmap, err := s.occupied(ctx)
	if err != nil {
		return err
	}
	first := max(from, chunk*chunkBuckets)
	var ids []int
	for b := first; b < (chunk+1)*chunkBuckets; b++ {
		if isOccupied(bitmap, b) {
			ids = append(ids, b)
		}
	}
	for start := 0; start < len(ids); start += scanBatch {
		batch := ids[start:min(start+scanBatch, len(ids))]
		buckets, err := s.readBuckets(ctx, batch, false)
		if err != nil {
			return err
		}
		var doms []Domain
		for j, bd := range buckets {
			for _, d := range bd {
				if batch[j] == from && after != "" && d.Name <= after {
					continue
				}
				doms = append(doms, d)
			}
		}
		if len(doms) > 0 && !fn(doms) {
			return nil
		}
	}
	return nil
}

// Cursor is the position just after domain, for ScanChunk and List.
func Cursor(domain string) string { return formatCursor(Bucket(domain), domain) }

// formatCursor encodes a position: the bucket to continue in and the last
// name returned from it.
func formatCursor(bucket int, after string) string {
	return strconv.FormatInt(int64(bucket), 16) + ":" + after
}

func parseCursor(c string) (int, string, error) {
	if c == "" {
		return 0, "", nil
	}
	bs, after, ok := strings.Cut(c, ":")
	b, err := strconv.ParseInt(bs, 16, 32)
	if !ok || err != nil || b < 0 || b >= Buckets || len(after) > 253 {
		return 0, "", ErrBadCursor
	}
	return int(b), after, nil
}
