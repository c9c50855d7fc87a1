package sigv4

import "testing"

// The fast path gives what the segment-by-segment normalisation gives.
func FuzzNormalFastPath(f *testing.F) {
	for _, s := range []string{"/", "//", "/a/b/", "/a//b", "/./a", "/a/.", "/a/..", "/.a/..b/...", "a/b", "/v1/integrations/s/n/credentials"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if p == "" {
			return
		}
		if normal(p) && normalizeSegments(p) != p {
			t.Fatalf("%q is called normal but normalizes to %q", p, normalizeSegments(p))
		}
		if !normal(p) && p[0] == '/' && normalizeSegments(p) == p {
			t.Fatalf("%q is normal but not called so", p)
		}
	})
}
