// Package identity keeps the directory's identities stable over time, as
// IAM does: the unique ids of users and roles (AIDA..., AROA...), stored so
// that restarts, reloads and every node agree, released when a user or
// role is removed so that one re-created under the same name is a new
// principal; trust policies bound to those ids; the deployment's id; and
// the revocation of a principal's sessions. The composition root builds
// directories through it and the operations service revokes through it.
package identity
