// Package password hashes and verifies console passwords: argon2id (RFC
// 9106) in the PHC string format, and bcrypt hashes made elsewhere (Dex's
// and htpasswd's "$2a$", "$2b$", "$2y$"). Verifying is deliberately slow,
// so a Checker runs a bounded number at once and turns the rest away
// rather than let a flood of sign-in attempts take every core from the
// STS API.
package password
