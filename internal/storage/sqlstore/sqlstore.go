package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyless-dev/keyless/internal/storage"
)

// Dialect is what differs between SQL engines.
type Dialect struct {
	Name string
	// Bytes is the binary column type (BLOB, BYTEA).
	Bytes string
	// SeqKey is the type of a 64-bit integer primary key that rows are
	// appended in the order of (INTEGER PRIMARY KEY, SQLite's rowid);
	// "" means BIGINT PRIMARY KEY.
	SeqKey string
	// Placeholder renders the n-th (1-based) bind parameter.
	Placeholder func(n int) string
	// ForUpdate is appended to a SELECT that must lock the rows it reads
	// inside a write transaction ("" where the transaction already holds
	// the database's write lock).
	ForUpdate string
	// Retryable reports errors after which the whole transaction may be
	// run again (serialization failures, deadlocks).
	Retryable func(error) bool
	// WriteTx starts a transaction that will write.
	WriteTx func(ctx context.Context, db *sql.DB) (*sql.Tx, error)
	// OneWriter makes this process's writes queue on a mutex: SQLite has
	// one write lock, and a writer that finds it taken sleeps in its busy
	// handler (1, 2, 5 ... 100 ms) instead of queueing.
	OneWriter bool
}

// Store is the shared SQL backend.
type Store struct {
	db *sql.DB
	d  Dialect
	q  map[string]string // rebound queries
	// uses counts UseOnce calls, to prune expired records now and then.
	uses atomic.Uint64
	// puts counts PutRecord calls, to prune expired records now and then.
	puts  atomic.Uint64
	wmu   sync.Mutex // held around each write when the dialect has OneWriter
	smu   sync.Mutex
	stmts map[string]*sql.Stmt // prepared, by text
	// Group commit (OneWriter only): the waiting writes, and whether
	// some caller is committing them.
	gmu      sync.Mutex
	gpending []*groupOp
	gleading bool
}

var _ storage.Store = (*Store)(nil)

// New migrates db to the current schema and returns the store.
func New(ctx context.Context, db *sql.DB, d Dialect) (*Store, error) {
	s := &Store{db: db, d: d, q: map[string]string{}}
	for name, q := range queries {
		s.q[name] = rebind(q, d.Placeholder)
	}
	if err := s.migrate(ctx); err != nil {
		return nil, fmt.Errorf("migrate %s store: %w", d.Name, err)
	}
	return s, nil
}

// rebind turns ? placeholders into the dialect's.
func rebind(q string, ph func(int) string) string {
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString(ph(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// migrations are applied in order, each once; never edit a released one.
var migrations = []string{
	`CREATE TABLE master_keys (
		id BIGINT PRIMARY KEY,
		material {{bytes}} NOT NULL,
		created_at BIGINT NOT NULL,
		retired_at BIGINT,
		active INTEGER
	);
	CREATE UNIQUE INDEX master_keys_one_active ON master_keys (active) WHERE active = 1;
	CREATE TABLE totp_steps (
		serial TEXT PRIMARY KEY,
		step BIGINT NOT NULL
	);
	CREATE TABLE mfa_failures (
		serial TEXT NOT NULL,
		window_start BIGINT NOT NULL,
		failures INTEGER NOT NULL,
		PRIMARY KEY (serial, window_start)
	);
	CREATE TABLE ids (
		name TEXT PRIMARY KEY,
		id TEXT NOT NULL
	)`,
	`CREATE TABLE revocations (
		principal TEXT PRIMARY KEY,
		before_time BIGINT NOT NULL
	)`,
	`CREATE TABLE single_use (
		use_key TEXT PRIMARY KEY,
		until_time BIGINT NOT NULL
	);
	CREATE INDEX single_use_until ON single_use (until_time)`,
	// audit_head holds the last seq, so that appenders queue on its row
	// lock even while audit is empty.
	`CREATE TABLE audit (
		seq {{seqkey}},
		event_time BIGINT NOT NULL,
		event_name TEXT NOT NULL,
		access_key_id TEXT NOT NULL,
		issued_key_id TEXT NOT NULL,
		principal_arn TEXT NOT NULL,
		error_code TEXT NOT NULL,
		event {{bytes}} NOT NULL,
		hash {{bytes}} NOT NULL
	);
	CREATE INDEX audit_event_name ON audit (event_name, seq);
	CREATE INDEX audit_access_key ON audit (access_key_id, seq);
	CREATE INDEX audit_issued_key ON audit (issued_key_id, seq);
	CREATE INDEX audit_principal ON audit (principal_arn, seq);
	CREATE INDEX audit_time ON audit (event_time);
	CREATE TABLE audit_head (
		id INTEGER PRIMARY KEY,
		seq BIGINT NOT NULL
	);
	INSERT INTO audit_head (id, seq) VALUES (1, 0)`,
	// attempts (storage.Attempts) replaces mfa_failures; a device's
	// failures carry over under the key sts counts them on.
	`CREATE TABLE attempts (
		attempt_key TEXT NOT NULL,
		window_start BIGINT NOT NULL,
		n INTEGER NOT NULL,
		PRIMARY KEY (attempt_key, window_start)
	);
	INSERT INTO attempts (attempt_key, window_start, n) SELECT 'mfa:' || serial, window_start, failures FROM mfa_failures;
	DROP TABLE mfa_failures`,
	// The audit trail's evidence outside the log (trail.go): the chain's
	// last checkpoint (one row), the signed digests, and named keys such
	// as the digests' signing key, sealed.
	`CREATE TABLE audit_checkpoint (
		id INTEGER PRIMARY KEY,
		seq BIGINT NOT NULL,
		hash {{bytes}} NOT NULL,
		taken_at BIGINT NOT NULL
	);
	CREATE TABLE audit_digests (
		seq BIGINT PRIMARY KEY,
		body {{bytes}} NOT NULL,
		signature {{bytes}} NOT NULL
	);
	CREATE TABLE sealed_keys (
		name TEXT PRIMARY KEY,
		public_key {{bytes}} NOT NULL,
		sealed {{bytes}} NOT NULL
	)`,
	// The OIDC issuer's signing keys (signing.go): per algorithm, at most
	// one next and one active key, which the partial index enforces.
	`CREATE TABLE signing_keys (
		id TEXT PRIMARY KEY,
		algorithm TEXT NOT NULL,
		state TEXT NOT NULL,
		public_key {{bytes}} NOT NULL,
		sealed {{bytes}} NOT NULL,
		created_at BIGINT NOT NULL,
		activated_at BIGINT,
		retired_at BIGINT
	);
	CREATE UNIQUE INDEX signing_keys_one_per_state ON signing_keys (algorithm, state) WHERE state <> 'retired'`,
	// Integration states (integrations.go): one JSON document per
	// integration, replaced by compare-and-swap on its version.
	`CREATE TABLE integration_states (
		id TEXT PRIMARY KEY,
		version BIGINT NOT NULL,
		state {{bytes}} NOT NULL
	)`,
	// Records (records.go): small states with an expiry, such as
	// browser sign-in sessions, replaced by compare-and-swap on their
	// version and listed by owner.
	`CREATE TABLE records (
		kind TEXT NOT NULL,
		id TEXT NOT NULL,
		owner TEXT NOT NULL,
		version BIGINT NOT NULL,
		expires_at BIGINT NOT NULL,
		data {{bytes}} NOT NULL,
		PRIMARY KEY (kind, id)
	);
	CREATE INDEX records_by_owner ON records (kind, owner)`,
}

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		var v int
		err := tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
				return err
			}
		case err != nil:
			return err
		}
		if v > len(migrations) {
			return fmt.Errorf("database schema version %d is newer than this binary's %d", v, len(migrations))
		}
		seqKey := s.d.SeqKey
		if seqKey == "" {
			seqKey = "BIGINT PRIMARY KEY"
		}
		tmpl := strings.NewReplacer("{{bytes}}", s.d.Bytes, "{{seqkey}}", seqKey)
		for i := v; i < len(migrations); i++ {
			for _, stmt := range strings.Split(tmpl.Replace(migrations[i]), ";") {
				if strings.TrimSpace(stmt) == "" {
					continue
				}
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("migration %d: %w", i+1, err)
				}
			}
		}
		_, err = tx.ExecContext(ctx, s.rb(`UPDATE schema_version SET version = ?`), len(migrations))
		return err
	})
}

func (s *Store) rb(q string) string { return rebind(q, s.d.Placeholder) }

// query is the named query, rebound. A name with no query is a bug that
// must not run as an empty statement, which SQL would take as a no-op.
// prepared is text prepared once (the hot paths: records), so that
// SQLite does not parse it at every call; database/sql prepares it again
// on each connection that runs it, once.
func (s *Store) prepared(ctx context.Context, text string) (*sql.Stmt, error) {
	s.smu.Lock()
	defer s.smu.Unlock()
	if st, ok := s.stmts[text]; ok {
		return st, nil
	}
	st, err := s.db.PrepareContext(ctx, text)
	if err != nil {
		return nil, err
	}
	if s.stmts == nil {
		s.stmts = map[string]*sql.Stmt{}
	}
	s.stmts[text] = st
	return st, nil
}

func (s *Store) query(name string) string {
	q, ok := s.q[name]
	if !ok {
		panic("sqlstore: no query named " + name)
	}
	return q
}

// write runs fn in a write transaction, retrying it while the dialect says
// the failure was transient.
func (s *Store) write(ctx context.Context, fn func(*sql.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := s.writeOnce(ctx, fn)
		if err == nil || attempt == 9 || !s.d.Retryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 5 * time.Millisecond):
		}
	}
}

func (s *Store) writeOnce(ctx context.Context, fn func(*sql.Tx) error) error {
	if s.d.OneWriter {
		s.wmu.Lock()
		defer s.wmu.Unlock()
	}
	tx, err := s.d.WriteTx(ctx, s.db)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

var queries = map[string]string{
	"listKeys":           `SELECT id, material, created_at, retired_at FROM master_keys ORDER BY id`,
	"activeKey":          `SELECT id FROM master_keys WHERE active = 1`,
	"retireKey":          `UPDATE master_keys SET retired_at = ?, active = NULL WHERE id = ? AND active = 1`,
	"insertKey":          `INSERT INTO master_keys (id, material, created_at, retired_at, active) VALUES (?, ?, ?, NULL, 1)`,
	"keyActive":          `SELECT active FROM master_keys WHERE id = ?`,
	"deleteKey":          `DELETE FROM master_keys WHERE id = ? AND active IS NULL`,
	"resealKey":          `UPDATE master_keys SET material = ? WHERE id = ? AND material = ?`,
	"useStep":            `INSERT INTO totp_steps (serial, step) VALUES (?, ?) ON CONFLICT (serial) DO UPDATE SET step = excluded.step WHERE totp_steps.step < excluded.step`,
	"takeAttempt":        `INSERT INTO attempts (attempt_key, window_start, n) VALUES (?, ?, 1) ON CONFLICT (attempt_key, window_start) DO UPDATE SET n = attempts.n + 1 RETURNING n`,
	"oldAttempts":        `DELETE FROM attempts WHERE attempt_key = ? AND window_start < ?`,
	"giveAttempt":        `UPDATE attempts SET n = n - 1 WHERE attempt_key = ? AND window_start = ? AND n > 0`,
	"noAttempts":         `DELETE FROM attempts WHERE attempt_key = ? AND window_start = ? AND n = 0`,
	"claimID":            `INSERT INTO ids (name, id) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`,
	"getID":              `SELECT id FROM ids WHERE name = ?`,
	"releaseID":          `DELETE FROM ids WHERE name = ?`,
	"listIDs":            `SELECT name, id FROM ids WHERE name >= ? ORDER BY name`,
	"revoke":             `INSERT INTO revocations (principal, before_time) VALUES (?, ?) ON CONFLICT (principal) DO UPDATE SET before_time = excluded.before_time WHERE revocations.before_time < excluded.before_time`,
	"revocations":        `SELECT principal, before_time FROM revocations`,
	"useOnce":            `INSERT INTO single_use (use_key, until_time) VALUES (?, ?) ON CONFLICT (use_key) DO UPDATE SET until_time = excluded.until_time WHERE single_use.until_time <= ?`,
	"pruneOnce":          `DELETE FROM single_use WHERE until_time <= ?`,
	"usedOnce":           `SELECT 1 FROM single_use WHERE use_key = ? AND until_time > ?`,
	"auditHead":          `SELECT seq FROM audit_head WHERE id = 1`,
	"auditHash":          `SELECT hash FROM audit WHERE seq = ?`,
	"insertAudit":        `INSERT INTO audit (seq, event_time, event_name, access_key_id, issued_key_id, principal_arn, error_code, event, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
	"setHead":            `UPDATE audit_head SET seq = ? WHERE id = 1`,
	"checkpoint":         `SELECT seq, hash, taken_at FROM audit_checkpoint WHERE id = 1`,
	"saveCheck":          `INSERT INTO audit_checkpoint (id, seq, hash, taken_at) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, taken_at = excluded.taken_at WHERE audit_checkpoint.seq < excluded.seq`,
	"lastDigest":         `SELECT COALESCE(MAX(seq), 0) FROM audit_digests`,
	"addDigest":          `INSERT INTO audit_digests (seq, body, signature) VALUES (?, ?, ?)`,
	"digests":            `SELECT seq, body, signature FROM audit_digests WHERE seq > ? ORDER BY seq LIMIT 500`,
	"claimKey":           `INSERT INTO sealed_keys (name, public_key, sealed) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`,
	"sealedKey":          `SELECT public_key, sealed FROM sealed_keys WHERE name = ?`,
	"resealNamed":        `UPDATE sealed_keys SET sealed = ? WHERE name = ? AND sealed = ?`,
	"listSigning":        `SELECT id, algorithm, public_key, sealed, created_at, activated_at, retired_at FROM signing_keys ORDER BY created_at, id`,
	"signingState":       `SELECT algorithm, state FROM signing_keys WHERE id = ?`,
	"signingIn":          `SELECT id FROM signing_keys WHERE algorithm = ? AND state = ?`,
	"addSigning":         `INSERT INTO signing_keys (id, algorithm, state, public_key, sealed, created_at) VALUES (?, ?, 'next', ?, ?, ?)`,
	"retireSigning":      `UPDATE signing_keys SET state = 'retired', retired_at = ? WHERE id = ? AND state = 'active'`,
	"activateSigning":    `UPDATE signing_keys SET state = 'active', activated_at = ? WHERE id = ? AND state = 'next'`,
	"deleteSigning":      `DELETE FROM signing_keys WHERE id = ? AND state = 'retired'`,
	"resealSigning":      `UPDATE signing_keys SET sealed = ? WHERE id = ? AND sealed = ?`,
	"listIntegrations":   `SELECT state FROM integration_states ORDER BY id`,
	"integrationVersion": `SELECT version FROM integration_states WHERE id = ?`,
	"insertIntegration":  `INSERT INTO integration_states (id, version, state) VALUES (?, ?, ?)`,
	"updateIntegration":  `UPDATE integration_states SET version = ?, state = ? WHERE id = ? AND version = ?`,
	"recordVersion":      `SELECT version, expires_at FROM records WHERE kind = ? AND id = ?`,
	"insertRecord":       `INSERT INTO records (kind, id, owner, version, expires_at, data) VALUES (?, ?, ?, ?, ?, ?)`,
	"replaceRecord":      `UPDATE records SET owner = ?, version = ?, expires_at = ?, data = ? WHERE kind = ? AND id = ?`,
	"getRecord":          `SELECT owner, version, expires_at, data FROM records WHERE kind = ? AND id = ? AND expires_at > ?`,
	"listRecords":        `SELECT id, version, expires_at, data FROM records WHERE kind = ? AND owner = ? AND expires_at > ? ORDER BY id`,
	"deleteRecord":       `DELETE FROM records WHERE kind = ? AND id = ?`,
	"pruneRecords":       `DELETE FROM records WHERE expires_at <= ?`,
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// ListMasterKeys implements storage.MasterKeys.
func (s *Store) ListMasterKeys(ctx context.Context) ([]storage.MasterKey, error) {
	rows, err := s.db.QueryContext(ctx, s.query("listKeys"))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []storage.MasterKey
	for rows.Next() {
		var (
			id       int64
			material []byte
			created  int64
			retired  sql.NullInt64
		)
		if err := rows.Scan(&id, &material, &created, &retired); err != nil {
			return nil, err
		}
		k := storage.MasterKey{ID: uint32(id), Sealed: material, CreatedAt: fromMicros(created)}
		if retired.Valid {
			k.RetiredAt = fromMicros(retired.Int64)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// RotateMasterKey implements storage.MasterKeys.
func (s *Store) RotateMasterKey(ctx context.Context, k storage.MasterKey, wantActive uint32) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var active int64
		err := tx.QueryRowContext(ctx, s.query("activeKey")+s.d.ForUpdate).Scan(&active)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			active = 0
		case err != nil:
			return err
		}
		if uint32(active) != wantActive {
			return storage.ErrConflict
		}
		if active != 0 {
			if _, err := tx.ExecContext(ctx, s.query("retireKey"), micros(k.CreatedAt), active); err != nil {
				return err
			}
		}
		var exists sql.NullInt64
		err = tx.QueryRowContext(ctx, s.query("keyActive"), int64(k.ID)).Scan(&exists)
		if err == nil {
			return storage.ErrConflict
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		_, err = tx.ExecContext(ctx, s.query("insertKey"), int64(k.ID), k.Sealed, micros(k.CreatedAt))
		return err
	})
}

// ResealMasterKey implements storage.MasterKeys.
func (s *Store) ResealMasterKey(ctx context.Context, id uint32, old, sealed []byte) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.query("resealKey"), sealed, int64(id), old)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		var active sql.NullInt64
		err = tx.QueryRowContext(ctx, s.query("keyActive"), int64(id)).Scan(&active)
		if errors.Is(err, sql.ErrNoRows) {
			return storage.ErrNotFound
		}
		if err != nil {
			return err
		}
		return storage.ErrConflict
	})
}

// DeleteMasterKey implements storage.MasterKeys.
func (s *Store) DeleteMasterKey(ctx context.Context, id uint32) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var active sql.NullInt64
		err := tx.QueryRowContext(ctx, s.query("keyActive"), int64(id)).Scan(&active)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return storage.ErrNotFound
		case err != nil:
			return err
		case active.Valid:
			return storage.ErrConflict
		}
		_, err = tx.ExecContext(ctx, s.query("deleteKey"), int64(id))
		return err
	})
}

// UseTOTPStep implements storage.MFA.
func (s *Store) UseTOTPStep(ctx context.Context, serial string, step int64) error {
	return s.claim(ctx, func(tx *sql.Tx) (sql.Result, error) {
		return tx.ExecContext(ctx, s.query("useStep"), serial, step)
	})
}

// claim runs a conditional write and reports ErrConflict when it changed
// no row: someone else's claim stands.
func (s *Store) claim(ctx context.Context, exec func(*sql.Tx) (sql.Result, error)) error {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := exec(tx)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return err
	}
	if n == 0 {
		return storage.ErrConflict
	}
	return nil
}

// UseOnce implements storage.SingleUse. With one writer (SQLite), calls
// that arrive while a commit is under way are committed together in the
// next transaction: one fsync for many uses (group commit), each use still
// decided on its own row. Every 256th use also deletes expired records.
func (s *Store) UseOnce(ctx context.Context, key string, until, now time.Time) error {
	if len(key) == 0 || len(key) > storage.MaxSingleUseKey {
		return fmt.Errorf("single-use key of %d bytes", len(key))
	}
	prune := s.uses.Add(1)%256 == 0
	return s.grouped(ctx, func(ctx context.Context, tx *sql.Tx) (error, error) {
		if prune {
			if _, err := tx.ExecContext(ctx, s.query("pruneOnce"), micros(now)); err != nil {
				return nil, err
			}
		}
		res, err := tx.ExecContext(ctx, s.query("useOnce"), key, micros(until), micros(now))
		if err != nil {
			return nil, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return storage.ErrConflict, nil
		}
		return nil, nil
	})
}

// groupOp is one write waiting for its group's commit. Its fn runs in
// the group's transaction, with the group's context (never its own
// caller's: one caller giving up must not fail the others), and returns
// its own verdict (nil or a refusal such as storage.ErrConflict, having
// written nothing) or an error that fails the whole transaction.
type groupOp struct {
	ctx  context.Context // the caller's: an op whose caller gave up is not run
	fn   func(context.Context, *sql.Tx) (verdict, err error)
	done chan groupResult
}

// groupResult is an op's outcome, or (lead) the turn to commit the next
// group.
type groupResult struct {
	err  error
	lead bool
}

// grouped runs fn in a transaction shared with the writes waiting at the
// same time (group commit): with a dialect that has one writer (SQLite,
// synchronous=FULL), each commit is an fsync, and many callers share one.
// The first waiting caller commits the group, then hands the lead to the
// first that arrived meanwhile. Without OneWriter, fn has a transaction
// of its own.
func (s *Store) grouped(ctx context.Context, fn func(context.Context, *sql.Tx) (verdict, err error)) error {
	op := &groupOp{ctx: ctx, fn: fn, done: make(chan groupResult, 1)}
	if !s.d.OneWriter {
		s.commitGroup(ctx, []*groupOp{op})
		return (<-op.done).err
	}
	s.gmu.Lock()
	s.gpending = append(s.gpending, op)
	lead := !s.gleading
	s.gleading = true
	s.gmu.Unlock()
	if lead {
		s.leadGroup(ctx)
	}
	for {
		res := <-op.done
		if !res.lead {
			return res.err
		}
		s.leadGroup(ctx)
	}
}

// leadGroup commits every waiting op, then hands the lead to the first op
// that arrived meanwhile, or gives it up.
func (s *Store) leadGroup(ctx context.Context) {
	s.gmu.Lock()
	batch := s.gpending
	s.gpending = nil
	s.gmu.Unlock()
	// One caller giving up must not fail the others' commit.
	s.commitGroup(context.WithoutCancel(ctx), batch)
	s.gmu.Lock()
	if len(s.gpending) > 0 {
		s.gpending[0].done <- groupResult{lead: true}
	} else {
		s.gleading = false
	}
	s.gmu.Unlock()
}

// commitGroup runs batch in one transaction and answers each op: its
// verdict once committed, or the transaction's error. An op whose caller
// gave up before its turn is answered with that and not run.
func (s *Store) commitGroup(ctx context.Context, batch []*groupOp) {
	verdicts := make([]error, len(batch))
	err := s.write(ctx, func(tx *sql.Tx) error {
		for i, op := range batch {
			if err := op.ctx.Err(); err != nil {
				verdicts[i] = err
				continue
			}
			v, err := op.fn(ctx, tx)
			if err != nil {
				return err
			}
			verdicts[i] = v
		}
		return nil
	})
	for i, op := range batch {
		if err != nil {
			op.done <- groupResult{err: err}
		} else {
			op.done <- groupResult{err: verdicts[i]}
		}
	}
}

// Used implements storage.SingleUse: a read, outside any write
// transaction, of what committed uses recorded.
func (s *Store) Used(ctx context.Context, key string, now time.Time) (bool, error) {
	if len(key) == 0 || len(key) > storage.MaxSingleUseKey {
		return false, fmt.Errorf("single-use key of %d bytes", len(key))
	}
	var one int
	err := s.db.QueryRowContext(ctx, s.query("usedOnce"), key, micros(now)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// TakeAttempt implements storage.Attempts: one upsert that increments and
// returns the count, atomic in SQLite and PostgreSQL alike. The key's rows
// of earlier windows are deleted in the same transaction.
func (s *Store) TakeAttempt(ctx context.Context, key string, window time.Time) (int, error) {
	var n int
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.query("oldAttempts"), key, micros(window)); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, s.query("takeAttempt"), key, micros(window)).Scan(&n)
	})
	return n, err
}

// ReturnAttempt implements storage.Attempts; a row whose count reaches
// zero is deleted.
func (s *Store) ReturnAttempt(ctx context.Context, key string, window time.Time) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.query("giveAttempt"), key, micros(window)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.query("noAttempts"), key, micros(window))
		return err
	})
}

// ClaimID implements storage.IDs.
func (s *Store) ClaimID(ctx context.Context, key, proposed string) (string, error) {
	var id string
	err := s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.query("claimID"), key, proposed); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, s.query("getID"), key).Scan(&id)
	})
	return id, err
}

// ReleaseID implements storage.IDs.
func (s *Store) ReleaseID(ctx context.Context, key string) error {
	_, err := s.db.ExecContext(ctx, s.query("releaseID"), key)
	return err
}

// ListIDs implements storage.IDs.
func (s *Store) ListIDs(ctx context.Context, prefix string) (map[string]string, error) {
	rows, err := s.db.QueryContext(ctx, s.query("listIDs"), prefix)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		if !strings.HasPrefix(k, prefix) {
			break
		}
		out[k] = v
	}
	return out, rows.Err()
}

// RevokeSessions implements storage.Revocations.
func (s *Store) RevokeSessions(ctx context.Context, principal string, before time.Time) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.query("revoke"), principal, micros(before))
		return err
	})
}

// SessionRevocations implements storage.Revocations.
func (s *Store) SessionRevocations(ctx context.Context) (map[string]time.Time, error) {
	rows, err := s.db.QueryContext(ctx, s.query("revocations"))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var p string
		var us int64
		if err := rows.Scan(&p, &us); err != nil {
			return nil, err
		}
		out[p] = fromMicros(us)
	}
	return out, rows.Err()
}

// Ping reports whether the database answers and takes writes.
func (s *Store) Ping(ctx context.Context) error {
	// A write that changes nothing but is committed like any other: a
	// read-only or full filesystem, or a lost connection, shows here.
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = version`)
		return err
	})
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }
