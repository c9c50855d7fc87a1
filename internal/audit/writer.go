package audit

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/kek"
	"github.com/keyless-dev/keyless/internal/storage"
)

// ErrClosed is returned once the writer has shut down.
var ErrClosed = errors.New("audit: writer closed")

// Recorder is what the edges store events through: Begin announces that a
// request will Record its event, so that a group commit can wait for it.
type Recorder interface {
	Begin()
	Record(ctx context.Context, ev *Event, t time.Time, begun bool) error
}

// Trail is where a Writer keeps the audit trail: the log, and the
// evidence about it kept outside it.
type Trail interface {
	storage.AuditLog
	storage.AuditCheckpoints
	storage.AuditDigests
	storage.SealedKeys
}

// WriterOptions configure a Writer.
type WriterOptions struct {
	Trail  Trail
	Logger *slog.Logger
	// Observe, if not nil, is told the size and duration of every group
	// commit (for metrics).
	Observe func(events int, took time.Duration)
	// Clock times checkpoints, digests, retention and the writer's own
	// events. Default: the system clock.
	Clock clock.Clock
	// Random makes the writer's own events' ids. Default: crypto/rand.
	Random io.Reader
	// Key signs digests (OpenDigestKey); nil: no digests.
	Key *DigestKey
	// KEK returns the key-encryption keys in force: Key is re-sealed
	// under the current one when they rotate. nil: never re-sealed.
	KEK func() *kek.Set
	// DigestEvery is how often a digest is signed while events arrive;
	// one more is signed at Close. 0: only at Close.
	DigestEvery time.Duration
	// RetainFor and RetainMaxBytes bound a log kept in segments
	// (storage.AuditSegments): closed segments that closed more than
	// RetainFor ago, and the oldest while the log takes more than
	// RetainMaxBytes, are deleted, each deletion recorded in the trail
	// first. 0: no bound.
	RetainFor      time.Duration
	RetainMaxBytes int64
}

// keepEvery is how often the writer checkpoints the chain's head (when
// something was appended), compresses closed segments and applies
// retention: often enough that a checkpoint is at most a second behind,
// rarely enough that its write costs nothing beside the log's own fsyncs.
const keepEvery = time.Second

// Writer stores events with group commit, and keeps the evidence about
// the log outside it: checkpoints, signed digests, and the records of
// retention.
type Writer struct {
	o        WriterOptions
	queue    chan *pending
	maxBatch int
	// inflight counts requests that have begun (Begin) and will soon
	// Record an event; the writer briefly waits for them so that one
	// commit covers them too (PostgreSQL's commit_delay, applied only when
	// there are siblings to wait for).
	inflight atomic.Int64
	maxDelay time.Duration

	closeOnce sync.Once
	closed    chan struct{}
	done      chan struct{} // run has returned
	kept      chan struct{} // keep has returned
	mu        sync.RWMutex  // held for reading while enqueueing, for writing by Close

	hmu  sync.Mutex
	head storage.AuditRecord // the last record this writer stored (Seq 0: none yet)

	kmu sync.Mutex // held by housekeep
	k   keeping
	c   complaints
}

type pending struct {
	rec  storage.AuditRecord
	done chan error
}

// NewWriter starts a writer. It must be closed.
func NewWriter(o WriterOptions) *Writer {
	if o.Observe == nil {
		o.Observe = func(int, time.Duration) {}
	}
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	if o.Random == nil {
		o.Random = rand.Reader
	}
	w := &Writer{
		o:        o,
		queue:    make(chan *pending, 4096),
		maxBatch: 512,
		maxDelay: 200 * time.Microsecond,
		closed:   make(chan struct{}),
		done:     make(chan struct{}),
		kept:     make(chan struct{}),
		c:        complaints{kinds: map[string]*complaint{}},
	}
	w.k.nextDigest = o.Clock.Now().Add(o.DigestEvery)
	go w.run()
	go w.keep()
	return w
}

// Begin announces a request that will Record exactly one event. Calling it
// is optional; it lets a commit wait for that event instead of leaving it
// to the next one.
func (w *Writer) Begin() { w.inflight.Add(1) }

// InFlight is how many requests have begun and not yet recorded: zero
// when the server is idle, whatever happened to earlier requests.
func (w *Writer) InFlight() int64 { return w.inflight.Load() }

// Record encodes ev and returns once it is durably stored, or with the
// error that prevented it. t is the event time, used for indexing. A
// request that called Begin must call Record once.
func (w *Writer) Record(ctx context.Context, ev *Event, t time.Time, begun bool) error {
	if begun {
		defer w.inflight.Add(-1)
	}
	p := &pending{
		rec: storage.AuditRecord{
			Time:         t,
			EventName:    ev.EventName,
			AccessKeyID:  ev.UserIdentity.AccessKeyID,
			IssuedKeyID:  ev.IssuedKeyID,
			PrincipalARN: ev.UserIdentity.ARN,
			ErrorCode:    ev.ErrorCode,
			JSON:         Encode(ev),
		},
		done: make(chan error, 1),
	}
	w.mu.RLock()
	select {
	case <-w.closed:
		w.mu.RUnlock()
		return ErrClosed
	default:
	}
	select {
	case w.queue <- p:
		w.mu.RUnlock()
	case <-ctx.Done():
		w.mu.RUnlock()
		return ctx.Err()
	}
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		// The event may still be stored; the caller fails the request
		// either way, so nothing is handed out unrecorded.
		return ctx.Err()
	}
}

func (w *Writer) run() {
	defer close(w.done)
	batch := make([]*pending, 0, w.maxBatch)
	recs := make([]storage.AuditRecord, 0, w.maxBatch)
	for first := range w.queue {
		batch = w.fill(append(batch[:0], first))
		recs = recs[:0]
		for _, p := range batch {
			recs = append(recs, p.rec)
		}
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := w.o.Trail.AppendAudit(ctx, recs)
		cancel()
		w.o.Observe(len(recs), time.Since(start))
		if err != nil {
			w.complain("write", "audit write failed; refusing the requests", err, "events", len(recs))
		} else {
			w.hmu.Lock()
			w.head = recs[len(recs)-1] // its Seq and Hash set by the store
			w.hmu.Unlock()
		}
		for _, p := range batch {
			p.done <- err
		}
	}
}

// fill adds queued events to batch: everything already waiting, then, while
// requests that have begun have not yet recorded and maxDelay has not
// passed, whatever they record.
func (w *Writer) fill(batch []*pending) []*pending {
	var deadline time.Time
	for len(batch) < w.maxBatch {
		select {
		case p, ok := <-w.queue:
			if !ok {
				return batch
			}
			batch = append(batch, p)
			continue
		default:
		}
		// Every begun request whose event is not in this batch yet is
		// still being handled; waiting a little for them costs less than a
		// commit of their own.
		if w.inflight.Load() <= int64(len(batch)) {
			return batch
		}
		if deadline.IsZero() {
			deadline = time.Now().Add(w.maxDelay)
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			return batch
		}
		select {
		case p, ok := <-w.queue:
			if !ok {
				return batch
			}
			batch = append(batch, p)
		case <-time.After(wait):
			return batch
		}
	}
	return batch
}

// keep runs the housekeeping, and apart from it the compression and
// retention of segments, every keepEvery until Close.
func (w *Writer) keep() {
	defer close(w.kept)
	tidied := make(chan struct{})
	// Tidying (a paced compression may take many seconds) stops at Close
	// rather than hold the stop up.
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-w.closed
		cancel()
	}()
	go func() {
		defer close(tidied)
		w.every(func() { w.tidy(ctx) })
	}()
	w.every(func() { w.housekeep(context.Background(), false) })
	<-tidied
}

// every runs fn every keepEvery until Close.
func (w *Writer) every(fn func()) {
	t := time.NewTicker(keepEvery)
	defer t.Stop()
	for {
		select {
		case <-w.closed:
			return
		case <-t.C:
			fn()
		}
	}
}

// Close stops accepting events, stores those already queued, takes a last
// checkpoint, signs a last digest and returns.
func (w *Writer) Close() {
	w.closeOnce.Do(func() {
		w.mu.Lock()
		close(w.closed)
		close(w.queue)
		w.mu.Unlock()
		<-w.done
		<-w.kept
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		w.housekeep(ctx, true)
		cancel()
	})
	<-w.done
}
