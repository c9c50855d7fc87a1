// Package storage defines the state keyless keeps across restarts, as small
// interfaces per aggregate with value types and sentinel errors. Backends
// (memory, the embedded SQLite default, and later PostgreSQL) implement them
// and must all pass the conformance suite in storagetest.
//
// No driver type appears in these signatures, and the domain never imports a
// backend.
package storage
