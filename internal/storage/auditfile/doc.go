// Package auditfile is an append-only, hash-chained audit log in a single
// file: the embedded backend's storage.AuditLog.
//
// An audit log is a stream of appends, so it is stored as one: each batch
// of records is one write(2) of whole lines followed by one fsync(2), which
// is what makes group commit cheap. Each line is
//
//	seq TAB time(µs) TAB hash TAB eventName TAB accessKeyId TAB issuedKeyId TAB principalArn TAB errorCode TAB event-json LF
//
// where hash chains the record to its predecessor (storage.ChainHash). On
// open, a torn last line (a crash in the middle of a write that was never
// acknowledged) is cut off. Only one process may append: the first append
// takes an exclusive lock on the file, so a second server on the same data
// directory fails instead of forking the chain; readers such as
// `keyless audit` take no lock.
package auditfile
