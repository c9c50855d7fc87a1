// Package keyring holds the master keys that seal session tokens. Exactly
// one key is active; new tokens are sealed under it. Retired keys stay
// until every token sealed under them has expired, then they are deleted.
//
// Keys live in storage, so every node shares them. Rotation is a
// compare-and-swap on the active key id, so nodes (or a node and the
// `keyless keys rotate` command) rotating at once never leave two active
// keys: a rotation that loses the race adopts the winner's key. A node
// learns of another's rotation on its next refresh, or at once when it
// meets a token sealed under a key it does not know.
//
// Storage holds the keys only sealed under a key-encryption key from
// outside the data directory (package kek), bound to their id. A key that
// does not open fails the load: keyless never serves with a key it cannot
// account for, and never adopts one stored in the clear. Keys sealed under
// a previous key-encryption key are re-sealed under the current one by
// compare-and-swap, on start and on reload.
//
// Each purpose (session tokens now, other sealed values later) gets its own
// AES-256-GCM key derived from the master key with HKDF-SHA256 (RFC 5869),
// so no two purposes ever share a key.
package keyring
