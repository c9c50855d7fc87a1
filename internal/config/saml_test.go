package config_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/config"
	"github.com/keyless-dev/keyless/internal/samlxml/samlxmltest"
)

func samlConfig(t *testing.T, dir, saml, providers string) (*config.Config, error) {
	t.Helper()
	doc := `
server:
  regions: [us-east-1, eu-west-1]
` + saml + `
accounts:
  - id: "111122223333"
    saml_providers:
` + providers
	return config.Parse("saml.yaml", []byte(doc), dir, noEnv)
}

func TestSAMLProviders(t *testing.T) {
	dir := t.TempDir()
	idp := samlxmltest.NewIdP("https://idp.example.test/saml")
	if err := os.WriteFile(filepath.Join(dir, "idp.xml"), idp.Metadata(), 0o600); err != nil {
		t.Fatal(err)
	}
	inline := strings.ReplaceAll(string(samlxmltest.NewIdP("https://other.example.test").Metadata()), "\n", "\n          ")
	c, err := samlConfig(t, dir, "saml:\n  base_url: https://keyless.example.com/\n  extra_recipients: [https://signin.aws.amazon.com/saml]\n", `
      - name: corp
        metadata_file: idp.xml
      - name: partner
        allow_sha1: true
        metadata: |
          `+inline+`
`)
	if err != nil {
		t.Fatal(err)
	}
	ps := c.Identities.SAMLProviders
	if len(ps) != 2 || ps[0].Name != "corp" || ps[0].EntityID != "https://idp.example.test/saml" || len(ps[0].Certificates) != 1 ||
		!ps[0].Certificates[0].Equal(idp.Certificate()) || ps[0].AllowSHA1 || !ps[1].AllowSHA1 || ps[1].EntityID != "https://other.example.test" ||
		ps[0].ARN() != "arn:aws:iam::111122223333:saml-provider/corp" {
		t.Fatalf("providers %+v", ps)
	}
	s := c.SAML
	if s.BaseURL != "https://keyless.example.com" || s.MaxAssertionAge != 5*time.Minute || s.ClockSkew != time.Minute ||
		len(s.Audiences) != 1 || s.Audiences[0] != "urn:amazon:webservices" {
		t.Fatalf("saml %+v", s)
	}
	want := []string{"https://keyless.example.com/saml", "https://keyless.example.com/us-east-1/saml",
		"https://keyless.example.com/eu-west-1/saml", "https://signin.aws.amazon.com/saml"}
	if got := s.SignInURLs(s.BaseURL); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("sign-in URLs %v", got)
	}
}

func TestSAMLRefusals(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, idp *samlxmltest.IdP) {
		if err := os.WriteFile(filepath.Join(dir, name), idp.Metadata(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("good.xml", samlxmltest.NewIdP("https://idp.example.test/saml"))
	write("twin.xml", samlxmltest.NewIdP("https://idp.example.test/saml"))
	// SAML-09: a provider whose only certificate is expired, or whose key
	// is too weak, has no usable signing certificate and is refused.
	write("expired.xml", samlxmltest.NewIdPWith("https://expired.example.test", samlxmltest.IdPOptions{
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)}))
	write("weak.xml", samlxmltest.NewIdPWith("https://weak.example.test", samlxmltest.IdPOptions{RSABits: 1024}))
	for _, tc := range []struct{ name, saml, providers, want string }{
		{"SAML-09 expired certificate", "", "      - {name: old, metadata_file: expired.xml}\n", "saml_providers[0]: IdP metadata refused"},
		{"SAML-09 weak key", "", "      - {name: weak, metadata_file: weak.xml}\n", "saml_providers[0]: IdP metadata refused"},
		{"SAML-09 no certificate", "", "      - {name: none, metadata: '<EntityDescriptor xmlns=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"x\"/>'}\n", "IdP metadata refused"},
		{"both metadata kinds", "", "      - {name: both, metadata_file: good.xml, metadata: x}\n", "exactly one of metadata or metadata_file"},
		{"neither", "", "      - {name: neither}\n", "exactly one of metadata or metadata_file"},
		{"missing file", "", "      - {name: gone, metadata_file: gone.xml}\n", "metadata_file"},
		{"bad name", "", "      - {name: 'a b', metadata_file: good.xml}\n", "saml_providers[0].name"},
		{"twice", "", "      - {name: a, metadata_file: good.xml}\n      - {name: a, metadata_file: twin.xml}\n", "declared twice"},
		{"same entity", "", "      - {name: a, metadata_file: good.xml}\n      - {name: b, metadata_file: twin.xml}\n", "same entity ID"},
		{"base URL", "saml: {base_url: 'ftp://x'}\n", "      - {name: a, metadata_file: good.xml}\n", "saml.base_url"},
		{"region", "saml: {regions: [EU]}\n", "      - {name: a, metadata_file: good.xml}\n", "saml.regions[0]"},
		{"extra recipient", "saml: {extra_recipients: ['https://x/saml#f']}\n", "      - {name: a, metadata_file: good.xml}\n", "saml.extra_recipients[0]"},
		{"age", "saml: {max_assertion_age: 2h}\n", "      - {name: a, metadata_file: good.xml}\n", "saml.max_assertion_age"},
		{"skew", "saml: {clock_skew: 10m}\n", "      - {name: a, metadata_file: good.xml}\n", "saml.clock_skew"},
		{"unknown key", "", "      - {name: a, metadata_file: good.xml, skip_signature: true}\n", "unknown key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := samlConfig(t, dir, tc.saml, tc.providers)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

// A sign-in page verifies a Response with at most 8 providers of its
// issuer; a ninth account trusting the same IdP is refused at load rather
// than skipped there.
func TestSAMLProvidersPerIssuer(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "idp.xml"), samlxmltest.NewIdP("https://idp.example.test/saml").Metadata(), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := func(accounts int) string {
		var b strings.Builder
		b.WriteString("accounts:\n")
		for i := range accounts {
			fmt.Fprintf(&b, "  - id: \"1111222233%02d\"\n    saml_providers:\n      - {name: corp, metadata_file: idp.xml}\n", i)
		}
		return b.String()
	}
	if _, err := config.Parse("saml.yaml", []byte(doc(8)), dir, noEnv); err != nil {
		t.Fatalf("8 accounts: %v", err)
	}
	if _, err := config.Parse("saml.yaml", []byte(doc(9)), dir, noEnv); err == nil || !strings.Contains(err.Error(), "more than 8 SAML providers") {
		t.Fatalf("9 accounts: %v", err)
	}
}
