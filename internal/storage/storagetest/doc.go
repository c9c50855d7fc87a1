// Package storagetest is the conformance suite every storage backend runs:
// the same behaviour, the same sentinel errors, and the same answers under
// concurrency (exactly one winner of a compare-and-swap, one use of a
// single-use value, a gap-free audit chain that audit.VerifyChain accepts
// while many goroutines append, and across segments). Audit queries are
// checked against storage.Matches for every filter field. The evidence
// kept outside the log is checked too: checkpoints that only move forward,
// digests numbered without gaps, and sealed keys created once.
package storagetest
