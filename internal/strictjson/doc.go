// Package strictjson reads JSON objects the strict way security-sensitive
// inputs need (security.md section 1.11): exactly one object, no trailing
// data, bounded depth, and no object with two member names that are equal
// or equal under Unicode case folding. ID tokens, key sets and token
// exchange envelopes are read through it.
package strictjson
