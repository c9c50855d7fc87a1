// Package kek seals keys at rest with a key-encryption key (envelope
// encryption, NIST SP 800-57 Part 1 section 6.2.1.3): every key keyless
// stores (session-token master keys now, signing keys later) is wrapped
// under a key that does not live in the data directory, so that a copy of
// that directory alone (a backup, a snapshot) opens nothing.
//
// A Wrapper is one key-encryption key; Local is one held in this process
// (from a file or the environment), and a KMS or HSM implements the same
// interface later. A Set is the wrapper new keys are sealed under plus
// the previous ones still accepted, which makes rotation a re-wrap of
// every stored key without downtime.
package kek
