// Package embedded is keyless's default storage backend, which needs no
// server: master keys, MFA state and unique ids live in a SQLite database
// (the pure-Go modernc.org/sqlite driver, no cgo) running the shared SQL of
// package sqlstore in WAL mode with synchronous=FULL; audit events go to an
// append-only, hash-chained log file (package auditfile). Both are in the
// data directory, which is made private to its owner because it holds the
// master keys.
package embedded
