// Package cli is keyless's command line: one file per command. `serve`
// loads the configuration, opens storage through the driver registry and
// runs app; the offline commands (audit, keys, sessions) open the
// deployment's store without ever creating it and call the operations
// service (internal/ops); `reload` asks a running server to re-read its
// configuration. Commands hold no logic of their own.
package cli
