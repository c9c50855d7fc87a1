// Package jwks keeps identity providers' signing keys: a provider's JSON Web
// Key Set is found through OpenID Connect Discovery 1.0 (or configured),
// fetched through the guarded outbound client, cached as Cache-Control says
// between a floor and a ceiling, refreshed on an unknown key id at most once
// per rate window with concurrent misses sharing one fetch, replaced whole
// on every refresh, and served from cache while the provider is down until a
// hard maximum age. It never fails open. Each provider has its own set:
// keys are looked up by (issuer, kid), never by kid alone (security.md V-19).
package jwks
