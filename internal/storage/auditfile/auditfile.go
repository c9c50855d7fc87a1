package auditfile

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/keyless-dev/keyless/internal/storage"
)

// Log is an audit log file.
type Log struct {
	path string

	mu     sync.Mutex
	f      *os.File // open for appending after the first append
	seq    int64
	head   [32]byte
	loaded bool
	buf    bytes.Buffer
}

var _ storage.AuditLog = (*Log)(nil)

// Open returns the log at path, creating the file if needed. It does not
// lock it; the first AppendAudit does.
func Open(path string) (*Log, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	f.Close()
	return &Log{path: path}, nil
}

// ErrLocked is returned when another process is appending to the log.
var ErrLocked = errors.New("auditfile: another keyless process is writing this audit log")

// prepare opens the file for appending under an exclusive lock, cuts off a
// torn last line, and reads the chain's head.
func (l *Log) prepare() error {
	f, err := os.OpenFile(l.path, os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return ErrLocked
	}
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return err
	}
	last, start, err := lastLine(f, end)
	if err != nil {
		f.Close()
		return err
	}
	if start+int64(len(last)) < end {
		// A torn line after the last complete one: its write was never
		// acknowledged, so nobody was told it was stored.
		if err := f.Truncate(start + int64(len(last))); err != nil {
			f.Close()
			return err
		}
	}
	if len(last) > 0 {
		r, err := parse(last)
		if err != nil {
			f.Close()
			return fmt.Errorf("auditfile: last record of %s: %w", l.path, err)
		}
		l.seq, l.head = r.Seq, r.Hash
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return err
	}
	l.f, l.loaded = f, true
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
// writer calls it with whole group-commit batches.
func (l *Log) AppendAudit(_ context.Context, recs []storage.AuditRecord) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.loaded {
		if err := l.prepare(); err != nil {
			return err
		}
	}
	l.buf.Reset()
	seq, head := l.seq, l.head
	for _, r := range recs {
		seq++
		head = storage.ChainHash(head, seq, r.JSON)
		writeLine(&l.buf, seq, head, r)
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
	l.seq, l.head = seq, head
	return nil
}

// reset closes the file so that the next append reopens and re-reads it.
func (l *Log) reset() {
	if l.f != nil {
		l.f.Close()
	}
	l.f, l.loaded = nil, false
}

func writeLine(b *bytes.Buffer, seq int64, hash [32]byte, r storage.AuditRecord) {
	var h [64]byte
	hex.Encode(h[:], hash[:])
	b.WriteString(strconv.FormatInt(seq, 10))
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

// QueryAudit implements storage.AuditLog by scanning the file. Records
// appended while it runs may or may not be seen; a torn last line is not.
func (l *Log) QueryAudit(ctx context.Context, f storage.AuditFilter, fn func(storage.AuditRecord) error) error {
	file, err := os.Open(l.path)
	if err != nil {
		return err
	}
	defer file.Close()
	rd := bufio.NewReaderSize(file, 256<<10)
	sent := 0
	for n := 0; ; n++ {
		line, err := rd.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return nil // a line without its newline is torn: not a record
		}
		if err != nil {
			return err
		}
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		r, err := parse(line)
		if err != nil {
			return fmt.Errorf("auditfile: %s line %d: %w", l.path, n+1, err)
		}
		if !storage.Matches(f, r) {
			continue
		}
		if f.Limit > 0 && sent == f.Limit {
			return nil
		}
		if err := fn(r); err != nil {
			return err
		}
		sent++
	}
}

// Close releases the file and its lock.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f, l.loaded = nil, false
	return err
}
