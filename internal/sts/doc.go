// Package sts is the domain core of the token service: it authenticates
// callers from the credentials they signed with and carries out STS actions
// on typed requests, returning typed results or *Error values.
//
// It never imports net/http, encoding/xml or a storage driver; the HTTP edge
// (package stsapi) parses requests into the types here and maps Error codes
// to AWS error codes and statuses.
package sts
