// Package issuerapi serves keyless's OpenID Connect issuers on the shared
// edge: the discovery document (OpenID Connect Discovery 1.0 section 4)
// and the key set (RFC 7517 section 5) of the deployment's issuer, and
// of each account's own issuer (GetWebIdentityToken), all from the same
// keys and all from memory: the documents are encoded once per
// configuration and per key change, and relying parties may cache them
// for their Cache-Control max-age. They answer nothing about identities
// and record no audit event, as AWS's issuers record no CloudTrail event
// for a key set fetch.
package issuerapi
