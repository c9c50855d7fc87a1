package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/config"
	"github.com/keyless-dev/keyless/internal/exchange"
)

// base declares a role and the GitHub Actions issuer; each case adds one
// identity provider.
const idpBase = `
exchange:
  aws:
    upstreams:
      - {url: "http://127.0.0.1:9911", region: us-east-1, allow_http_loopback: true}
accounts:
  - id: "111122223333"
    roles:
      - name: Deploy
        max_session_duration: 2h
        trust_policy: '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "sts:AssumeRole"}]}'
    oidc_providers:
      - url: https://token.actions.githubusercontent.com
      - url: https://k8s.example.com
    identity_providers:
`

func parseIDP(t *testing.T, provider string) (*config.Config, error) {
	t.Helper()
	return config.Parse("idp.yaml", []byte(idpBase+provider), ".", noEnv)
}

func TestIdentityProviders(t *testing.T) {
	c, err := parseIDP(t, `
      - name: github-main
        issuer: https://token.actions.githubusercontent.com
        subject: "repo:octo-org/app:ref:refs/heads/*"
        audiences: [keyless]
        conditions:
          - {claim: repository_owner_id, equals: ["123"]}
          - {claim: job_workflow_ref, like: ["octo-org/app/.github/workflows/*@refs/heads/main"]}
        role: arn:aws:iam::111122223333:role/Deploy
        session_duration: 2h
        session_name: "gha-{{ run_id }}"
        session_tags: {repo: "{{ repository }}", owner: "{{repository_owner}}"}
        transitive_tag_keys: [repo]
      - name: ci-role
        issuer: https://sts.amazonaws.com
        subject: "arn:aws:sts::123456789012:assumed-role/CI/*"
        audiences: [keyless]
        role: Deploy
        sts_endpoints: ["http://127.0.0.1:9911", "https://sts.eu-west-1.amazonaws.com"]
`)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.IdentityProviders) != 2 {
		t.Fatalf("providers: %+v", c.IdentityProviders)
	}
	gh, ci := c.IdentityProviders[0], c.IdentityProviders[1]
	if gh.Kind != exchange.OIDC || gh.Role != "Deploy" || gh.Duration != 2*time.Hour || len(gh.Conditions) != 2 ||
		gh.SessionName == nil || len(gh.SessionTags) != 2 || gh.SessionTags[0].Key != "owner" || gh.ARN() != "arn:aws:iam::111122223333:identity-provider/github-main" {
		t.Errorf("github-main: %+v", gh)
	}
	if ci.Kind != exchange.AWS || !ci.Subject.Match("arn:aws:sts::123456789012:assumed-role/CI/run-1") || ci.Subject.Match("arn:aws:sts::123456789012:assumed-role/CI/a/b") {
		t.Errorf("ci-role: %+v", ci)
	}
	if len(ci.Endpoints) != 2 || ci.Endpoints[0] != "127.0.0.1:9911" || ci.Endpoints[1] != "sts.eu-west-1.amazonaws.com" {
		t.Errorf("ci-role endpoints: %q", ci.Endpoints)
	}
	if len(c.Exchange.Partitions) != 1 || c.Exchange.Partitions[0] != "aws" || c.Exchange.MaxRequestAge != 5*time.Minute ||
		c.Exchange.Upstreams[0].Partition != "aws" || c.Exchange.Endpoint != "" {
		t.Errorf("exchange: %+v", c.Exchange)
	}
}

// Providers that could admit identities that are not the operator's are
// refused at load unless marked as intended (security.md V-21; peers.md (d) 5).
func TestIdentityProviderRefusals(t *testing.T) {
	for _, tc := range []struct{ name, provider, want string }{
		{"multi-tenant issuer, whole organization", `
      - {name: a, issuer: "https://token.actions.githubusercontent.com", subject: "repo:octo-org/**", audiences: [k], role: Deploy}`, "could admit"},
		{"multi-tenant issuer, any subject", `
      - {name: a, issuer: "https://token.actions.githubusercontent.com", subject: "**", audiences: [k], role: Deploy}`, "could admit"},
		{"multi-tenant issuer, organization pinned by a claim", `
      - {name: a, issuer: "https://token.actions.githubusercontent.com", subject: "**", audiences: [k], role: Deploy, conditions: [{claim: repository_owner, equals: [octo-org]}]}`, "could admit"},
		{"AWS wildcard over an account", `
      - {name: a, issuer: "https://sts.amazonaws.com", subject: "arn:aws:iam::123456789012:*", audiences: [k], role: Deploy}`, "could admit"},
		{"AWS wildcard role name", `
      - {name: a, issuer: "https://sts.amazonaws.com", subject: "arn:aws:sts::123456789012:assumed-role/*/*", audiences: [k], role: Deploy}`, "could admit"},
		{"issuer not registered", `
      - {name: a, issuer: "https://gitlab.com", subject: "x", audiences: [k], role: Deploy}`, "oidc_providers"},
		{"unknown role", `
      - {name: a, issuer: "https://k8s.example.com", subject: "system:serviceaccount:ns:sa", audiences: [k], role: Nope}`, `no role "Nope"`},
		{"role of another account", `
      - {name: a, issuer: "https://k8s.example.com", subject: "x", audiences: [k], role: "arn:aws:iam::999999999999:role/Deploy"}`, "must be a role of account"},
		{"duration beyond the role's", `
      - {name: a, issuer: "https://k8s.example.com", subject: "x", audiences: [k], role: Deploy, session_duration: 3h}`, "session_duration"},
		{"no audience", `
      - {name: a, issuer: "https://k8s.example.com", subject: "x", role: Deploy}`, "1 to 10 audiences"},
		{"two operators", `
      - {name: a, issuer: "https://k8s.example.com", subject: "x", audiences: [k], role: Deploy, conditions: [{claim: a, equals: [x], like: [y]}]}`, "exactly one of"},
		{"bad template", `
      - {name: a, issuer: "https://k8s.example.com", subject: "x", audiences: [k], role: Deploy, session_name: "{{ oops"}`, "session_name"},
		{"transitive key without tag", `
      - {name: a, issuer: "https://k8s.example.com", subject: "x", audiences: [k], role: Deploy, transitive_tag_keys: [t]}`, "not one of session_tags"},
		{"token reuse on AWS", `
      - {name: a, issuer: "https://sts.amazonaws.com", subject: "arn:aws:iam::123456789012:user/a", audiences: [k], role: Deploy, allow_token_reuse: true}`, "OIDC tokens only"},
		{"endpoint that is not an upstream", `
      - {name: a, issuer: "https://sts.amazonaws.com", subject: "arn:aws:iam::123456789012:user/a", audiences: [k], role: Deploy, sts_endpoints: ["http://127.0.0.1:1"]}`, "exchange.aws.upstreams"},
		{"endpoint that is not AWS", `
      - {name: a, issuer: "https://sts.amazonaws.com", subject: "arn:aws:iam::123456789012:user/a", audiences: [k], role: Deploy, sts_endpoints: ["https://sts.evil.example"]}`, "exchange.aws.upstreams"},
		{"endpoints on an OIDC provider", `
      - {name: a, issuer: "https://k8s.example.com", subject: "x", audiences: [k], role: Deploy, sts_endpoints: ["https://sts.amazonaws.com"]}`, "AWS identities only"},
		{"duplicate name", `
      - {name: a, issuer: "https://k8s.example.com", subject: "x", audiences: [k], role: Deploy}
      - {name: A, issuer: "https://k8s.example.com", subject: "y", audiences: [k], role: Deploy}`, "declared twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseIDP(t, tc.provider)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a problem containing %q", err, tc.want)
			}
		})
	}
	// Marked as intended, the broad ones load.
	if _, err := parseIDP(t, `
      - {name: a, issuer: "https://token.actions.githubusercontent.com", subject: "repo:octo-org/**", audiences: [k], role: Deploy, broad_trust_intended: true}`); err != nil {
		t.Errorf("broad_trust_intended: %v", err)
	}
	// A repository pinned by a claim scopes it.
	if _, err := parseIDP(t, `
      - {name: a, issuer: "https://token.actions.githubusercontent.com", subject: "**", audiences: [k], role: Deploy, conditions: [{claim: repository, equals: [octo-org/app]}]}`); err != nil {
		t.Errorf("repository condition: %v", err)
	}
	// A single-tenant issuer may use a wildcard subject.
	if _, err := parseIDP(t, `
      - {name: a, issuer: "https://k8s.example.com", subject: "system:serviceaccount:prod:*", audiences: [k], role: Deploy}`); err != nil {
		t.Errorf("single-tenant wildcard: %v", err)
	}
}
