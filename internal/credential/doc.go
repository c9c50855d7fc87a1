// Package credential mints temporary credentials and seals everything needed
// to verify them into a self-contained session token, so that any node can
// authenticate a request signed with them without a database lookup.
//
// Token layout (all of it base64url without padding):
//
//	version (1 byte, 0x01) | master key id (4 bytes) | nonce (12) | AES-256-GCM ciphertext and tag
//
// The associated data binds the token to its deployment, its key and its
// access key id:
//
//	"keyless/session-token/v1" | len(deployment id) | deployment id | key id | access key id
//
// so a token only opens with the ASIA... id it was issued with, on the
// deployment that issued it. The plaintext is a canonical type-length-value
// list (see claims.go); an unknown field makes the token invalid rather than
// being skipped, so an older node never ignores a restriction added later.
package credential
