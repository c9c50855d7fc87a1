// Package embedded is keyless's default storage backend, which needs no
// server: master keys, MFA state, unique ids, revocations and single-use
// values live in a SQLite database (the pure-Go modernc.org/sqlite driver,
// no cgo) running the shared SQL of package sqlstore in WAL mode with
// synchronous=FULL, with the audit trail's checkpoints, digests and sealed
// digest key. Audit events go to an append-only, hash-chained log in
// segment files in AuditDir (package auditfile; an earlier version's
// single AuditFile is read as its first segment), or, with
// Options.AuditInDatabase, to the database's audit table. Both are in the
// data directory, which is
// made private to its owner because it holds the master keys; with
// Options.MustExist a missing data directory is an error instead of being
// created.
package embedded
