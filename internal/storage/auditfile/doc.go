// Package auditfile is an append-only, hash-chained audit log kept in
// segment files: the embedded backend's storage.AuditLog.
//
// An audit log is a stream of appends, so it is stored as one: each batch
// of records is one write(2) of whole lines followed by one fsync(2), which
// is what makes group commit cheap. Each line is
//
//	seq TAB time(µs) TAB hash TAB eventName TAB accessKeyId TAB issuedKeyId TAB principalArn TAB errorCode TAB event-json LF
//
// where hash chains the record to its predecessor and covers every field of
// the line (storage.ChainHash). Lines of earlier versions have the same
// shape with a hash of storage.LegacyChainHash.
//
// The log is a directory of segments named by their first seq:
// audit-000000000001.log is open for appending; when it reaches
// Options.SegmentMaxBytes, or a record is Options.SegmentMaxAge later than
// its first, the next batch goes to a new segment (created, and its
// directory entry synced, before anything is written to it), and the
// chain continues across the boundary. Closed segments are compressed to
// audit-000000000001.log.gz (storage.AuditSegments: paced, written to a
// temporary file, read back (length and gzip's CRC-32), synced and renamed
// before the original is removed) and deleted whole by retention, which the audit writer records
// in the trail first. Queries read every segment in order, compressed or
// not, starting at the one that holds the first seq asked for. The single
// file of earlier versions (Options.Legacy) is read as the first segment
// and compressed into the directory like any closed one.
//
// On the first append, a torn last line of the open segment (a crash in the
// middle of a write that was never acknowledged) is cut off. Only one
// process may append: the first append takes an exclusive lock (flock) on
// the directory's lock file (and on the legacy file, which earlier versions
// locked), so a second server on the same data directory fails instead of
// forking the chain; readers such as `keyless audit` take no lock.
package auditfile
