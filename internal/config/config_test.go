package config_test

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/config"
	"github.com/keyless-dev/keyless/internal/iam"
)

var update = flag.Bool("update", false, "rewrite golden files")

func noEnv(string) (string, bool) { return "", false }

func TestQuickstart(t *testing.T) {
	c, err := config.Load("../../examples/quickstart.yaml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.DataDir != "./data" || c.Region != "us-east-1" || c.MFAMaxFailures != 10 ||
		c.MFALockoutWindow != 5*time.Minute || c.KeyRotateEvery != 720*time.Hour {
		t.Errorf("settings: %+v", c)
	}
	ids := c.Identities
	if len(ids.Accounts) != 1 || ids.Accounts[0].ID != "111122223333" || len(ids.Users) != 3 || len(ids.AccessKeys) != 3 || len(ids.MFADevices) != 1 {
		t.Fatalf("identities: %+v", ids)
	}
	alice := ids.AccessKeys[0]
	if alice.ID != "AKIAIOSFODNN7EXAMPLE" || alice.Secret.Reveal() != "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" || !alice.Active ||
		alice.Owner.ARN() != "arn:aws:iam::111122223333:user/alice" {
		t.Errorf("alice's key: %+v", alice)
	}
	bob := ids.MFADevices[0]
	if bob.Serial != "arn:aws:iam::111122223333:mfa/bob" || bob.Seed.Len() != 20 || bob.Owner.ARN() != "arn:aws:iam::111122223333:user/engineering/bob" {
		t.Errorf("bob's device: %+v", bob)
	}
	if ids.Users[0].Tags["team"] != "platform" {
		t.Errorf("tags: %v", ids.Users[0].Tags)
	}
	if ids.Users[0].Password == nil || ids.Users[1].Password == nil || ids.Users[2].Password != nil {
		t.Errorf("console passwords: alice and bob have one, files-service none")
	}
	if !reflect.DeepEqual(c.SignIn, config.DefaultSignIn()) {
		t.Errorf("sign-in settings: %+v", c.SignIn)
	}
	if len(ids.Roles) != 7 || len(ids.ManagedPolicies) != 4 {
		t.Fatalf("roles: %+v", ids.Roles)
	}
	if len(ids.OIDCProviders) != 3 {
		t.Fatalf("OIDC providers: %+v", ids.OIDCProviders)
	}
	// keyless's own issuer and the account's, for the self integration
	// and TokenDemo.
	if ids.OIDCProviders[1].URL != "http://127.0.0.1:8080" || ids.OIDCProviders[2].URL != "http://127.0.0.1:8080/tokens/quickstart-issuer" ||
		!ids.Accounts[0].OutboundWebIdentityFederation || ids.Accounts[0].OutboundIssuerID != "quickstart-issuer" {
		t.Errorf("the quickstart's issuers: %+v %+v", ids.OIDCProviders[1:], ids.Accounts[0])
	}
	if len(c.Integrations.Specs) != 1 {
		t.Fatalf("integrations: %+v", c.Integrations.Specs)
	}
	self := c.Integrations.Specs[0]
	if self.ARN() != "arn:aws:keyless::111122223333:integration/quickstart/self" || self.Method != "wif" || self.Audience != "keyless" ||
		self.Endpoint.URL != "http://127.0.0.1:8080" || !self.Endpoint.AllowHTTPLoopback || self.SessionName != "keyless-self" ||
		self.SessionDuration != time.Hour || self.Algorithm != "RS256" || c.Integrations.CheckEvery != time.Minute ||
		c.Integrations.MissingAfter != time.Hour {
		t.Errorf("self integration: %+v %+v", self, c.Integrations)
	}
	gh := ids.OIDCProviders[0]
	if gh.ARN() != "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com" || !gh.MultiTenant ||
		len(gh.ClientIDs) != 1 || gh.ClientIDs[0] != "sts.amazonaws.com" || len(gh.ClaimKeys) == 0 {
		t.Errorf("GitHub Actions provider: %+v", gh)
	}
	demo := ids.Roles[0]
	if demo.ARN() != "arn:aws:iam::111122223333:role/Demo" || demo.MaxSessionDuration != 4*time.Hour || demo.Tags["project"] != "quickstart" ||
		len(demo.Policies) != 2 || demo.Policies[0].Name != "arn:aws:iam::111122223333:policy/ReadDemoBucket" || demo.Trust == nil {
		t.Errorf("Demo: %+v", demo)
	}
	admin := ids.Roles[3]
	if admin.Name != "Admin" || admin.MaxSessionDuration != time.Hour || len(admin.Policies) != 1 || admin.Policies[0].Name != "inline policy Everything of role/Admin" {
		t.Errorf("Admin: %+v", admin)
	}
}

// Every problem in the file is reported at once, each with its line,
// column and field; the full report is pinned as a golden file.
func TestInvalidReportsEverything(t *testing.T) {
	_, err := config.Load("testdata/invalid.yaml", func(k string) (string, bool) { return "", k == "ALSO" })
	var ps config.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want Problems, got %v", err)
	}
	got := err.Error() + "\n"
	golden := "testdata/invalid.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("report differs from %s:\n%s", golden, got)
	}
	for _, p := range ps {
		if p.Pos.Line == 0 {
			t.Errorf("problem without a line: %s", p)
		}
	}
}

func TestDecodeErrorsStopBeforeValidation(t *testing.T) {
	cases := map[string]string{
		"anchor":        "accounts: &a [{id: '111122223333'}]\nkeys: *a\n",
		"two documents": "accounts: []\n---\naccounts: []\n",
		"not yaml":      "accounts: [\n",
		"wrong kind":    "accounts: {id: 1}\n",
		"duplicate":     "server: {}\nserver: {}\n",
		"unknown top":   "acounts: []\n",
		"bad duration":  "sts: {mfa_lockout_window: soon}\n",
	}
	for name, src := range cases {
		_, err := config.Parse("x.yaml", []byte(src), ".", noEnv)
		var ps config.Problems
		if !errors.As(err, &ps) || len(ps) == 0 {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !strings.HasPrefix(ps[0].String(), "x.yaml:") {
			t.Errorf("%s: %s", name, ps[0])
		}
	}
	if _, err := config.Parse("big.yaml", make([]byte, config.MaxFileSize+1), ".", noEnv); err == nil {
		t.Error("oversized file accepted")
	}
}

func TestSecretSources(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "alice.secret"), []byte("from-a-file-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src := `
accounts:
  - id: "111122223333"
    root:
      access_keys:
        - {id: AKIAROOTROOTROOTROOT, secret_env: ROOT_SECRET, status: Inactive}
    users:
      - name: alice
        id: AIDAJQABLZS4A3QDU576Q
        access_keys:
          - {id: AKIAIOSFODNN7EXAMPLE, secret_file: alice.secret}
`
	c, err := config.Parse("s.yaml", []byte(src), dir, func(k string) (string, bool) {
		return "from-the-environment-0123", k == "ROOT_SECRET"
	})
	if err != nil {
		t.Fatal(err)
	}
	root, alice := c.Identities.AccessKeys[0], c.Identities.AccessKeys[1]
	if root.Secret.Reveal() != "from-the-environment-0123" || root.Active || root.Owner.Type != iam.Root {
		t.Errorf("root key: %+v", root)
	}
	if alice.Secret.Reveal() != "from-a-file-0123456789" || alice.Owner.UniqueID != "AIDAJQABLZS4A3QDU576Q" {
		t.Errorf("alice key: %+v", alice)
	}
}

// The signin section's bounds, and console passwords that are not hashes.
func TestSignInSettings(t *testing.T) {
	base := "accounts:\n  - id: \"111122223333\"\n    users:\n      - name: u\n        console_password: %s\n"
	for _, tc := range []struct{ name, yaml, want string }{
		{"plain password", fmt.Sprintf(base, "hunter2"), "console_password"},
		{"md5 crypt", fmt.Sprintf(base, "'$1$abc$def'"), "console_password"},
		{"credentials_ttl too long", minimal + "signin:\n  credentials_ttl: 16m\n", "signin.credentials_ttl"},
		{"session_max too long", minimal + "signin:\n  session_max: 13h\n", "signin.session_max"},
		{"refresh_grace too long", minimal + "signin:\n  refresh_grace: 6m\n", "signin.refresh_grace"},
		{"password_concurrency 0 is the default, 65 too many", minimal + "signin:\n  password_concurrency: 65\n", "signin.password_concurrency"},
		{"an alias twice", "accounts:\n  - {id: '111122223333', alias: corp}\n  - {id: '444455556666', alias: corp}\n", "accounts[1].alias"},
		{"an alias of 12 digits", "accounts:\n  - {id: '111122223333', alias: '444455556666'}\n", "accounts[0].alias"},
		{"an OIDC provider named callback", minimal + "signin:\n  oidc:\n    - {name: callback, issuer: 'https://idp.example.com', client_id: k, client_secret: s, account: '111122223333'}\n", "signin.oidc[0].name"},
	} {
		_, err := config.Parse("t.yaml", []byte(tc.yaml), t.TempDir(), noEnv)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error at %s", tc.name, err, tc.want)
		}
	}
	c, err := config.Parse("t.yaml", []byte(minimal+"signin:\n  credentials_ttl: 20s\n  session_max: 2m\n  refresh_grace: 0s\n"), t.TempDir(), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.SignIn.CredentialsTTL != 20*time.Second || c.SignIn.SessionMax != 2*time.Minute || c.SignIn.RefreshGrace != 0 {
		t.Errorf("settings: %+v", c.SignIn)
	}
}
