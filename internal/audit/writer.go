package audit

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

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

// Writer stores events with group commit.
type Writer struct {
	store    storage.AuditLog
	log      *slog.Logger
	queue    chan *pending
	maxBatch int
	// inflight counts requests that have begun (Begin) and will soon
	// Record an event; the writer briefly waits for them so that one
	// commit covers them too (PostgreSQL's commit_delay, applied only when
	// there are siblings to wait for).
	inflight atomic.Int64
	maxDelay time.Duration
	observe  func(events int, took time.Duration)

	closeOnce sync.Once
	closed    chan struct{}
	done      chan struct{}
	mu        sync.RWMutex // held for reading while enqueueing, for writing by Close
}

type pending struct {
	rec  storage.AuditRecord
	done chan error
}

// NewWriter starts a writer. observe, if not nil, is told the size and
// duration of every group commit (for metrics). The writer must be closed.
func NewWriter(store storage.AuditLog, log *slog.Logger, observe func(events int, took time.Duration)) *Writer {
	if observe == nil {
		observe = func(int, time.Duration) {}
	}
	w := &Writer{
		store:    store,
		log:      log,
		queue:    make(chan *pending, 4096),
		maxBatch: 512,
		maxDelay: 200 * time.Microsecond,
		observe:  observe,
		closed:   make(chan struct{}),
		done:     make(chan struct{}),
	}
	go w.run()
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
		err := w.store.AppendAudit(ctx, recs)
		cancel()
		w.observe(len(recs), time.Since(start))
		if err != nil {
			w.log.Error("audit write failed; refusing the requests", "events", len(recs), "err", err)
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

// Close stops accepting events, stores those already queued and returns.
func (w *Writer) Close() {
	w.closeOnce.Do(func() {
		w.mu.Lock()
		close(w.closed)
		close(w.queue)
		w.mu.Unlock()
	})
	<-w.done
}
