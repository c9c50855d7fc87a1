// Package accesskey makes and reads AWS-style access key ids.
//
// A real AWS key id is a four-letter prefix (AKIA for long-term keys, ASIA for
// temporary ones) and 16 base32 characters (A-Z, 2-7) that encode 10 bytes.
// The first six of those bytes carry the owning account id in bits 7..46, so
// anyone can recover the account from a key id without asking a server:
//
//	account = (uint48(bytes[0:6]) & 0x7fffffffff80) >> 7
//
// keyless encodes the account the same way, so GetAccessKeyInfo and offline
// tools agree on keys this deployment never saw.
package accesskey
