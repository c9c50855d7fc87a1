package edge

import (
	"context"
	"hash/maphash"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyless-dev/keyless/internal/audit"
)

// Limits bound what a source that does not authenticate can cost: every
// refused request is audited, and an audit event is about a kilobyte on
// disk, so a source's refused requests (no or a bad signature, a bad
// token, a malformed request) spend a budget that refills at PerSecond up
// to Burst. A source with no budget left gets AWS's Throttling for every
// request until it refills. Those requests are not audited one by one but
// counted, and recorded as one event per source and ReportEvery: the
// trail still accounts for every request, at a bounded size.
type Limits struct {
	PerSecond float64
	Burst     int
	// ReportEvery is the interval of the aggregated events.
	ReportEvery time.Duration
	// MaxSources bounds the sources tracked at once (memory); past it, a
	// new source is not limited until the table has room again: a budget
	// shared by untracked sources would let a flood from many addresses
	// throttle clients it shares nothing with. The disk stays bounded by
	// the audit trail's retention and the free-space watermark.
	MaxSources int
}

// limiter holds each source's budget, in shards so that sources rarely
// contend for a lock.
type limiter struct {
	o       Limits
	seed    maphash.Seed
	shards  [16]shard
	tracked atomic.Int64
}

type shard struct {
	mu      sync.RWMutex
	sources map[string]*budget
}

// budget is one source's token bucket and what was throttled since its
// last report.
type budget struct {
	tokens float64
	at     time.Time // when tokens was last brought up to date

	spent     map[string]int // refusal codes that spent the budget this interval
	throttled int
	ops       map[string]int // surface of each throttled request
	first     time.Time      // first throttled request of this interval
	last      time.Time
}

func newLimiter(o Limits) *limiter {
	if o.MaxSources <= 0 {
		o.MaxSources = 100_000
	}
	if o.ReportEvery <= 0 {
		o.ReportEvery = time.Minute
	}
	l := &limiter{o: o, seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].sources = map[string]*budget{}
	}
	return l
}

// SourceKey is what a source is limited by: its IPv4 address, or its
// IPv6 /64 (one host usually holds a whole /64).
func SourceKey(ip string) string {
	if strings.IndexByte(ip, ':') < 0 {
		return ip // IPv4, as net/http formats RemoteAddr: already canonical
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

func (l *limiter) shard(key string) *shard {
	return &l.shards[maphash.String(l.seed, key)%uint64(len(l.shards))]
}

// refill brings b's tokens up to now.
func (l *limiter) refill(b *budget, now time.Time) {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = min(float64(l.o.Burst), b.tokens+d.Seconds()*l.o.PerSecond)
		b.at = now
	}
}

// throttle reports whether key has no budget left, and counts the
// request for the interval's report if so.
func (l *limiter) throttle(key, surface string, now time.Time) bool {
	if l.tracked.Load() == 0 {
		return false // no source spent anything lately: the common case costs one load
	}
	s := l.shard(key)
	s.mu.RLock()
	_, ok := s.sources[key]
	s.mu.RUnlock()
	if !ok {
		return false // sources that spend nothing never take the write lock
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.sources[key]
	return ok && l.take(b, surface, now)
}

// take decides for one budget; the caller holds its lock.
func (l *limiter) take(b *budget, surface string, now time.Time) bool {
	l.refill(b, now)
	if b.tokens >= 1 {
		return false
	}
	if b.throttled == 0 {
		b.first = now
		b.ops = map[string]int{}
	}
	b.throttled++
	b.ops[surface]++
	b.last = now
	return true
}

// spend takes one token from key's budget for a request answered with
// code that did not answer for itself.
func (l *limiter) spend(key, code string, now time.Time) {
	s := l.shard(key)
	s.mu.Lock()
	b, ok := s.sources[key]
	if !ok && l.tracked.Load() < int64(l.o.MaxSources) {
		b = &budget{tokens: float64(l.o.Burst), at: now}
		s.sources[key] = b
		l.tracked.Add(1)
		ok = true
	}
	if ok {
		l.charge(b, code, now)
	}
	s.mu.Unlock()
}

func (l *limiter) charge(b *budget, code string, now time.Time) {
	l.refill(b, now)
	b.tokens = max(b.tokens-1, 0)
	if b.spent == nil {
		b.spent = map[string]int{}
	}
	b.spent[code]++
}

// ThrottleReport is the aggregated record of one source's throttled requests
// in one interval.
type ThrottleReport struct {
	Source      string
	Count       int
	First, Last time.Time
	// Spent counts the refusals, by error code, that spent the source's
	// budget in the interval.
	Spent map[string]int
	// Surfaces counts the throttled requests by surface.
	Surfaces map[string]int
}

// report returns the sources whose interval has ended (all of them when
// final), resets them, and forgets sources whose budget is full again.
func (l *limiter) report(now time.Time, final bool) []ThrottleReport {
	var out []ThrottleReport
	due := func(key string, b *budget) bool {
		if b.throttled > 0 && (final || now.Sub(b.first) >= l.o.ReportEvery) {
			out = append(out, ThrottleReport{Source: key, Count: b.throttled, First: b.first, Last: b.last, Spent: b.spent, Surfaces: b.ops})
			b.throttled, b.ops, b.spent = 0, nil, nil
		}
		l.refill(b, now)
		return b.throttled == 0 && b.tokens >= float64(l.o.Burst) // nothing left to remember
	}
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		for key, b := range s.sources {
			if due(key, b) {
				delete(s.sources, key)
				l.tracked.Add(-1)
			}
		}
		s.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Source < out[j].Source })
	return out
}

// counts formats a count map as "a=1,b=2", sorted by key.
func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.Itoa(m[k]))
	}
	return b.String()
}

// ThrottledEvent is the name of the aggregated event of a source's
// throttled requests.
const ThrottledEvent = "ThrottledRequests"

// Flush records one aggregated event for every source whose interval has
// ended, or for every source with throttled requests when final (at
// shutdown). The server calls it every second, on a goroutine of its own.
// The events are recorded concurrently, so that group commit stores many
// in one write; a count whose event could not be stored is put back and
// reported with the next interval's.
func (e *Edge) Flush(ctx context.Context, final bool) {
	if e.limiter == nil {
		return
	}
	ctx = context.WithoutCancel(ctx) // a shutdown must not lose the counts
	var (
		wg  sync.WaitGroup
		sem = make(chan struct{}, 64)
	)
	for _, t := range e.limiter.report(e.o.Clock.Now(), final) {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := e.o.Audit.Record(rctx, e.throttledEvent(t), t.First, false); err != nil {
				e.limiter.restore(t)
				if ok, suppressed := e.logs.allow("throttle-report"); ok {
					e.o.Logger.Error("the aggregated event of throttled requests was not stored; its count is kept for the next one",
						"source", t.Source, "requests", t.Count, "err", err, "suppressed_since_last", suppressed)
				}
			}
		}()
	}
	wg.Wait()
}

// throttledEvent is the aggregated event of one source's interval.
func (e *Edge) throttledEvent(t ThrottleReport) *audit.Event {
	return &audit.Event{
		EventVersion: audit.EventVersion, UserIdentity: audit.UserIdentity{Type: "Unknown"},
		EventTime: t.First.UTC().Format(time.RFC3339), EventSource: "keyless", EventName: ThrottledEvent,
		SourceIPAddress: t.Source, ErrorCode: "Throttling", ErrorMessage: "Rate exceeded",
		RequestID: audit.UUID(e.o.Random), EventID: audit.UUID(e.o.Random), EventType: audit.EventType,
		EventCategory: audit.Category,
		AdditionalEventData: map[string]string{
			"throttledRequests": strconv.Itoa(t.Count),
			"firstTime":         t.First.UTC().Format(time.RFC3339Nano),
			"lastTime":          t.Last.UTC().Format(time.RFC3339Nano),
			"surfaces":          counts(t.Surfaces),
			"spentBy":           counts(t.Spent),
			"limit":             strconv.FormatFloat(e.o.Limits.PerSecond, 'g', -1, 64) + "/s, burst " + strconv.Itoa(e.o.Limits.Burst),
		},
	}
}

// restore puts back the counts of a report whose event was not stored.
func (l *limiter) restore(t ThrottleReport) {
	s := l.shard(t.Source)
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.sources[t.Source]
	if !ok {
		b = &budget{at: t.Last}
		s.sources[t.Source] = b
		l.tracked.Add(1)
	}
	if b.throttled == 0 || t.First.Before(b.first) {
		b.first = t.First
	}
	if t.Last.After(b.last) {
		b.last = t.Last
	}
	b.throttled += t.Count
	if b.ops == nil {
		b.ops = map[string]int{}
	}
	for k, n := range t.Surfaces {
		b.ops[k] += n
	}
	if b.spent == nil {
		b.spent = map[string]int{}
	}
	for k, n := range t.Spent {
		b.spent[k] += n
	}
}
