// Package drivers is the one registry of the storage backends keyless
// runs on, chosen by the configuration's storage.driver. `keyless serve`
// and every offline command (audit, keys, sessions, reload) open their
// store through it; a new backend (PostgreSQL next) is one more entry
// here and its own package under internal/storage.
package drivers
