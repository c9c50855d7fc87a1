package policy

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/eval")

// goldenFile is one evaluation scenario in testdata/eval: a set of
// policies, some principals, and requests. Its .golden twin records each
// request's decision, reason and deciding statements.
type goldenFile struct {
	Comment         string                `json:"comment"`
	Identity        []goldenPolicy        `json:"identity"`
	Boundary        *goldenPolicy         `json:"boundary"`
	Session         []goldenPolicy        `json:"session"`
	HasSession      bool                  `json:"hasSession"`
	Resource        *goldenPolicy         `json:"resource"`
	ResourceAccount string                `json:"resourceAccount"`
	RequireResource bool                  `json:"requireResource"`
	Principals      map[string]Principal  `json:"principals"`
	Requests        []goldenRequest       `json:"requests"`
	Sets            map[string]goldenSets `json:"sets"`
}

type goldenPolicy struct {
	Name   string          `json:"name"`
	Kind   string          `json:"kind"`
	Policy json.RawMessage `json:"policy"`
}

// goldenSets lets a request swap parts of the set (another session
// policy, no boundary) by name.
type goldenSets struct {
	Identity   []goldenPolicy `json:"identity"`
	Session    []goldenPolicy `json:"session"`
	HasSession *bool          `json:"hasSession"`
	NoBoundary bool           `json:"noBoundary"`
}

type goldenRequest struct {
	Name      string              `json:"name"`
	Principal string              `json:"principal"`
	Action    string              `json:"action"`
	Resource  string              `json:"resource"`
	Context   map[string][]string `json:"context"`
	Set       string              `json:"set"`
}

func (g goldenPolicy) named(t *testing.T, def Kind) Named {
	t.Helper()
	kind := def
	switch g.Kind {
	case "trust":
		kind = Trust
	case "resource":
		kind = Resource
	}
	d, err := Parse(kind, string(g.Policy))
	if err != nil {
		t.Fatalf("policy %s: %v", g.Name, err)
	}
	return Named{Name: g.Name, Doc: d}
}

func namedAll(t *testing.T, gs []goldenPolicy) []Named {
	var out []Named
	for _, g := range gs {
		out = append(out, g.named(t, Identity))
	}
	return out
}

func TestGoldenEvaluations(t *testing.T) {
	files, err := filepath.Glob("testdata/eval/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden scenarios: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var g goldenFile
			dec := json.NewDecoder(strings.NewReader(string(raw)))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&g); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			base := Set{
				Identity:        namedAll(t, g.Identity),
				Session:         namedAll(t, g.Session),
				HasSession:      g.HasSession,
				ResourceAccount: g.ResourceAccount,
				RequireResource: g.RequireResource,
			}
			if g.Boundary != nil {
				b := g.Boundary.named(t, Identity)
				base.Boundary = &b
			}
			if g.Resource != nil {
				r := g.Resource.named(t, Resource)
				base.Resource = &r
			}
			var out strings.Builder
			for _, r := range g.Requests {
				set := base
				if r.Set != "" {
					alt, ok := g.Sets[r.Set]
					if !ok {
						t.Fatalf("request %s: no set %q", r.Name, r.Set)
					}
					if alt.Identity != nil {
						set.Identity = namedAll(t, alt.Identity)
					}
					if alt.Session != nil {
						set.Session = namedAll(t, alt.Session)
					}
					if alt.HasSession != nil {
						set.HasSession = *alt.HasSession
					}
					if alt.NoBoundary {
						set.Boundary = nil
					}
				}
				p, ok := g.Principals[r.Principal]
				if !ok {
					t.Fatalf("request %s: no principal %q", r.Name, r.Principal)
				}
				d := Decide(&set, &Request{Principal: p, Action: r.Action, Resource: r.Resource, Context: ctxOf(r.Context)})
				fmt.Fprintf(&out, "%s: %s", r.Name, verdict(d))
				for _, m := range d.Matched {
					fmt.Fprintf(&out, " | %s %s #%d %s", m.Effect, m.Policy, m.Index, m.Sid)
				}
				out.WriteString("\n")
			}
			goldenPath := strings.TrimSuffix(file, ".json") + ".golden"
			if *update {
				if err := os.WriteFile(goldenPath, []byte(out.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(goldenPath)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if out.String() != string(want) {
				t.Errorf("decisions differ from %s:\n--- got\n%s--- want\n%s", goldenPath, out.String(), want)
			}
		})
	}
}

func verdict(d Decision) string {
	if d.Allowed {
		return "ALLOW"
	}
	return "DENY " + string(d.Reason)
}
