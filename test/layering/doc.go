// Package layering holds a test that enforces the architecture: the domain
// packages never import HTTP, XML or storage drivers, and only the
// composition root and the command line import a concrete backend.
package layering
