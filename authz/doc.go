// Package authz is a client for keyless's authorization API, for resource
// servers and reverse proxies that accept AWS SigV4-signed requests and
// want keyless to decide them: keyless verifies the signature with the
// signer's credentials (long-term or temporary) and evaluates its
// identity, session, boundary and resource policies, policy variables
// included.
//
//	c := &authz.Client{Endpoint: "http://127.0.0.1:8080", AccessKeyID: ..., SecretAccessKey: ...}
//	http.Handle("/", c.Middleware("files", mapRequest, files))
//
// The resource server signs its own calls; its identity needs the
// keyless:AuthorizeRequest action. See docs/authorization-api.md.
package authz
