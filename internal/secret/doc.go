// Package secret gives secret values types that never print themselves.
//
// Secret access keys, session tokens, TOTP seeds and codes, JWTs and SAML
// assertions travel through keyless as String or Bytes. Formatting one with
// fmt, slog or encoding/json yields a fixed placeholder, so a secret that ends
// up in a log line, an audit event or an error message is harmless. Code that
// really needs the value calls Reveal, which is easy to grep for.
package secret
