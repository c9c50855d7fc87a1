// Package version holds build information. The Makefile sets both values at
// link time:
//
//	-ldflags "-X github.com/keyless-dev/keyless/internal/version.Version=...
//	          -X github.com/keyless-dev/keyless/internal/version.commit=..."
package version
