// Package memory is an in-memory storage backend for tests and throw-away
// development servers. It passes the same conformance suite as the durable
// backends; its state ends with the process.
package memory
