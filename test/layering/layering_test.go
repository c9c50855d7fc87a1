package layering

import (
	"bytes"
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/keyless-dev/keyless/"

// The packages of each layer, by path in the module.
var (
	// domain knows identities, policies and sessions, and nothing of the
	// wire, storage engines or the configuration format.
	domain = []string{"internal/sts", "internal/iam", "internal/credential", "internal/keyring", "internal/totp", "internal/arn",
		"internal/accesskey", "internal/authmsg", "internal/exchange", "internal/saml", "internal/identity", "internal/ops",
		"internal/policy", "internal/idtoken", "internal/attempts", "internal/kek", "internal/signing", "internal/integration",
		"internal/login", "internal/dpop", "internal/websession", "internal/password"}
	// surfaces are the HTTP APIs, each with its wire format and error
	// table; shared are what every surface builds on.
	surfaces = []string{"internal/stsapi", "internal/authzapi", "internal/exchangeapi", "internal/signin", "internal/samlsignin",
		"internal/issuerapi", "internal/integrationapi", "internal/loginapi", "internal/portal", "internal/oidcsignin"}
	shared = []string{"internal/edge", "internal/awserrors"}
	// backends are the storage engines; drivers is the registry that
	// chooses among them.
	backends = []string{"internal/storage/embedded", "internal/storage/memory", "internal/storage/sqlstore", "internal/storage/auditfile"}
	drivers  = "internal/storage/drivers"
)

// rules lists, per package, imports (direct or transitive) that would
// break the layering, with the reason.
func rules() map[string]map[string]string {
	r := map[string]map[string]string{}
	add := func(pkg string, bad map[string]string) {
		if r[pkg] == nil {
			r[pkg] = map[string]string{}
		}
		for k, v := range bad {
			r[pkg][k] = v
		}
	}
	edges := append(append([]string{}, surfaces...), shared...)
	for _, p := range domain {
		add(p, map[string]string{
			"net/http":                   "the domain never sees HTTP; the edge does",
			"encoding/xml":               "the domain never sees XML; the codecs (awsquery, samlxml) do",
			"database/sql":               "the domain uses storage interfaces, not SQL",
			"modernc.org/sqlite":         "the domain never imports a storage driver",
			module + "internal/config":   "the domain takes plain values, not the file format",
			module + "internal/app":      "the domain does not know how it is wired",
			module + "internal/awsproof": "the domain reaches AWS only behind its AWSVerifier port",
			"github.com/prometheus/client_golang/prometheus": "metrics are the edge's concern",
		})
		add(p, each(append(append([]string{}, edges...), backends...), "the domain does not know its edges or storage engines"))
		add(p, each([]string{drivers}, "the domain does not choose a storage engine"))
	}
	for _, p := range edges {
		add(p, map[string]string{
			"database/sql":             "edges reach storage through the domain",
			"modernc.org/sqlite":       "edges never import a storage driver",
			module + "internal/config": "edges take plain values, not the file format",
			module + "internal/app":    "edges do not know how they are wired",
			module + "internal/cli":    "edges do not know the command line",
		})
		add(p, each(append(append([]string{}, backends...), drivers), "only the registry chooses a storage engine"))
	}
	// No surface imports another: what they share is in edge, awserrors
	// and signin, not in stsapi.
	for _, p := range surfaces {
		var others []string
		for _, q := range surfaces {
			if q != p && q != "internal/signin" { // what every sign-in page builds on
				others = append(others, q)
			}
		}
		add(p, each(others, "surfaces share edge, awserrors and signin, not each other"))
	}
	for _, p := range shared {
		add(p, each(surfaces, "the shared edge knows no surface"))
	}
	add("internal/awsproof", map[string]string{
		module + "internal/config": "the verifier takes plain values",
		"database/sql":             "replay protection is the UseOnce it is given",
	})
	add("internal/awsproof", each(append(append([]string{}, edges...), backends...), "the verifier is neither an edge nor storage"))
	add("internal/audit", map[string]string{"net/http": "audit events are built at the edge, stored through storage"})
	add("internal/audit", each(append(append([]string{}, surfaces...), backends...), "events know no edge or engine"))
	add("internal/samlxml", map[string]string{
		"net/http":                   "verifying a SAML Response never reaches the network",
		module + "internal/sts":      "the XML edge hands typed assertions to the domain, not the reverse",
		module + "internal/storage":  "verification is pure; replay is the domain's business",
		module + "internal/outbound": "no URL in a document is ever fetched",
	})
	add("internal/policy", map[string]string{
		module + "internal/iam":     "the policy language knows no identities, only the request it is given",
		module + "internal/storage": "policy evaluation is pure",
	})
	add("internal/idtoken", map[string]string{
		module + "internal/jwks":     "token verification is pure; keys are fetched behind KeySource",
		module + "internal/outbound": "token verification never reaches the network",
	})
	add("internal/sigv4", map[string]string{
		"database/sql":                 "signature verification knows nothing of storage",
		module + "internal/sts":        "sigv4 must not depend on the domain",
		module + "internal/credential": "sigv4 must not depend on credentials",
	})
	add("internal/awsquery", map[string]string{
		module + "internal/sts":     "the codec knows nothing of STS semantics",
		module + "internal/storage": "the codec knows nothing of storage",
	})
	add("internal/storage", map[string]string{
		"net/http":     "storage interfaces know nothing of HTTP",
		"database/sql": "storage interfaces expose no driver types",
	})
	return r
}

// each forbids every package of list, for why.
func each(list []string, why string) map[string]string {
	m := map[string]string{}
	for _, p := range list {
		m[module+p] = why
	}
	return m
}

// chooses says which packages may import a storage engine directly: the
// registry, and the embedded engine its own parts. Tests are exempt.
var chooses = map[string][]string{
	"internal/storage/embedded":  {drivers},
	"internal/storage/memory":    {drivers},
	"internal/storage/sqlstore":  {"internal/storage/embedded"},
	"internal/storage/auditfile": {"internal/storage/embedded"},
	drivers:                      {"internal/cli", "internal/config"},
}

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

// packages lists every package of the module with its imports and
// dependencies.
func packages(t *testing.T) map[string]pkg {
	t.Helper()
	out, err := exec.Command("go", "list", "-json", "../../...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string]pkg{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs[strings.TrimPrefix(p.ImportPath, module)] = p
	}
	return pkgs
}

func TestLayering(t *testing.T) {
	pkgs := packages(t)
	if len(pkgs) < 30 {
		t.Fatalf("go list found %d packages; the check would be vacuous", len(pkgs))
	}
	// A rule about a package that does not exist checks nothing.
	exists := func(where, p string) {
		if _, ok := pkgs[p]; !ok {
			t.Errorf("%s names %s, which does not exist: the rule is stale", where, p)
		}
	}
	for p, bad := range rules() {
		exists("a rule", p)
		for dep := range bad {
			if rest, ok := strings.CutPrefix(dep, module); ok {
				exists("the rule for "+p, rest)
			}
		}
	}
	for engine, allowed := range chooses {
		exists("the engine list", engine)
		for _, a := range allowed {
			exists("the importers of "+engine, a)
		}
	}

	for p, bad := range rules() {
		info := pkgs[p]
		if len(info.Deps) == 0 {
			t.Errorf("%s: no dependencies listed; the check would be vacuous", p)
		}
		for _, dep := range info.Deps {
			if why, ok := bad[dep]; ok {
				t.Errorf("%s imports %s: %s", p, strings.TrimPrefix(dep, module), why)
			}
			if strings.HasPrefix(dep, "github.com/aws/") {
				t.Errorf("%s imports %s: the AWS SDK is for tests only", p, dep)
			}
		}
	}

	// Only the registry chooses a storage engine.
	var names []string
	for name := range pkgs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if strings.HasPrefix(name, "test/") {
			continue
		}
		for _, imp := range pkgs[name].Imports {
			engine, ok := strings.CutPrefix(imp, module)
			allowed, isEngine := chooses[engine]
			if ok && isEngine && !slices.Contains(allowed, name) {
				t.Errorf("%s imports %s: only %v may", name, engine, allowed)
			}
		}
	}
}
