package iam

import (
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/idtoken"
)

// OIDCProvider is an IAM OpenID Connect identity provider: an issuer whose
// tokens roles of its account may trust (IAM User Guide,
// id_roles_providers_create_oidc).
type OIDCProvider struct {
	Account string
	// URL is the issuer, compared exactly with a token's iss.
	URL       string
	ClientIDs []string
	// Thumbprints pin the TLS certificate chain when set (lower-case hex
	// SHA-1).
	Thumbprints []string
	// JWKSURL is the key set's address when configured; empty means
	// discovery.
	JWKSURL string
	// StaticKeys, when set, are the provider's keys: nothing is fetched.
	StaticKeys []idtoken.Key
	// SkippedKeys describe the static set's entries that are not usable
	// verification keys (logged when keyless starts).
	SkippedKeys []string
	Algorithms  []string
	// AllowHTTPLoopback permits an http:// issuer on a loopback address
	// (development); AllowPrivateNetwork permits fetching from private
	// addresses (an in-cluster issuer).
	AllowHTTPLoopback   bool
	AllowPrivateNetwork bool
	// MultiTenant marks an issuer that serves many unrelated tenants
	// (GitHub Actions, gitlab.com, Google): trust in it must be scoped by
	// audience and subject (security.md V-21).
	MultiTenant bool
	// ClaimKeys are claims offered as condition keys PREFIX:claim, beyond
	// sub, aud, azp, amr and oaud.
	ClaimKeys []string
	// TenantKeys are the claim keys that name a tenant (GitHub's
	// repository or repository_owner, not ref or actor): a condition on
	// one scopes trust in a multi-tenant provider as sub does.
	TenantKeys   []string
	Leeway       time.Duration
	MaxLifetime  time.Duration
	IDTokensOnly bool
}

// KeyPrefix is the provider's condition key prefix and the resource of its
// ARN: the URL without its scheme (IAM User Guide,
// reference_policies_iam-condition-keys, condition-keys-wif).
func (p *OIDCProvider) KeyPrefix() string {
	// A trailing slash stays: Entra ID v1's issuer is
	// https://sts.windows.net/TENANT/ and its keys are sts.windows.net/TENANT/:aud.
	return strings.TrimPrefix(strings.TrimPrefix(p.URL, "https://"), "http://")
}

// Names are what a trust policy's Federated element may call the provider:
// its ARN and, for Google, the built-in name accounts.google.com (IAM User
// Guide, id_roles_providers_oidc_user-id).
func (p *OIDCProvider) Names() []string {
	if p.URL == "https://accounts.google.com" {
		return []string{p.ARN(), "accounts.google.com"}
	}
	return []string{p.ARN()}
}

// ARN is arn:aws:iam::ACCOUNT:oidc-provider/HOST/PATH.
func (p *OIDCProvider) ARN() string {
	return "arn:aws:iam::" + p.Account + ":oidc-provider/" + p.KeyPrefix()
}

// Verification is how tokens of this provider are verified.
func (p *OIDCProvider) Verification() *idtoken.Provider {
	return &idtoken.Provider{Issuer: p.URL, ClientIDs: p.ClientIDs, Algorithms: p.Algorithms,
		Leeway: p.Leeway, MaxLifetime: p.MaxLifetime, IDTokensOnly: p.IDTokensOnly,
		AZPIsAudience: p.URL == "https://accounts.google.com"}
}

// OIDCProvider finds the account's provider for an issuer, compared
// exactly (security.md JWT-14).
func (d *Directory) OIDCProvider(account, issuer string) (*OIDCProvider, bool) {
	p, ok := d.oidc[account+"\x00"+issuer]
	return p, ok
}

// OIDCProviders lists every provider, for wiring their key sets.
func (d *Directory) OIDCProviders() []*OIDCProvider {
	out := make([]*OIDCProvider, 0, len(d.oidc))
	for _, p := range d.oidc {
		out = append(out, p)
	}
	return out
}

// Scopes reports whether a trust statement restricting these condition keys
// (lower-cased) scopes trust in this provider to one tenant: it restricts
// the audience (aud, azp or oaud) and the subject or a tenant key
// (security.md V-21).
func (p *OIDCProvider) Scopes(keys []string) bool {
	prefix := strings.ToLower(p.KeyPrefix()) + ":"
	var aud, sub bool
	for _, k := range keys {
		name, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		switch {
		case name == "aud" || name == "azp" || name == "oaud":
			aud = true
		case name == "sub":
			sub = true
		default:
			for _, c := range p.TenantKeys {
				sub = sub || strings.EqualFold(c, name)
			}
		}
	}
	return aud && sub
}
