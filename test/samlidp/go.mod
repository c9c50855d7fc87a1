module github.com/keyless-dev/keyless/test/samlidp

go 1.26

require (
	github.com/crewjam/saml v0.5.1
	// Required explicitly so that minimal version selection picks the
	// fixed XML-DSig library, not crewjam's v1.4.0 (security.md 1.3 V-32,
	// 4.1: CVE-2026-33487, GHSA-qhrp-hfff-vphr).
	github.com/russellhaering/goxmldsig v1.6.1
)

require (
	github.com/beevik/etree v1.7.0 // indirect
	github.com/jonboulle/clockwork v0.5.0 // indirect
	github.com/mattermost/xml-roundtrip-validator v0.1.0 // indirect
	golang.org/x/crypto v0.33.0 // indirect
)
