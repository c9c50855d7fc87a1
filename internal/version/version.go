package version

import "runtime/debug"

// Version is the release version; "dev" for local builds.
var Version = "dev"

// commit is the VCS revision set at link time, with "-dirty" when the tree
// had changes. The build info cannot stand in for it when the build runs
// with -buildvcs=false.
var commit string

// Commit is the VCS revision: the one set at link time, else the build
// info's vcs.revision ("-dirty" if vcs.modified), else "unknown".
func Commit() string {
	bi, _ := debug.ReadBuildInfo()
	return commitOf(commit, bi)
}

func commitOf(linked string, bi *debug.BuildInfo) string {
	if linked != "" {
		return linked
	}
	if bi == nil {
		return "unknown"
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	switch {
	case rev == "":
		return "unknown"
	case modified == "true":
		return rev + "-dirty"
	}
	return rev
}
