package config

import (
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/idtoken"
)

// OIDCProvider is an OpenID Connect identity provider whose tokens roles of
// the account may trust through AssumeRoleWithWebIdentity, as an IAM OIDC
// provider (IAM User Guide, id_roles_providers_create_oidc). Its ARN is
// arn:aws:iam::ACCOUNT:oidc-provider/ followed by the URL without https://.
type OIDCProvider struct {
	// URL is the issuer, exactly as tokens carry it in iss: https://,
	// at most 255 characters, no query or fragment.
	URL string `yaml:"url"`
	// ClientIDs are the audiences AssumeRoleWithWebIdentity accepts (at
	// most 100). A provider declared only for the token exchange's
	// identity_providers, whose audiences they name, may have none.
	ClientIDs []string `yaml:"client_ids"`
	// Thumbprints, when set, pin the provider's TLS chain: some
	// certificate of it must have one of these SHA-1 fingerprints (40 hex
	// characters, at most 5). AWS no longer checks them for well-known
	// providers; keyless checks them whenever they are given.
	Thumbprints []string `yaml:"thumbprints"`
	// JWKSURL is where the key set is; without it keyless reads
	// URL/.well-known/openid-configuration and accepts a jwks_uri on the
	// issuer's own host only. Set it for issuers that publish keys on
	// another host (Google, Entra ID).
	JWKSURL string `yaml:"jwks_url"`
	// JWKS or JWKSFile give the key set itself, for issuers keyless
	// cannot reach; nothing is fetched then.
	JWKS     string `yaml:"jwks"`
	JWKSFile string `yaml:"jwks_file"`
	// Algorithms allowed for this provider's tokens: RS256, RS384, RS512,
	// PS256, PS384, PS512, ES256, ES384, ES512, EdDSA. Default RS256 and
	// ES256. HMAC and none are never accepted.
	Algorithms []string `yaml:"algorithms"`
	// MultiTenant marks an issuer shared by unrelated tenants; roles that
	// trust it must test both the audience and the subject (or a claim
	// key naming the tenant) in their trust policy. Default: true for
	// token.actions.githubusercontent.com, gitlab.com,
	// accounts.google.com and app.terraform.io.
	MultiTenant *bool `yaml:"multi_tenant"`
	// ClaimConditionKeys are further claims offered as condition keys
	// (HOST/PATH:claim) in trust policies. Default for GitHub Actions:
	// the claims AWS offers (repository, ref, job_workflow_ref, ...).
	ClaimConditionKeys []string `yaml:"claim_condition_keys"`
	// TenantClaimKeys are the claims that name a tenant (a repository, a
	// project, an organisation): for a multi-tenant provider, a trust
	// statement must restrict the audience and either sub or one of these.
	// They are offered as condition keys too. Default for GitHub Actions:
	// repository, repository_id, repository_owner, repository_owner_id,
	// job_workflow_ref, workflow_ref, enterprise, enterprise_id; for
	// gitlab.com: namespace_path, namespace_id, project_path, project_id.
	TenantClaimKeys []string `yaml:"tenant_claim_keys"`
	// AllowHTTPLoopback accepts an http:// issuer on a loopback address,
	// for development only.
	AllowHTTPLoopback bool `yaml:"allow_http_loopback"`
	// AllowPrivateNetwork lets keyless fetch keys from private addresses
	// (an in-cluster Kubernetes issuer). Cloud metadata addresses are
	// never reachable.
	AllowPrivateNetwork bool `yaml:"allow_private_network"`
	// ClockSkew is the leeway on exp, nbf and iat. Default 30s, at most 5m.
	ClockSkew time.Duration `yaml:"clock_skew"`
	// MaxTokenLifetime refuses tokens valid for longer (exp - iat).
	// Default 24h.
	MaxTokenLifetime time.Duration `yaml:"max_token_lifetime"`
	// IDTokensOnly refuses tokens typed as OAuth access tokens (typ
	// at+jwt).
	IDTokensOnly bool `yaml:"id_tokens_only"`
}

// multiTenantIssuers are issuers whose tokens anyone can obtain for their
// own tenant (security.md V-21).
var multiTenantIssuers = []string{
	"https://token.actions.githubusercontent.com",
	"https://gitlab.com",
	"https://accounts.google.com",
	"https://app.terraform.io",
}

// reservedClaimKeys are the provider keys keyless sets itself.
var reservedClaimKeys = []string{"sub", "aud", "azp", "amr", "oaud"}

// defaultTenantKeys are the claims that name a tenant at the well-known
// multi-tenant issuers: a trust statement restricting one of them (or sub)
// is scoped to that tenant.
var defaultTenantKeys = map[string][]string{
	"https://token.actions.githubusercontent.com": {"repository", "repository_id", "repository_owner", "repository_owner_id",
		"job_workflow_ref", "workflow_ref", "enterprise", "enterprise_id"},
	"https://gitlab.com": {"namespace_path", "namespace_id", "project_path", "project_id"},
}

// githubClaimKeys are the GitHub Actions claims AWS offers as condition
// keys (AWS What's New 2026-01, provider-specific claim condition keys).
var githubClaimKeys = []string{"actor", "actor_id", "base_ref", "enterprise", "enterprise_id", "environment",
	"event_name", "head_ref", "job_workflow_ref", "job_workflow_sha", "ref", "ref_type", "repository",
	"repository_id", "repository_owner", "repository_owner_id", "repository_visibility", "runner_environment",
	"workflow", "workflow_ref", "workflow_sha"}

func (v *validator) oidcProvider(path, account string, p OIDCProvider, seen map[string]bool) (iam.OIDCProvider, bool) {
	out := iam.OIDCProvider{Account: account, URL: p.URL, ClientIDs: p.ClientIDs, JWKSURL: p.JWKSURL,
		Algorithms: p.Algorithms, AllowHTTPLoopback: p.AllowHTTPLoopback, AllowPrivateNetwork: p.AllowPrivateNetwork,
		ClaimKeys: p.ClaimConditionKeys, Leeway: p.ClockSkew, MaxLifetime: p.MaxTokenLifetime, IDTokensOnly: p.IDTokensOnly,
		MultiTenant: slices.Contains(multiTenantIssuers, p.URL)}
	if p.MultiTenant != nil {
		out.MultiTenant = *p.MultiTenant
	}
	if p.URL == "https://token.actions.githubusercontent.com" && p.ClaimConditionKeys == nil {
		out.ClaimKeys = githubClaimKeys
	}
	out.TenantKeys = p.TenantClaimKeys
	if p.TenantClaimKeys == nil {
		out.TenantKeys = defaultTenantKeys[p.URL]
	}
	for _, k := range out.TenantKeys {
		if !slices.Contains(out.ClaimKeys, k) {
			out.ClaimKeys = append(slices.Clip(out.ClaimKeys), k)
		}
	}
	if !v.issuerURL(path+".url", p.URL, p.AllowHTTPLoopback) {
		return out, false
	}
	if seen[p.URL] {
		v.at(path+".url", "provider %s is declared twice in account %s", p.URL, account)
		return out, false
	}
	seen[p.URL] = true
	if len(p.ClientIDs) > 100 {
		v.at(path+".client_ids", "give at most 100 client ids (the audiences accepted)")
	}
	for i, c := range p.ClientIDs {
		if c == "" || len(c) > 255 {
			v.at(idx(path+".client_ids", i), "must be 1 to 255 characters")
		}
	}
	if len(p.Thumbprints) > 5 {
		v.at(path+".thumbprints", "at most 5")
	}
	for i, t := range p.Thumbprints {
		if b, err := hex.DecodeString(t); err != nil || len(b) != 20 {
			v.at(idx(path+".thumbprints", i), "must be 40 hexadecimal characters (a SHA-1 fingerprint)")
		}
		out.Thumbprints = append(out.Thumbprints, strings.ToLower(t))
	}
	for i, a := range p.Algorithms {
		if !slices.Contains(idtoken.Algorithms, a) {
			v.at(idx(path+".algorithms", i), "must be one of %s", strings.Join(idtoken.Algorithms, ", "))
		}
	}
	if p.JWKSURL != "" {
		v.issuerURL(path+".jwks_url", p.JWKSURL, p.AllowHTTPLoopback)
	}
	for _, f := range []struct {
		field string
		keys  []string
	}{{"claim_condition_keys", p.ClaimConditionKeys}, {"tenant_claim_keys", p.TenantClaimKeys}} {
		for i, k := range f.keys {
			switch {
			case k == "" || len(k) > 128 || strings.ContainsAny(k, ":/ "):
				v.at(idx(path+"."+f.field, i), "must be a claim name without ':', '/' or spaces")
			case slices.Contains(reservedClaimKeys, k):
				// These keys hold validated values (aud is the matched
				// client id), never the raw claim.
				v.at(idx(path+"."+f.field, i), "%s is always a condition key, set by keyless from the verified token", k)
			}
		}
	}
	if p.ClockSkew < 0 || p.ClockSkew > 5*time.Minute {
		v.at(path+".clock_skew", "must be between 0s and 5m")
	}
	if p.MaxTokenLifetime < 0 {
		v.at(path+".max_token_lifetime", "must not be negative")
	}
	switch {
	case p.JWKS != "" && p.JWKSFile != "":
		v.at(path, "give at most one of jwks and jwks_file")
	case p.JWKS != "" || p.JWKSFile != "":
		if p.JWKSURL != "" {
			v.at(path+".jwks_url", "a provider with a static key set fetches nothing; leave jwks_url out")
		}
		data := []byte(p.JWKS)
		if p.JWKSFile != "" {
			f := p.JWKSFile
			if !filepath.IsAbs(f) {
				f = filepath.Join(v.dir, f)
			}
			b, err := readLimited(f, idtoken.MaxKeySetBytes)
			if err != nil {
				v.at(path+".jwks_file", "%v", err)
				return out, true
			}
			data = b
		}
		keys, skipped, err := idtoken.ParseKeySet(data)
		switch {
		case err != nil:
			v.at(path+".jwks", "%v", err)
		case len(keys) == 0:
			v.at(path+".jwks", "no usable key (%s)", strings.Join(skipped, "; "))
		}
		out.SkippedKeys = skipped
		out.StaticKeys = keys
	}
	return out, true
}

// issuerURL checks an issuer or key set URL: https, or http on a loopback
// address when allowed.
func (v *validator) issuerURL(path, s string, httpLoopback bool) bool {
	u, err := url.Parse(s)
	switch {
	case err != nil || len(s) > 255 || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(u.Host, ":"):
		v.at(path, "must be an https:// URL of at most 255 characters without query or fragment")
		return false
	case u.Scheme == "https":
		return true
	case u.Scheme == "http" && httpLoopback && isLoopbackHost(u.Hostname()):
		return true
	case u.Scheme == "http":
		v.at(path, "http:// is accepted only for a loopback address with allow_http_loopback: true")
		return false
	}
	v.at(path, "must be an https:// URL")
	return false
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// scopedFederation refuses a trust policy that trusts a multi-tenant
// provider in a statement that does not restrict both its audience and its
// subject (or a claim naming the tenant): any tenant could assume the role
// (security.md V-21, JWT-28). broad_trust_intended lets such a policy load
// (for its other statements); the statement still admits no token.
func (v *validator) scopedFederation(path string, r *iam.RoleInfo, providers []iam.OIDCProvider) {
	if r.Trust == nil || r.BroadTrustIntended {
		return
	}
	for i := range providers {
		p := &providers[i]
		if !p.MultiTenant {
			continue
		}
		for _, g := range r.Trust.FederatedGrants(p.Names()...) {
			if !p.Scopes(g.Keys) {
				v.at(path+".trust_policy", "statement %d trusts %s, which serves many tenants, without restricting both %s:aud and %s:sub (or a claim naming your tenant); any tenant's token would pass it. Add the conditions, or mark the provider multi_tenant: false if every tenant of it is yours (broad_trust_intended: true lets the policy load, but this statement then admits no token)",
					g.Index+1, p.ARN(), p.KeyPrefix(), p.KeyPrefix())
			}
		}
	}
}

// readLimited reads at most limit bytes of a file, refusing a longer one.
func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err == nil && int64(len(b)) > limit {
		err = fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, err
}
