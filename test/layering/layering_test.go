package layering

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/keyless-dev/keyless/"

// forbidden lists, per package, imports (direct or transitive) that would
// break the layering, with the reason.
var forbidden = map[string]map[string]string{
	"internal/sts":        domain(),
	"internal/iam":        domain(),
	"internal/credential": domain(),
	"internal/keyring":    domain(),
	"internal/audit":      {"net/http": "audit events are built at the edge, stored through storage"},
	"internal/totp":       domain(),
	"internal/arn":        domain(),
	"internal/accesskey":  domain(),
	"internal/authmsg":    domain(),
	"internal/exchange":   domain(),
	"internal/saml":       domain(),
	"internal/samlxml": {
		"net/http":                   "verifying a SAML Response never reaches the network",
		module + "internal/sts":      "the XML edge hands typed assertions to the domain, not the reverse",
		module + "internal/storage":  "verification is pure; replay is the domain's business",
		module + "internal/outbound": "no URL in a document is ever fetched",
	},
	"internal/policy": merge(domain(), map[string]string{
		module + "internal/iam":     "the policy language knows no identities, only the request it is given",
		module + "internal/storage": "policy evaluation is pure",
	}),
	"internal/idtoken": merge(domain(), map[string]string{
		module + "internal/jwks":     "token verification is pure; keys are fetched behind KeySource",
		module + "internal/outbound": "token verification never reaches the network",
	}),
	"internal/sigv4": {
		"database/sql":                 "signature verification knows nothing of storage",
		module + "internal/sts":        "sigv4 must not depend on the domain",
		module + "internal/credential": "sigv4 must not depend on credentials",
	},
	"internal/awsquery": {
		module + "internal/sts":     "the codec knows nothing of STS semantics",
		module + "internal/storage": "the codec knows nothing of storage",
	},
	"internal/storage": {
		"net/http":     "storage interfaces know nothing of HTTP",
		"database/sql": "storage interfaces expose no driver types",
	},
}

func merge(a, b map[string]string) map[string]string {
	for k, v := range b {
		a[k] = v
	}
	return a
}

func domain() map[string]string {
	return map[string]string{
		"net/http":                                       "the domain never sees HTTP; the edge (stsapi) does",
		"encoding/xml":                                   "the domain never sees XML; the codec (awsquery) does",
		"database/sql":                                   "the domain uses storage interfaces, not SQL",
		"modernc.org/sqlite":                             "the domain never imports a storage driver",
		module + "internal/storage/sqlite":               "only app and cli pick a backend",
		module + "internal/storage/sqlstore":             "only backends use the shared SQL",
		module + "internal/stsapi":                       "the domain does not know its edge",
		module + "internal/authzapi":                     "the domain does not know its edge",
		module + "internal/config":                       "the domain takes plain values, not the file format",
		"github.com/prometheus/client_golang/prometheus": "metrics are the edge's concern",
	}
}

func TestLayering(t *testing.T) {
	for pkg, bad := range forbidden {
		out, err := exec.Command("go", "list", "-json", "-deps=false", "../../"+pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		var info struct{ Deps []string }
		if err := json.Unmarshal(out, &info); err != nil {
			t.Fatal(err)
		}
		if len(info.Deps) == 0 {
			t.Fatalf("%s: no dependencies listed; the check would be vacuous", pkg)
		}
		for _, dep := range info.Deps {
			if why, ok := bad[dep]; ok {
				t.Errorf("%s imports %s: %s", pkg, dep, why)
			}
			if strings.HasPrefix(dep, "github.com/aws/") {
				t.Errorf("%s imports %s: the AWS SDK is for tests only", pkg, dep)
			}
		}
	}
}
