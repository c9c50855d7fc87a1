// Package fault is the fault suite: it runs the real keyless binary and
// injects what operators and attackers do to it (kill -9 under load,
// concurrent guessing, floods of refused requests, a filesystem that fills,
// a data directory removed, a database lost, a second server on the same
// directory, a copy of the data directory without its key-encryption key,
// an audit trail edited, cut or deleted) and checks, each time, that
// nothing was lost (every credential a client received has its audit
// event) and nobody was let in. docs/testing.md's fault table lists each
// fault with its test.
package fault
