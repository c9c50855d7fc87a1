// Package version holds build information, set at link time with
// -ldflags "-X github.com/keyless-dev/keyless/internal/version.Version=...".
package version
