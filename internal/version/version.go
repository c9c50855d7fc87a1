package version

import "runtime/debug"

// Version is the release version; "dev" for local builds.
var Version = "dev"

// Commit is the VCS revision, when the build knows it.
func Commit() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}
