// Package sqlstore implements every storage aggregate once, in SQL that
// SQLite and PostgreSQL both run: master keys, MFA state, unique ids,
// session revocations, single-use values and the audit trail, so that one
// database can hold everything (*Store is a storage.Store). A backend
// package opens the database and supplies a Dialect for the few places
// where the two differ (placeholders, column types, row locks and which
// errors mean "retry").
//
// Audit records are rows of the audit table, indexed for each
// storage.AuditFilter field. An append locks the one row of audit_head
// inside its write transaction, reads the last seq and hash there and
// chains the new records after them (storage.ChainHash), so concurrent
// appenders, in this process or another, queue rather than fork the chain
// or leave a gap. Times are kept in whole microseconds, as in auditfile.
package sqlstore
