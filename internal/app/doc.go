// Package app is the composition root: it builds storage, the key ring, the
// identity directory, the STS service, the audit writer and the HTTP
// handlers from a config.Config through their constructors, and owns their
// lifecycle (serving, periodic maintenance, graceful shutdown). It holds no
// logic of its own beyond wiring.
package app
