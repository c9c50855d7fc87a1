package auditfile

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/storage"
)

// Options tune a Log.
type Options struct {
	// SegmentMaxBytes closes the open segment once it holds this many
	// bytes; 0: no limit.
	SegmentMaxBytes int64
	// SegmentMaxAge closes the open segment once a record is this much
	// later than its first; 0: no limit.
	SegmentMaxAge time.Duration
	// Legacy is the single audit file of earlier keyless versions
	// (data_dir/audit.log), if any: it is read as the first segment, and
	// compressed into the directory like any closed segment.
	Legacy string
}

// Log is an audit log kept in segment files in one directory.
type Log struct {
	dir string
	o   Options

	mu     sync.Mutex // held by appends
	locks  []*os.File // flocked after the first append: the directory's lock file, and Legacy's
	f      *os.File   // the open segment, once one was opened or created
	first  int64      // the open segment's first seq (from its name)
	size   int64      // its bytes
	start  time.Time  // the time of its first record; zero while it is empty
	seq    int64
	head   [32]byte
	loaded bool
	buf    bytes.Buffer

	smu    sync.Mutex          // held while compressing or deleting segments
	firsts map[int64]time.Time // the time of each segment's first record, by its first seq
}

var (
	_ storage.AuditLog      = (*Log)(nil)
	_ storage.AuditSegments = (*Log)(nil)
)

// Open returns the log in dir, creating the directory if needed. It locks
// nothing; Start or the first AppendAudit does.
func Open(dir string, o Options) (*Log, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return &Log{dir: dir, o: o, firsts: map[int64]time.Time{}}, nil
}

// Start takes the lock and reads the chain's head now, as a server starts,
// instead of at the first append: a log another process holds, or whose
// last record does not parse, stops the start rather than every request.
func (l *Log) Start(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.loaded {
		return nil
	}
	if err := l.prepare(ctx); err != nil {
		l.reset()
		return err
	}
	return nil
}

// compressRate paces the compression of closed segments, in bytes read
// per second: compressing a whole 64 MiB segment at once took a core for a
// third of a second and showed in requests' p99 on two cores, and at 16
// MiB/s it still cost make bench's sustained load about 20 us of CPU per
// request; at 4 MiB/s (a 64 MiB segment in 16 s) it is background work
// that yields to requests. Under sustained load closed segments wait their
// turn (retention counts them as they are) and are compressed once it
// eases.
const compressRate = 4 << 20

// pacedReader reads at most rate bytes a second, until ctx is done (a
// stopping server does not wait for a compression to finish: the segment
// stays as it is, and is compressed after the next start). A reader held
// up (its goroutine starved of CPU under load) does not catch up in a
// burst afterwards: it keeps at most pacedSlack of credit.
type pacedReader struct {
	ctx  context.Context
	r    io.Reader
	rate float64 // bytes a second
	next time.Time
	now  func() time.Time
	wait func(context.Context, time.Duration) error
}

func paced(ctx context.Context, r io.Reader, rate int) *pacedReader {
	return &pacedReader{ctx: ctx, r: r, rate: float64(rate), now: time.Now, wait: clock.Sleep}
}

// pacedChunk is the most a paced read returns, and pacedSlack how far
// ahead of its pace a reader may run before it waits (a few waits a
// second rather than one per read: gzip's reader returns 32 KiB at most),
// and how much credit one held up keeps.
const (
	pacedChunk = 256 << 10
	pacedSlack = time.Second / 16
)

func (p *pacedReader) Read(b []byte) (int, error) {
	if len(b) > pacedChunk {
		b = b[:pacedChunk]
	}
	now := p.now()
	if d := p.next.Sub(now); d > pacedSlack {
		if err := p.wait(p.ctx, d); err != nil {
			return 0, err
		}
		now = p.now()
	}
	n, err := p.r.Read(b)
	if floor := now.Add(-pacedSlack); p.next.Before(floor) {
		p.next = floor // no catching up on time it was held up
	}
	p.next = p.next.Add(time.Duration(float64(n) / p.rate * float64(time.Second)))
	return n, err
}

// Level is the gzip level of closed segments: the fastest. Under sustained
// load (make bench writes about 13 MB of events a second) the default
// level cost 14% of the server's CPU; the fastest costs about a third of
// that, for a slightly larger file (docs/operations.md, "Disk budget").
const Level = gzip.BestSpeed

// Dir is the directory of the segments.
func (l *Log) Dir() string { return l.dir }

// ErrLocked is returned when another process is appending to the log.
var ErrLocked = errors.New("auditfile: another keyless process is writing this audit log")

// lockName is the file that one appending process locks.
const lockName = "lock"

// segment is one file of the log: closed ones are compressed (gz), the
// open one, the last, never is.
type segment struct {
	first  int64
	path   string
	gz     bool
	legacy bool
}

// segmentName is the file name of the segment that starts at first.
func segmentName(first int64) string { return fmt.Sprintf("audit-%012d.log", first) }

// parseName reads a segment file's name: its first seq, and whether it is
// compressed.
func parseName(name string) (first int64, gz, ok bool) {
	rest, found := strings.CutPrefix(name, "audit-")
	if !found {
		return 0, false, false
	}
	if r, found := strings.CutSuffix(rest, ".log.gz"); found {
		rest, gz = r, true
	} else if rest, found = strings.CutSuffix(rest, ".log"); !found {
		return 0, false, false
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || n < 1 || strings.HasPrefix(rest, "+") {
		return 0, false, false
	}
	return n, gz, true
}

// segments lists the log's files, oldest first. A segment both compressed
// and not (a crash between the compressed copy's rename and the removal
// of the original) is read from its compressed copy, which was complete
// and synced before it got its name.
func (l *Log) segments() ([]segment, error) {
	entries, err := os.ReadDir(l.dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	byFirst := map[int64]segment{}
	for _, e := range entries {
		first, gz, ok := parseName(e.Name())
		if !ok || !e.Type().IsRegular() {
			continue
		}
		if old, dup := byFirst[first]; dup && old.gz {
			continue
		}
		byFirst[first] = segment{first: first, path: filepath.Join(l.dir, e.Name()), gz: gz}
	}
	if l.o.Legacy != "" {
		first, ok, err := legacyFirst(l.o.Legacy)
		if err != nil {
			return nil, err
		}
		if _, dup := byFirst[first]; ok && !dup {
			byFirst[first] = segment{first: first, path: l.o.Legacy, legacy: true}
		}
	}
	out := make([]segment, 0, len(byFirst))
	for _, s := range byFirst {
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b segment) int { return cmp.Compare(a.first, b.first) })
	return out, nil
}

// legacyFirst is the first seq in the legacy file, if it holds a record.
func legacyFirst(path string) (int64, bool, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadBytes('\n')
	if errors.Is(err, io.EOF) {
		return 0, false, nil // empty, or one torn line
	}
	if err != nil {
		return 0, false, err
	}
	r, err := parse(line)
	if err != nil {
		return 0, false, fmt.Errorf("auditfile: first record of %s: %w", path, err)
	}
	return r.Seq, true, nil
}

// open opens a segment for reading. A segment compressed or deleted since
// it was listed is read from its compressed copy, or is fs.ErrNotExist.
func (l *Log) open(s segment) (io.Reader, func(), error) {
	f, err := os.Open(s.path)
	if errors.Is(err, fs.ErrNotExist) && !s.gz {
		s.gz = true
		f, err = os.Open(filepath.Join(l.dir, segmentName(s.first)+".gz"))
	}
	if err != nil {
		return nil, nil, err
	}
	if !s.gz {
		return f, func() { f.Close() }, nil
	}
	zr, err := gzip.NewReader(bufio.NewReaderSize(f, 64<<10))
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("auditfile: %s: %w", s.path, err)
	}
	return zr, func() { zr.Close(); f.Close() }, nil
}

// scan calls fn with each complete record of s, in order. A line without
// its newline at the end is torn (a write that was never acknowledged):
// not a record.
func (l *Log) scan(ctx context.Context, s segment, fn func(storage.AuditRecord) error) error {
	r, done, err := l.open(s)
	if err != nil {
		return err
	}
	defer done()
	rd := bufio.NewReaderSize(r, 256<<10)
	for n := 1; ; n++ {
		line, err := rd.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("auditfile: %s: %w", s.path, err)
		}
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rec, err := parse(line)
		if err != nil {
			return fmt.Errorf("auditfile: %s line %d: %w", s.path, n, err)
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
}

// errStop ends a scan early.
var errStop = errors.New("stop")

// firstRecord is the first record of s, if it holds one.
func (l *Log) firstRecord(ctx context.Context, s segment) (storage.AuditRecord, bool, error) {
	var first storage.AuditRecord
	found := false
	err := l.scan(ctx, s, func(r storage.AuditRecord) error { first, found = r, true; return errStop })
	if errors.Is(err, errStop) {
		err = nil
	}
	return first, found, err
}

// lastRecord is the last record of s, if it holds one.
func (l *Log) lastRecord(ctx context.Context, s segment) (storage.AuditRecord, bool, error) {
	if !s.gz {
		f, err := os.Open(s.path)
		if err != nil {
			return storage.AuditRecord{}, false, err
		}
		defer f.Close()
		end, err := f.Seek(0, io.SeekEnd)
		if err != nil {
			return storage.AuditRecord{}, false, err
		}
		line, _, err := lastLine(f, end)
		if err != nil || len(line) == 0 {
			return storage.AuditRecord{}, false, err
		}
		r, err := parse(line)
		if err != nil {
			return r, false, fmt.Errorf("auditfile: last record of %s: %w", s.path, err)
		}
		return r, true, nil
	}
	var last storage.AuditRecord
	found := false
	err := l.scan(ctx, s, func(r storage.AuditRecord) error { last, found = r, true; return nil })
	return last, found, err
}

// prepare takes the lock, cuts a torn last line off the open segment, and
// reads the chain's head. Closed segments left uncompressed are for
// CompressAuditSegments.
func (l *Log) prepare(ctx context.Context) error {
	if l.locks == nil {
		if err := l.lock(); err != nil {
			return err
		}
	}
	if err := l.cleanup(); err != nil {
		return err
	}
	segs, err := l.segments()
	if err != nil {
		return err
	}
	l.seq, l.head, l.f, l.first, l.size, l.start = 0, [32]byte{}, nil, 0, 0, time.Time{}
	if len(segs) > 0 && segs[len(segs)-1].legacy {
		// The legacy file may end in a line torn by the keyless that
		// wrote it; it is closed, and new records go to a new segment.
		if err := cutTorn(segs[len(segs)-1].path); err != nil {
			return err
		}
	}
	if last := len(segs) - 1; last >= 0 && !segs[last].gz && !segs[last].legacy {
		if err := l.reopen(ctx, segs[last]); err != nil {
			return err
		}
		segs = segs[:last]
	}
	// The head is the last record of the newest segment that holds one.
	for i := len(segs) - 1; i >= 0 && l.seq == 0; i-- {
		r, ok, err := l.lastRecord(ctx, segs[i])
		if err != nil {
			return err
		}
		if ok {
			l.seq, l.head = r.Seq, r.Hash
		}
	}
	if l.f != nil && l.size == 0 && l.first != l.seq+1 {
		// An empty open segment whose name is not the next seq (records
		// before it were lost): the next append starts a segment named
		// right, so that queries find each record by its segment's name.
		l.f.Close()
		l.f = nil
	}
	l.loaded = true
	return nil
}

// reopen makes s the open segment: its torn last line cut off, its first
// record's time and (if it holds one) its last record read.
func (l *Log) reopen(ctx context.Context, s segment) error {
	if err := cutTorn(s.path); err != nil {
		return err
	}
	f, err := os.OpenFile(s.path, os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return err
	}
	l.f, l.first, l.size = f, s.first, end
	first, ok, err := l.firstRecord(ctx, s)
	if err != nil || !ok {
		return err
	}
	l.start = first.Time
	last, _, err := l.lastRecord(ctx, s)
	if err != nil {
		return err
	}
	l.seq, l.head = last.Seq, last.Hash
	return nil
}

// cutTorn cuts off a torn line after the last complete one: its write was
// never acknowledged, so nobody was told it was stored.
func cutTorn(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	last, start, err := lastLine(f, end)
	if err != nil {
		return err
	}
	if keep := start + int64(len(last)); keep < end {
		if err := f.Truncate(keep); err != nil {
			return err
		}
		return f.Sync()
	}
	return nil
}

// lock takes the exclusive locks of an appending process: the directory's
// lock file, and the legacy file's, which an earlier keyless appending to
// it holds.
func (l *Log) lock() error {
	paths := []string{filepath.Join(l.dir, lockName)}
	if l.o.Legacy != "" {
		if _, err := os.Stat(l.o.Legacy); err == nil {
			paths = append(paths, l.o.Legacy)
		}
	}
	var locks []*os.File
	for _, p := range paths {
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
		if err == nil && syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			f.Close()
			err = ErrLocked
		}
		if err != nil {
			for _, f := range locks {
				f.Close()
			}
			return err
		}
		locks = append(locks, f)
	}
	l.locks = locks
	return nil
}

// cleanup removes what a crash in the middle of closing a segment left:
// a temporary compressed copy, or an original whose compressed copy is in
// place.
func (l *Log) cleanup() error {
	entries, err := os.ReadDir(l.dir)
	if err != nil {
		return err
	}
	gz := map[int64]bool{}
	for _, e := range entries {
		if first, isGz, ok := parseName(e.Name()); ok && isGz {
			gz[first] = true
		}
	}
	removed := false
	for _, e := range entries {
		first, isGz, ok := parseName(e.Name())
		if strings.HasSuffix(e.Name(), ".tmp") || (ok && !isGz && gz[first]) {
			if err := os.Remove(filepath.Join(l.dir, e.Name())); err != nil {
				return err
			}
			removed = true
		}
	}
	if l.o.Legacy != "" {
		first, ok, err := legacyFirst(l.o.Legacy)
		if err != nil {
			return err
		}
		if ok && gz[first] {
			if err := os.Remove(l.o.Legacy); err != nil {
				return err
			}
			if err := syncDir(filepath.Dir(l.o.Legacy)); err != nil {
				return err
			}
		}
	}
	if removed {
		return syncDir(l.dir)
	}
	return nil
}

// lastLine returns the last complete line (with its newline) that ends at
// or before end, and its offset.
func lastLine(f *os.File, end int64) ([]byte, int64, error) {
	const chunk = 64 << 10
	var tail []byte
	pos := end
	for pos > 0 {
		n := int64(chunk)
		if pos < n {
			n = pos
		}
		pos -= n
		b := make([]byte, n)
		if _, err := f.ReadAt(b, pos); err != nil {
			return nil, 0, err
		}
		tail = append(b, tail...)
		lastNL := bytes.LastIndexByte(tail, '\n')
		if lastNL < 0 {
			continue
		}
		prevNL := bytes.LastIndexByte(tail[:lastNL], '\n')
		if prevNL >= 0 || pos == 0 {
			return tail[prevNL+1 : lastNL+1], pos + int64(prevNL+1), nil
		}
	}
	return nil, 0, nil
}

// AppendAudit implements storage.AuditLog: one write, one fsync. The audit
// writer calls it with whole group-commit batches. When the open segment
// is full or old, the batch goes to a new segment, created and synced
// (with its directory entry) before anything is written to it; the
// closed one is compressed later (CompressAuditSegments).
func (l *Log) AppendAudit(ctx context.Context, recs []storage.AuditRecord) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.loaded {
		if err := l.prepare(ctx); err != nil {
			l.reset()
			return err
		}
	}
	if err := l.intact(); err != nil {
		return err
	}
	if len(recs) == 0 {
		return nil
	}
	if l.f != nil && l.due(recs[0].Time) {
		if err := l.f.Close(); err != nil {
			l.reset()
			return err
		}
		l.f = nil
	}
	if l.f == nil {
		if err := l.create(l.seq + 1); err != nil {
			l.reset()
			return err
		}
	}
	l.buf.Reset()
	seq, head := l.seq, l.head
	assigned := make([]storage.AuditRecord, len(recs))
	for i, r := range recs {
		seq++
		r.Seq = seq
		head = storage.ChainHash(head, r)
		r.Hash = head
		writeLine(&l.buf, r)
		assigned[i] = r
	}
	if _, err := l.f.Write(l.buf.Bytes()); err != nil {
		l.reset()
		return err
	}
	if err := l.f.Sync(); err != nil {
		// After a failed fsync the page cache cannot be trusted; start
		// again from what is on disk at the next append.
		l.reset()
		return err
	}
	if l.size == 0 {
		l.start = recs[0].Time
	}
	l.size += int64(l.buf.Len())
	l.seq, l.head = seq, head
	copy(recs, assigned)
	return nil
}

// Intact reports an open segment removed or replaced since this process
// opened it: what is appended to a file that is gone is lost with it.
func (l *Log) Intact() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.intact()
}

func (l *Log) intact() error {
	if l.f == nil {
		return nil
	}
	path := filepath.Join(l.dir, segmentName(l.first))
	opened, err := l.f.Stat()
	if err != nil {
		return err
	}
	now, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s: %w (removed while keyless ran)", path, err)
	}
	if !os.SameFile(opened, now) {
		return fmt.Errorf("%s was replaced while keyless ran", path)
	}
	return nil
}

// due reports whether the open segment must be closed before a record of
// time t is appended.
func (l *Log) due(t time.Time) bool {
	if l.size == 0 {
		return false
	}
	return (l.o.SegmentMaxBytes > 0 && l.size >= l.o.SegmentMaxBytes) ||
		(l.o.SegmentMaxAge > 0 && t.Sub(l.start) >= l.o.SegmentMaxAge)
}

// create makes the segment that starts at first the open one, and syncs
// the directory so that the new file survives a crash.
func (l *Log) create(first int64) error {
	f, err := os.OpenFile(filepath.Join(l.dir, segmentName(first)), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if err := syncDir(l.dir); err != nil {
		f.Close()
		return err
	}
	l.f, l.first, l.size, l.start = f, first, 0, time.Time{}
	return nil
}

// reset closes the open segment so that the next append re-reads the log.
func (l *Log) reset() {
	if l.f != nil {
		l.f.Close()
	}
	l.f, l.loaded = nil, false
}

func writeLine(b *bytes.Buffer, r storage.AuditRecord) {
	var h [64]byte
	hex.Encode(h[:], r.Hash[:])
	b.WriteString(strconv.FormatInt(r.Seq, 10))
	b.WriteByte('\t')
	b.WriteString(strconv.FormatInt(r.Time.UnixMicro(), 10))
	b.WriteByte('\t')
	b.Write(h[:])
	for _, f := range []string{r.EventName, r.AccessKeyID, r.IssuedKeyID, r.PrincipalARN, r.ErrorCode} {
		b.WriteByte('\t')
		b.WriteString(field.Replace(f))
	}
	b.WriteByte('\t')
	b.Write(bytes.ReplaceAll(r.JSON, []byte("\n"), []byte(`\n`))) // encoders never emit one; never trust it
	b.WriteByte('\n')
}

// field escapes the separators inside an indexed field.
var (
	field   = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`)
	unfield = strings.NewReplacer(`\\`, `\`, `\t`, "\t", `\n`, "\n")
)

func parse(line []byte) (storage.AuditRecord, error) {
	line = bytes.TrimSuffix(line, []byte("\n"))
	parts := bytes.SplitN(line, []byte("\t"), 9)
	if len(parts) != 9 {
		return storage.AuditRecord{}, errors.New("malformed audit line")
	}
	var r storage.AuditRecord
	var err error
	if r.Seq, err = strconv.ParseInt(string(parts[0]), 10, 64); err != nil {
		return r, err
	}
	us, err := strconv.ParseInt(string(parts[1]), 10, 64)
	if err != nil {
		return r, err
	}
	r.Time = time.UnixMicro(us).UTC()
	if n, err := hex.Decode(r.Hash[:], parts[2]); err != nil || n != 32 {
		return r, errors.New("malformed audit hash")
	}
	r.EventName = unfield.Replace(string(parts[3]))
	r.AccessKeyID = unfield.Replace(string(parts[4]))
	r.IssuedKeyID = unfield.Replace(string(parts[5]))
	r.PrincipalARN = unfield.Replace(string(parts[6]))
	r.ErrorCode = unfield.Replace(string(parts[7]))
	r.JSON = parts[8]
	return r, nil
}

// QueryAudit implements storage.AuditLog by scanning the segments in
// order, compressed or not, from the one that holds f.AfterSeq+1. Records
// appended while it runs may or may not be seen; a torn last line is not.
func (l *Log) QueryAudit(ctx context.Context, f storage.AuditFilter, fn func(storage.AuditRecord) error) error {
	segs, err := l.segments()
	if err != nil {
		return err
	}
	from := 0
	for from+1 < len(segs) && segs[from+1].first <= f.AfterSeq+1 {
		from++
	}
	sent := 0
	for _, s := range segs[from:] {
		err := l.scan(ctx, s, func(r storage.AuditRecord) error {
			if !storage.Matches(f, r) {
				return nil
			}
			if f.Limit > 0 && sent == f.Limit {
				return errStop
			}
			sent++
			return fn(r)
		})
		switch {
		case errors.Is(err, errStop):
			return nil
		case errors.Is(err, fs.ErrNotExist):
			// Deleted by retention since it was listed.
		case err != nil:
			return err
		}
	}
	return nil
}

// closed lists the segments before the open one, which only the appending
// process knows; nil for any other.
func (l *Log) closed() ([]segment, int64, error) {
	l.mu.Lock()
	open, loaded := l.first, l.loaded && l.f != nil
	l.mu.Unlock()
	if !loaded {
		return nil, 0, nil
	}
	segs, err := l.segments()
	if err != nil {
		return nil, 0, err
	}
	i := slices.IndexFunc(segs, func(s segment) bool { return s.first >= open })
	if i < 0 {
		return nil, 0, fmt.Errorf("auditfile: the open segment %s is gone", segmentName(open))
	}
	return segs[:i], open, nil
}

// AuditSegments implements storage.AuditSegments for the appending
// process; any other sees no closed segment.
func (l *Log) AuditSegments(ctx context.Context) ([]storage.AuditSegment, int64, error) {
	l.smu.Lock()
	defer l.smu.Unlock()
	segs, open, err := l.closed()
	if err != nil || open == 0 {
		return nil, 0, err
	}
	sizes := make([]int64, len(segs))
	l.mu.Lock()
	total := l.size
	l.mu.Unlock()
	for i, s := range segs {
		fi, err := os.Stat(s.path)
		if err != nil {
			return nil, 0, err
		}
		sizes[i] = fi.Size()
		total += fi.Size()
	}
	out := make([]storage.AuditSegment, 0, len(segs))
	for i, s := range segs {
		next := open
		if i+1 < len(segs) {
			next = segs[i+1].first
		}
		closedAt, err := l.firstTime(ctx, next)
		if err != nil {
			return nil, 0, err
		}
		if closedAt.IsZero() {
			break // the open segment is being started: this one's end is not known yet
		}
		out = append(out, storage.AuditSegment{FirstSeq: s.first, LastSeq: next - 1, Closed: closedAt, Bytes: sizes[i]})
	}
	return out, total, nil
}

// firstTime is the time of the first record of the segment that starts at
// first (remembered: segments only ever lose records whole).
func (l *Log) firstTime(ctx context.Context, first int64) (time.Time, error) {
	if t, ok := l.firsts[first]; ok {
		return t, nil
	}
	segs, err := l.segments()
	if err != nil {
		return time.Time{}, err
	}
	i := slices.IndexFunc(segs, func(s segment) bool { return s.first == first })
	if i < 0 {
		return time.Time{}, fmt.Errorf("auditfile: no segment starts at %d", first)
	}
	r, ok, err := l.firstRecord(ctx, segs[i])
	if err != nil || !ok {
		return time.Time{}, err // an empty open segment: nothing after this one is known yet
	}
	l.firsts[first] = r.Time
	return r.Time, nil
}

// CompressAuditSegments implements storage.AuditSegments: each closed
// segment not yet compressed is written to a temporary gzip file, which
// is read back and compared, synced, renamed into place (and the
// directory synced), and only then is the original removed.
func (l *Log) CompressAuditSegments(ctx context.Context) error {
	l.smu.Lock()
	defer l.smu.Unlock()
	segs, _, err := l.closed()
	if err != nil {
		return err
	}
	for _, s := range segs {
		if s.gz {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := l.compress(ctx, s); err != nil {
			return fmt.Errorf("auditfile: compressing %s: %w", s.path, err)
		}
	}
	return nil
}

func (l *Log) compress(ctx context.Context, s segment) error {
	src, err := os.Open(s.path)
	if err != nil {
		return err
	}
	defer src.Close()
	dst := filepath.Join(l.dir, segmentName(s.first)+".gz")
	tmp := dst + ".tmp"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // a no-op once renamed
	zw, err := gzip.NewWriterLevel(&syncing{f: out}, Level)
	if err != nil {
		return err
	}
	zw.Name = segmentName(s.first)
	n, err := io.CopyBuffer(zw, paced(ctx, src, compressRate), make([]byte, pacedChunk))
	if err == nil {
		err = zw.Close()
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := readsBack(ctx, tmp, n); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	if err := syncDir(l.dir); err != nil {
		return err
	}
	if err := os.Remove(s.path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(s.path))
}

// syncing writes a compressed segment to f, flushing it to disk every
// syncEvery bytes: the kernel would otherwise hold the whole file back
// (up to its 30 s dirty expiry) and write it at the final fsync, in one
// burst that the audit commits' fsyncs queue behind.
type syncing struct {
	f       *os.File
	pending int
}

const syncEvery = 1 << 20

func (w *syncing) Write(b []byte) (int, error) {
	n, err := w.f.Write(b)
	if w.pending += n; err == nil && w.pending >= syncEvery {
		w.pending, err = 0, w.f.Sync()
	}
	return n, err
}

// readBackRate paces readsBack, in decompressed bytes a second:
// decompressing a whole 64 MiB segment at once takes a core for a fifth
// of a second, a stall that shows in the p99 of requests on two cores.
const readBackRate = 2 * compressRate

// readsBack checks that the gzip file at path decompresses to size bytes
// whose CRC-32 is the one the writer computed (gzip's trailer, RFC 1952
// section 2.3.1, which gzip.Reader checks at the end), paced like the
// compression. It guards the deletion of the original against a bad
// write; tampering is the hash chain's to find.
func readsBack(ctx context.Context, path string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	// io.Discard alone would read through its own 8 KiB buffer: a wake-up
	// of the pacing every 8 KiB.
	n, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, paced(ctx, zr, readBackRate), make([]byte, pacedChunk))
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("the compressed copy reads back %d bytes, not %d", n, size)
	}
	return nil
}

// DeleteAuditSegments implements storage.AuditSegments.
func (l *Log) DeleteAuditSegments(_ context.Context, through int64) error {
	l.smu.Lock()
	defer l.smu.Unlock()
	segs, open, err := l.closed()
	if err != nil {
		return err
	}
	dirs := map[string]bool{}
	for i, s := range segs {
		next := open
		if i+1 < len(segs) {
			next = segs[i+1].first
		}
		if next-1 > through {
			break
		}
		for _, p := range []string{s.path, filepath.Join(l.dir, segmentName(s.first)), filepath.Join(l.dir, segmentName(s.first)+".gz")} {
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			dirs[filepath.Dir(p)] = true
		}
		delete(l.firsts, s.first)
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// syncDir makes the directory's entries (a created, renamed or removed
// file) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Close releases the open segment and the locks.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	if l.f != nil {
		errs = append(errs, l.f.Close())
	}
	for _, f := range l.locks {
		errs = append(errs, f.Close())
	}
	l.f, l.locks, l.loaded = nil, nil, false
	return errors.Join(errs...)
}
