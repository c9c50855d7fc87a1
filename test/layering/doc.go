// Package layering holds a test that enforces the architecture: the domain
// packages never import HTTP, XML, SQL, metrics, the configuration format
// or a storage engine; no HTTP surface imports another (what they share is
// in edge, awserrors and signin); and only the storage registry chooses a
// storage engine. A rule that names a package that does not exist fails
// the test, so the rules cannot go stale silently.
package layering
