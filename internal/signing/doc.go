// Package signing keeps the key pairs keyless signs its own tokens with as
// an OpenID Connect issuer (integrations' tokens, GetWebIdentityToken),
// signs JWTs with them (RFC 7519, compact JWS of RFC 7515 section 7.1,
// algorithms of RFC 7518 section 3: RS256, ES256, ES384) and renders the
// public halves as a JSON Web Key Set (RFC 7517 section 5).
//
// Keys live in storage, sealed under the key-encryption key, so every
// node signs with the same keys. Rotation follows the pre-published
// model: each algorithm has a next key that is in the key set, signing
// nothing, for at least Publish (a relying party's cache period plus the
// time nodes take to see a new key) before it becomes the active key; a
// retired key stays in the set for Retain after it stopped signing (the
// longest token lifetime plus the cache period). The active key changes by
// compare-and-swap (storage.SigningKeys), so two nodes never disagree for
// longer than one refresh, and both keys are published meanwhile.
//
// A published key is a Go type with public members only: no private
// member (d, p, q, dp, dq, qi) or symmetric key can be written, whatever
// key it was built from.
package signing
