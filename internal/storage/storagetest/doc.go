// Package storagetest is the conformance suite every storage backend runs:
// the same behaviour, the same sentinel errors, and the same answers under
// concurrency (exactly one winner of a compare-and-swap, gap-free audit
// sequence numbers).
package storagetest
