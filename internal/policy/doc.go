// Package policy parses, validates and evaluates IAM JSON policy documents
// (IAM User Guide, "IAM JSON policy element reference" and "Policy
// evaluation logic"). It is pure and deterministic: it knows nothing of
// HTTP, storage or the clock; callers pass the request context, including
// the time, in.
//
// Parse turns a document into a compiled *Document (or a *MalformedError
// naming what is wrong); Decide combines identity, resource (trust),
// session and permissions-boundary policies for one request the way AWS
// documents it, and says which statements decided.
package policy
