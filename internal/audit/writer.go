package audit

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/keyless-dev/keyless/internal/storage"
)

// ErrClosed is returned once the writer has shut down.
var ErrClosed = errors.New("audit: writer closed")

// Writer stores events with group commit.
type Writer struct {
	store    storage.AuditLog
	log      *slog.Logger
	queue    chan *pending
	maxBatch int

	closeOnce sync.Once
	closed    chan struct{}
	done      chan struct{}
	mu        sync.RWMutex // held for reading while enqueueing, for writing by Close
}

type pending struct {
	rec  storage.AuditRecord
	done chan error
}

// NewWriter starts a writer. It must be closed.
func NewWriter(store storage.AuditLog, log *slog.Logger) *Writer {
	w := &Writer{
		store:    store,
		log:      log,
		queue:    make(chan *pending, 4096),
		maxBatch: 512,
		closed:   make(chan struct{}),
		done:     make(chan struct{}),
	}
	go w.run()
	return w
}

// Record encodes ev and returns once it is durably stored, or with the
// error that prevented it. t is the event time, used for indexing.
func (w *Writer) Record(ctx context.Context, ev *Event, t time.Time) error {
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
		batch = append(batch[:0], first)
	fill:
		for len(batch) < w.maxBatch {
			select {
			case p, ok := <-w.queue:
				if !ok {
					break fill
				}
				batch = append(batch, p)
			default:
				break fill
			}
		}
		recs = recs[:0]
		for _, p := range batch {
			recs = append(recs, p.rec)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := w.store.AppendAudit(ctx, recs)
		cancel()
		if err != nil {
			w.log.Error("audit write failed; refusing the requests", "events", len(recs), "err", err)
		}
		for _, p := range batch {
			p.done <- err
		}
	}
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
