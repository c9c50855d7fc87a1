// Package authzapi is the HTTP edge of keyless's authorization API, for
// resource servers and reverse proxies: POST /v1/authorize with a request
// they received (method, path, query, host, headers, body hash), the IAM
// action and resource it maps to, and optional service condition keys and
// resource policy. keyless verifies the forwarded SigV4 signature against
// the signer's credentials, evaluates its identity, session, boundary and
// resource policies, and answers allow or deny with the principal and, on
// deny, the encoded authorization message.
//
// The resource server itself signs its call (SigV4, service "keyless") and
// needs keyless:AuthorizeRequest in its identity policy, so that only
// trusted servers can ask. Every call is audited once.
//
// The wire format is documented in docs/authorization-api.md; package
// github.com/keyless-dev/keyless/authz is a client for it.
package authzapi
