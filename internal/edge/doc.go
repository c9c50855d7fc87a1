// Package edge is the one request pipeline behind every HTTP surface of
// keyless (the STS API, the authorization API, the token exchange, the
// sign-in pages, and the surfaces still to come). A surface declares its
// routes and its wire format; the edge does everything else once:
//
//	route -> request id, source IP, user agent -> audit event begun
//	-> handler (bounded body, SigV4 when it asks) with panics recovered
//	-> refusal from the surface's one error table
//	-> audit event stored, or 503 if it cannot be
//	-> the surface writes its answer -> per-route metrics
//
// so that no surface can skip a phase or get one subtly different. The
// surfaces keep only their wire format (awsquery XML, JSON, RFC 6749
// errors, HTML pages) and their own error table.
//
// Routes are net/http ServeMux patterns without methods (each surface
// answers a wrong method in its own format). A path ServeMux would
// redirect to its clean form, such as the "//" that Vault's AWS auth method
// sends to STS, goes to the surface mounted at "/" instead.
package edge
