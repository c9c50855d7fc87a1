// Package app is the composition root. It builds once what outlives a
// configuration (the key ring, the audit writer, the revocation cache, the
// edge and its metrics, caches) and, from each config.Config, one
// immutable generation: the identity directory, the domain services and
// the HTTP surfaces mounted on the edge by the route table (routes.go). A
// reload (reload.go; SIGHUP, `keyless reload`, the admin listener of
// admin.go) builds a new generation and swaps it in atomically. It owns
// the lifecycle (serving, periodic maintenance, graceful shutdown) and
// holds no logic of its own beyond wiring.
package app
