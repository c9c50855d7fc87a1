package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/storage"
)

// auditPage is how many records QueryAudit reads per query, so that no
// read transaction (or connection) stays open while fn runs.
const auditPage = 500

// AppendAudit implements storage.AuditLog: one write transaction that
// locks audit_head, reads the last seq and hash, and inserts the records
// chained after them (storage.ChainHash), so concurrent appends queue
// instead of forking the chain. Every column QueryAudit filters on is
// covered by the hash.
func (s *Store) AppendAudit(ctx context.Context, recs []storage.AuditRecord) error {
	if len(recs) == 0 {
		return nil
	}
	assigned := make([]storage.AuditRecord, len(recs))
	err := s.write(ctx, func(tx *sql.Tx) error {
		var seq int64
		if err := tx.QueryRowContext(ctx, s.query("auditHead")+s.d.ForUpdate).Scan(&seq); err != nil {
			return fmt.Errorf("audit head: %w", err)
		}
		var head [32]byte
		if seq > 0 {
			var h []byte
			err := tx.QueryRowContext(ctx, s.query("auditHash"), seq).Scan(&h)
			if errors.Is(err, sql.ErrNoRows) || (err == nil && len(h) != len(head)) {
				return fmt.Errorf("audit record %d, the last one, is missing or malformed", seq)
			}
			if err != nil {
				return err
			}
			copy(head[:], h)
		}
		ins, err := tx.PrepareContext(ctx, s.query("insertAudit"))
		if err != nil {
			return err
		}
		defer ins.Close()
		for i, r := range recs {
			seq++
			r.Seq = seq
			head = storage.ChainHash(head, r)
			r.Hash = head
			if _, err := ins.ExecContext(ctx, seq, micros(r.Time), r.EventName, r.AccessKeyID, r.IssuedKeyID,
				r.PrincipalARN, r.ErrorCode, nonNil(r.JSON), head[:]); err != nil {
				return err
			}
			assigned[i] = r
		}
		_, err = tx.ExecContext(ctx, s.query("setHead"), seq)
		return err
	})
	if err == nil {
		copy(recs, assigned) // once committed: a retried transaction numbers them again
	}
	return err
}

// QueryAudit implements storage.AuditLog with the filter in the WHERE
// clause (storage.Matches), a page at a time in seq order. Records
// appended while it runs may or may not be seen; seq is assigned under
// the write lock, so none is ever skipped.
func (s *Store) QueryAudit(ctx context.Context, f storage.AuditFilter, fn func(storage.AuditRecord) error) error {
	var (
		where strings.Builder
		args  []any
	)
	where.WriteString(`SELECT seq, event_time, event_name, access_key_id, issued_key_id, principal_arn, error_code, event, hash FROM audit WHERE seq > ?`)
	if f.EventName != "" {
		where.WriteString(` AND event_name = ?`)
		args = append(args, f.EventName)
	}
	if f.AccessKeyID != "" {
		where.WriteString(` AND (access_key_id = ? OR issued_key_id = ?)`)
		args = append(args, f.AccessKeyID, f.AccessKeyID)
	}
	if f.PrincipalARN != "" {
		where.WriteString(` AND principal_arn = ?`)
		args = append(args, f.PrincipalARN)
	}
	// Stored times are whole microseconds t; t >= From and t < To hold
	// exactly when t >= ceil(From) and t < ceil(To), as in auditfile.
	if !f.From.IsZero() {
		where.WriteString(` AND event_time >= ?`)
		args = append(args, ceilMicros(f.From))
	}
	if !f.To.IsZero() {
		where.WriteString(` AND event_time < ?`)
		args = append(args, ceilMicros(f.To))
	}
	where.WriteString(` ORDER BY seq LIMIT ?`)
	q := s.rb(where.String())

	after, left := f.AfterSeq, f.Limit
	for {
		n := auditPage
		if f.Limit > 0 {
			if left == 0 {
				return nil
			}
			n = min(n, left)
		}
		page, err := s.auditPage(ctx, q, append(append([]any{after}, args...), n))
		if err != nil {
			return err
		}
		for _, r := range page {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(page) < n {
			return nil
		}
		after = page[len(page)-1].Seq
		left -= len(page)
	}
}

// auditPage runs one page's query and reads it whole.
func (s *Store) auditPage(ctx context.Context, q string, args []any) ([]storage.AuditRecord, error) {
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storage.AuditRecord
	for rows.Next() {
		var (
			r    storage.AuditRecord
			us   int64
			hash []byte
		)
		if err := rows.Scan(&r.Seq, &us, &r.EventName, &r.AccessKeyID, &r.IssuedKeyID, &r.PrincipalARN, &r.ErrorCode, &r.JSON, &hash); err != nil {
			return nil, err
		}
		if len(hash) != len(r.Hash) {
			return nil, fmt.Errorf("audit record %d: malformed hash", r.Seq)
		}
		copy(r.Hash[:], hash)
		r.Time = fromMicros(us)
		out = append(out, r)
	}
	return out, rows.Err()
}

// ceilMicros is t in Unix microseconds, rounded up.
func ceilMicros(t time.Time) int64 {
	us := t.UnixMicro()
	if t.Nanosecond()%1000 != 0 {
		us++
	}
	return us
}
