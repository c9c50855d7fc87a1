// Package sqlstore implements the storage aggregates that are tables
// (master keys, MFA state, unique ids) once, in SQL that SQLite and
// PostgreSQL both run. A backend package opens the database and supplies a
// Dialect for the few places where the two differ (placeholders, the bytes
// column type, row locks and which errors mean "retry").
package sqlstore
