package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/config"
)

func parseIntegrations(t *testing.T, account, top string) (*config.Config, error) {
	t.Helper()
	doc := top + `
accounts:
  - id: "111122223333"
` + account
	return config.Parse("test.yaml", []byte(doc), t.TempDir(), func(k string) (string, bool) {
		if k == "LEGACY_SECRET" {
			return "legacySecret00000000000000000000000000001", true
		}
		return "", false
	})
}

func TestIntegrationsConfig(t *testing.T) {
	c, err := parseIntegrations(t, `    spaces:
      - id: acme-prod
        integrations:
          - name: scanner
            role_arn: arn:aws:iam::210987654321:role/KeylessReadOnly
            region: cn-north-1
          - name: legacy
            auth: access_key
            access_key: {id: AKIALEGACYKEY0000001, secret_env: LEGACY_SECRET, created: "2026-01-15"}
            sts_endpoint: https://sts.us-gov-west-1.amazonaws.com
            region: us-gov-west-1
`, "integrations: {audience: partner, check_every: 5m}")
	if err != nil {
		t.Fatal(err)
	}
	specs := c.Integrations.Specs
	if len(specs) != 2 || c.Integrations.CheckEvery != 5*time.Minute || c.Integrations.MissingAfter != time.Hour ||
		c.Integrations.AccessKeyMaxAge != 90*24*time.Hour {
		t.Fatalf("%+v", c.Integrations)
	}
	if s := specs[0]; s.Endpoint.URL != "https://sts.cn-north-1.amazonaws.com.cn" || s.Audience != "partner" || s.Method != "wif" ||
		s.SessionName != "keyless-scanner" {
		t.Errorf("scanner: %+v", s)
	}
	if s := specs[1]; s.Key == nil || s.Key.Secret.Reveal() != "legacySecret00000000000000000000000000001" || s.Audience != "" ||
		!s.Key.CreatedAt.Equal(time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)) || s.Endpoint.Region != "us-gov-west-1" {
		t.Errorf("legacy: %+v", s)
	}

	// An access key's secret may be left out once keyless has it sealed.
	c, err = parseIntegrations(t, `    spaces: [{id: acme, integrations: [{name: legacy, auth: access_key, access_key: {id: AKIALEGACYKEY0000001}}]}]`, "")
	if err != nil || len(c.Integrations.Specs) != 1 || c.Integrations.Specs[0].Key == nil || !c.Integrations.Specs[0].Key.Secret.IsZero() {
		t.Errorf("an access key without its secret: %v", err)
	}

	rows := []struct {
		name, account, top, want string
	}{
		{"space id", "    spaces: [{id: Acme}]", "", "spaces[0].id: must be 1 to 63 lower-case"},
		{"duplicate space", "    spaces: [{id: acme}, {id: acme}]", "", "space acme is declared twice"},
		{"name", "    spaces: [{id: acme, integrations: [{name: 'a b', role_arn: 'arn:aws:iam::210987654321:role/R'}]}]", "", "name: must be 1 to 64"},
		{"duplicate name", "    spaces: [{id: acme, integrations: [{name: x, role_arn: 'arn:aws:iam::210987654321:role/R'}, {name: X, role_arn: 'arn:aws:iam::210987654321:role/R'}]}]",
			"", "integration X is declared twice"},
		{"no role for wif", "    spaces: [{id: acme, integrations: [{name: x}]}]", "", "role_arn: is required for wif"},
		{"not a role ARN", "    spaces: [{id: acme, integrations: [{name: x, role_arn: 'arn:aws:iam::210987654321:user/u'}]}]", "", "must be a role ARN"},
		{"auth", "    spaces: [{id: acme, integrations: [{name: x, auth: password, role_arn: 'arn:aws:iam::210987654321:role/R'}]}]", "", "must be wif or access_key"},
		{"access key without key", "    spaces: [{id: acme, integrations: [{name: x, auth: access_key}]}]", "", "access_key: is required"},
		{"key with wif", "    spaces: [{id: acme, integrations: [{name: x, role_arn: 'arn:aws:iam::210987654321:role/R', access_key: {id: AKIALEGACYKEY0000001, secret: s}}]}]",
			"", "are for auth: access_key only"},
		{"http endpoint", "    spaces: [{id: acme, integrations: [{name: x, role_arn: 'arn:aws:iam::210987654321:role/R', sts_endpoint: 'http://sts.example.com'}]}]",
			"", "sts_endpoint: must be an https:// URL"},
		{"http loopback without the flag", "    spaces: [{id: acme, integrations: [{name: x, role_arn: 'arn:aws:iam::210987654321:role/R', sts_endpoint: 'http://127.0.0.1:9'}]}]",
			"", "sts_endpoint: must be an https:// URL"},
		{"session duration", "    spaces: [{id: acme, integrations: [{name: x, role_arn: 'arn:aws:iam::210987654321:role/R', session_duration: 13h}]}]",
			"", "between 15m and 12h"},
		{"algorithm", "    spaces: [{id: acme, integrations: [{name: x, role_arn: 'arn:aws:iam::210987654321:role/R', signing_algorithm: HS256}]}]",
			"", "must be RS256, ES256 or ES384"},
		{"check_every", "", "integrations: {check_every: 1s}", "between 10s and 24h"},
		{"missing_after", "", "integrations: {check_every: 1h, missing_after: 30m}", "must be at least check_every"},
		{"issuer id without federation", "    outbound_issuer_id: some-issuer", "", "with outbound_web_identity_federation: true"},
		{"issuer id of two accounts", "    outbound_web_identity_federation: true\n    outbound_issuer_id: shared-issuer\n  - id: \"444455556666\"\n    outbound_web_identity_federation: true\n    outbound_issuer_id: shared-issuer",
			"", "is account 111122223333's issuer id already"},
		{"issuer id shape", "    outbound_web_identity_federation: true\n    outbound_issuer_id: X", "", "8 to 64 lower-case"},
		{"issuer path", "", "issuer: {path: 'oidc'}", "issuer.path: must be a clean absolute path"},
		{"jwks_max_age", "", "issuer: {jwks_max_age: 48h}", "between 1m and 24h"},
		{"rotate_every", "", "issuer: {jwks_max_age: 1h, rotate_every: 90m}", "at least twice jwks_max_age"},
	}
	for _, r := range rows {
		_, err := parseIntegrations(t, r.account, r.top)
		if err == nil || !strings.Contains(err.Error(), r.want) {
			t.Errorf("%s: %v, want %q", r.name, err, r.want)
		}
	}
}
