package version

import (
	"runtime/debug"
	"testing"
)

func TestCommitOf(t *testing.T) {
	vcs := func(kv ...string) *debug.BuildInfo {
		bi := &debug.BuildInfo{}
		for i := 0; i < len(kv); i += 2 {
			bi.Settings = append(bi.Settings, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return bi
	}
	for _, tc := range []struct {
		name   string
		linked string
		bi     *debug.BuildInfo
		want   string
	}{
		{"link time first", "abc123-dirty", vcs("vcs.revision", "def456"), "abc123-dirty"},
		{"link time, no build info", "abc123", nil, "abc123"},
		{"build info", "", vcs("vcs", "git", "vcs.revision", "def456", "vcs.modified", "false"), "def456"},
		{"build info, modified", "", vcs("vcs.revision", "def456", "vcs.modified", "true"), "def456-dirty"},
		{"no revision", "", vcs("-buildmode", "exe"), "unknown"},
		{"no build info", "", nil, "unknown"},
	} {
		if got := commitOf(tc.linked, tc.bi); got != tc.want {
			t.Errorf("%s: commitOf(%q, ...) = %q, want %q", tc.name, tc.linked, got, tc.want)
		}
	}
}

func TestCommitPrefersLinkTimeValue(t *testing.T) {
	defer func(c string) { commit = c }(commit)
	commit = "0123abcd-dirty"
	if got := Commit(); got != commit {
		t.Errorf("Commit() = %q, want the link-time %q", got, commit)
	}
}
