// Package authmsg seals and opens the encoded authorization messages that
// AccessDenied answers carry, for DecodeAuthorizationMessage (STS API
// reference, DecodeAuthorizationMessage). A message is AES-256-GCM under a
// key derived from the current master key, bound to the account whose
// principal was denied, so only that account can decode it.
//
// Layout, base64url without padding:
//
//	version (1 byte, 0x01) | master key id (4) | nonce (12) | ciphertext and tag
package authmsg
