// Package keyring holds the master keys that seal session tokens. Exactly
// one key is active; new tokens are sealed under it. Retired keys stay
// until every token sealed under them has expired, then they are deleted.
//
// Keys live in storage, so every node shares them. Rotation is a
// compare-and-swap on the active key id, so nodes (or a node and the
// `keyless keys rotate` command) rotating at once never leave two active
// keys: a rotation that loses the race adopts the winner's key. A node learns of another's rotation on its next refresh, or at once
// when it meets a token sealed under a key it does not know.
//
// Each purpose (session tokens now, other sealed values later) gets its own
// AES-256-GCM key derived from the master key with HKDF-SHA256 (RFC 5869),
// so no two purposes ever share a key.
package keyring
