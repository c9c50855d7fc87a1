// Package ops is keyless's operations service: revoking the sessions of a
// role or user, rotating and listing the master keys, and reading and
// verifying the audit trail. The command line calls it on a store opened
// offline; an admin API will call the same methods on a running server's
// store. It is the only way those commands reach storage, so none of them
// knows how state is keyed.
package ops
