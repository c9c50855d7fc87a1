// Package jsontext appends JSON text without reflection, for the answers
// and records written on every request (the audit event, an integration's
// credentials), where encoding/json's reflection is a measurable share of
// the request's CPU.
package jsontext
