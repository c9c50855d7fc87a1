package config

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/arn"
	"github.com/keyless-dev/keyless/internal/credential"
	"github.com/keyless-dev/keyless/internal/exchange"
	"github.com/keyless-dev/keyless/internal/iam"
)

// Exchange configures the token exchange endpoints.
type Exchange struct {
	// Endpoint is keyless's URL as workloads reach it; it is written into
	// the credential documents the exchange returns. Default: http:// (or
	// https:// with TLS) followed by the address keyless listens on.
	Endpoint string `yaml:"endpoint"`
	// AWS configures the verification of signed GetCallerIdentity
	// requests.
	AWS ExchangeAWS `yaml:"aws"`
}

// ExchangeAWS says which STS endpoints may execute a workload's signed
// GetCallerIdentity request.
type ExchangeAWS struct {
	// Partitions whose public STS endpoints are accepted: aws (default),
	// aws-us-gov, aws-cn.
	Partitions []string `yaml:"partitions"`
	// Upstreams are further STS endpoints: a private or self-hosted STS,
	// or, for tests, keyless itself.
	Upstreams []AWSUpstream `yaml:"upstreams"`
	// RequireChallenge makes every request carry a signed, single-use
	// challenge from POST /SecureTokenService/Challenge.
	RequireChallenge bool `yaml:"require_challenge"`
	// MaxRequestAge is how old a signed request may be. Default 5m, at
	// most 15m (AWS's own limit).
	MaxRequestAge time.Duration `yaml:"max_request_age"`
}

// AWSUpstream is one operator-chosen STS endpoint.
type AWSUpstream struct {
	// URL is scheme://host[:port], without a path.
	URL string `yaml:"url"`
	// Region is the signing region requests to it must use.
	Region string `yaml:"region"`
	// Partition is the partition of the ARNs it answers; default aws.
	Partition string `yaml:"partition"`
	// AllowHTTPLoopback accepts http:// on a loopback address (tests).
	AllowHTTPLoopback bool `yaml:"allow_http_loopback"`
	// AllowPrivateNetwork lets keyless reach it on a private address.
	AllowPrivateNetwork bool `yaml:"allow_private_network"`
}

// IdentityProvider admits workloads whose proof comes from Issuer, has a
// subject matching Subject and satisfies every condition, and grants them a
// session of Role.
type IdentityProvider struct {
	// Name is 1 to 64 letters, digits and _.-, unique in the account.
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	// Issuer is an OIDC issuer, registered in the same account's
	// oidc_providers (which say how its tokens are verified), or
	// https://sts.amazonaws.com for AWS identities.
	Issuer string `yaml:"issuer"`
	// Subject is matched against the token's sub, or the AWS caller's
	// ARN. '*' matches within one segment (never '/' or ':'), '**'
	// matches anything. A role ARN (arn:aws:iam::ACCOUNT:role/NAME)
	// matches every session of the role.
	Subject string `yaml:"subject"`
	// Audiences are the exchange audiences served (1 to 10): a request's
	// audience must be one, and an OIDC token's aud must contain it (an
	// AWS request must sign it in X-Keyless-Audience).
	Audiences  []string         `yaml:"audiences"`
	Conditions []ClaimCondition `yaml:"conditions"`
	// Role is the granted role's name (or ARN) in this account.
	Role string `yaml:"role"`
	// SessionDuration is the session's length, 15m to the role's maximum;
	// default 1h.
	SessionDuration time.Duration `yaml:"session_duration"`
	// SessionName is a template for the role session name, such as
	// "gh-{{ run_id }}"; default the subject. Characters a session name
	// cannot hold become '-', and it is cut to 64.
	SessionName string `yaml:"session_name"`
	// SessionTags map tag keys to templates over the claims, such as
	// repo: "{{ repository }}" or account: "{{ aws_claims.account }}".
	SessionTags       map[string]string `yaml:"session_tags"`
	TransitiveTagKeys []string          `yaml:"transitive_tag_keys"`
	// STSEndpoints, for an AWS provider, are the STS endpoints whose
	// answers it believes: configured upstreams' URLs, or public hosts
	// such as https://sts.eu-west-1.amazonaws.com. Default: every public
	// AWS endpoint of the enabled partitions, and no upstream.
	STSEndpoints []string `yaml:"sts_endpoints"`
	// AllowTokenReuse lets one OIDC token be exchanged more than once.
	AllowTokenReuse bool `yaml:"allow_token_reuse"`
	// BroadTrustIntended lets a provider load that could match anyone:
	// no subject constraint on a multi-tenant issuer, or a wildcard over
	// a whole organization or AWS account.
	BroadTrustIntended bool `yaml:"broad_trust_intended"`
}

// ClaimCondition tests one claim, by dotted path (repository,
// aws_claims.account, a.b.c), with exactly one operator.
type ClaimCondition struct {
	Claim     string   `yaml:"claim"`
	Equals    []string `yaml:"equals"`
	NotEquals []string `yaml:"not_equals"`
	Like      []string `yaml:"like"`
	NotLike   []string `yaml:"not_like"`
	AnyOf     []string `yaml:"any_of"`
	AllOf     []string `yaml:"all_of"`
}

// partitions are the AWS partitions keyless knows the STS endpoints of.
var partitions = []string{"aws", "aws-us-gov", "aws-cn"}

// ExchangeConfig is the token exchange's configuration, as values.
type ExchangeConfig struct {
	Endpoint         string
	Partitions       []string
	Upstreams        []AWSUpstream
	RequireChallenge bool
	MaxRequestAge    time.Duration
}

func (v *validator) exchange(e Exchange) ExchangeConfig {
	out := ExchangeConfig{Endpoint: e.Endpoint, Partitions: e.AWS.Partitions, Upstreams: e.AWS.Upstreams,
		RequireChallenge: e.AWS.RequireChallenge, MaxRequestAge: e.AWS.MaxRequestAge}
	// Empty: keyless serve fills it in from the address it listens on.
	if out.Endpoint != "" {
		if u, err := url.Parse(out.Endpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			v.at("exchange.endpoint", "must be an http:// or https:// URL without query or fragment")
		}
	}
	if out.Partitions == nil {
		out.Partitions = []string{"aws"}
	}
	for i, p := range out.Partitions {
		if !slices.Contains(partitions, p) {
			v.at(idx("exchange.aws.partitions", i), "must be one of %s", strings.Join(partitions, ", "))
		}
	}
	switch {
	case out.MaxRequestAge == 0:
		out.MaxRequestAge = 5 * time.Minute
	case out.MaxRequestAge < 30*time.Second || out.MaxRequestAge > 15*time.Minute:
		v.at("exchange.aws.max_request_age", "must be between 30s and 15m")
	}
	for i := range out.Upstreams {
		u := &out.Upstreams[i]
		path := idx("exchange.aws.upstreams", i)
		if pu, err := url.Parse(u.URL); err != nil || pu.Host == "" || (pu.Path != "" && pu.Path != "/") || pu.RawQuery != "" || pu.User != nil {
			v.at(path+".url", "must be scheme://host[:port] without a path")
		} else if pu.Scheme != "https" && !(pu.Scheme == "http" && u.AllowHTTPLoopback && isLoopbackHost(pu.Hostname())) {
			v.at(path+".url", "must be https:// (http:// only on a loopback address with allow_http_loopback: true)")
		}
		if pu, err := url.Parse(u.URL); err == nil {
			v.upstreams = append(v.upstreams, strings.ToLower(pu.Host))
		}
		if !IsRegion(u.Region) {
			v.at(path+".region", "must be a region name")
		}
		if u.Partition == "" {
			u.Partition = "aws"
		} else if !slices.Contains(partitions, u.Partition) {
			v.at(path+".partition", "must be one of %s", strings.Join(partitions, ", "))
		}
	}
	return out
}

func (v *validator) identityProviders(path, account string, list []IdentityProvider, oidc []iam.OIDCProvider, roles []iam.RoleInfo) []exchange.Provider {
	var out []exchange.Provider
	seen := map[string]bool{}
	for i, c := range list {
		ppath := idx(path, i)
		p, ok := v.identityProvider(ppath, account, c, oidc, roles)
		if !ok {
			continue
		}
		if seen[strings.ToLower(c.Name)] {
			v.at(ppath+".name", "identity provider %q is declared twice in account %s", c.Name, account)
			continue
		}
		seen[strings.ToLower(c.Name)] = true
		out = append(out, p)
	}
	return out
}

func (v *validator) identityProvider(path, account string, c IdentityProvider, oidc []iam.OIDCProvider, roles []iam.RoleInfo) (exchange.Provider, bool) {
	p := exchange.Provider{Account: account, Name: c.Name, Description: c.Description, Issuer: c.Issuer,
		Kind: exchange.OIDC, Audiences: c.Audiences, Duration: c.SessionDuration,
		TransitiveTagKeys: c.TransitiveTagKeys, AllowTokenReuse: c.AllowTokenReuse}
	ok := true
	bad := func(field, format string, args ...any) {
		v.at(path+field, format, args...)
		ok = false
	}
	if !isProviderName(c.Name) {
		bad(".name", "must be 1 to 64 letters, digits and _.-")
	}
	if len(c.Description) > 1000 {
		bad(".description", "at most 1000 characters")
	}
	var op *iam.OIDCProvider
	if c.Issuer == exchange.AWSIssuer {
		p.Kind = exchange.AWS
		if c.AllowTokenReuse {
			bad(".allow_token_reuse", "applies to OIDC tokens only; a signed AWS request is always accepted once")
		}
		for i, e := range c.STSEndpoints {
			host, ok := v.stsEndpoint(e)
			if !ok {
				bad(idx(".sts_endpoints", i), "must be the URL of one of exchange.aws.upstreams, or https://sts[.REGION].amazonaws.com[.cn]")
			}
			p.Endpoints = append(p.Endpoints, host)
		}
	} else {
		if len(c.STSEndpoints) > 0 {
			bad(".sts_endpoints", "applies to AWS identities only")
		}
		for i := range oidc {
			if oidc[i].URL == c.Issuer {
				op = &oidc[i]
			}
		}
		if op == nil {
			bad(".issuer", "declare %q under this account's oidc_providers (how its tokens are verified; client_ids may be empty), or use %s for AWS identities", c.Issuer, exchange.AWSIssuer)
		}
	}
	subject, err := exchange.CompilePattern(c.Subject)
	if err != nil {
		bad(".subject", "%v", err)
	}
	p.Subject = subject
	if len(c.Audiences) < 1 || len(c.Audiences) > 10 {
		bad(".audiences", "give 1 to 10 audiences")
	}
	for i, a := range c.Audiences {
		if a == "" || len(a) > exchange.MaxAudience || strings.ContainsFunc(a, func(r rune) bool { return r < 0x20 || r > 0x7e }) {
			bad(idx(".audiences", i), "must be 1 to %d printable ASCII characters", exchange.MaxAudience)
		}
	}
	if len(c.Conditions) > 50 {
		bad(".conditions", "at most 50")
	}
	for i, cc := range c.Conditions {
		cond, err := condition(cc)
		if err != nil {
			bad(idx(".conditions", i), "%v", err)
			continue
		}
		p.Conditions = append(p.Conditions, cond)
	}
	role := c.Role
	if a, _, name, isARN := arn.ParseIAM(c.Role, "role"); isARN {
		if a != account {
			bad(".role", "must be a role of account %s", account)
		}
		role = name
	}
	var found *iam.RoleInfo
	for i := range roles {
		if roles[i].Account == account && roles[i].Name == role {
			found = &roles[i]
		}
	}
	p.Role = role
	switch {
	case found == nil:
		bad(".role", "no role %q in account %s", c.Role, account)
	case c.SessionDuration != 0 && (c.SessionDuration < 15*time.Minute || c.SessionDuration > found.MaxSessionDuration):
		bad(".session_duration", "must be between 15m and the role's max_session_duration (%s)", found.MaxSessionDuration)
	}
	if c.SessionName != "" {
		t, err := exchange.CompileTemplate(c.SessionName)
		if err != nil {
			bad(".session_name", "%v", err)
		}
		p.SessionName = &t
	}
	if len(c.SessionTags) > 50 {
		bad(".session_tags", "at most 50")
	}
	for _, k := range slices.Sorted(maps.Keys(c.SessionTags)) {
		if !credential.ValidTag(k, "") || strings.HasPrefix(strings.ToLower(k), "aws:") {
			bad(".session_tags."+k, "not a valid tag key (1 to 128 of letters, digits, spaces and _.:/=+-@, not starting with aws:)")
			continue
		}
		t, err := exchange.CompileTemplate(c.SessionTags[k])
		if err != nil {
			bad(".session_tags."+k, "%v", err)
			continue
		}
		p.SessionTags = append(p.SessionTags, exchange.TagTemplate{Key: k, Value: t})
	}
	for i, k := range c.TransitiveTagKeys {
		if _, ok := c.SessionTags[k]; !ok {
			bad(idx(".transitive_tag_keys", i), "%q is not one of session_tags", k)
		}
	}
	if !ok || c.BroadTrustIntended {
		return p, ok
	}
	why := ""
	switch {
	case p.Kind == exchange.AWS:
		why = exchange.BroadAWS(p.Subject)
	case op.MultiTenant:
		why = exchange.BroadOIDC(p.Subject, p.Conditions, repositoryKeys(op.TenantKeys))
	}
	if why != "" {
		bad(".subject", "%s; this provider could admit identities that are not yours (set broad_trust_intended: true if that is the intent)", why)
	}
	return p, ok
}

func condition(c ClaimCondition) (exchange.Condition, error) {
	ops := []struct {
		op     exchange.Operator
		values []string
	}{{exchange.Equals, c.Equals}, {exchange.NotEquals, c.NotEquals}, {exchange.Like, c.Like},
		{exchange.NotLike, c.NotLike}, {exchange.AnyOf, c.AnyOf}, {exchange.AllOf, c.AllOf}}
	var set []int
	for i, o := range ops {
		if o.values != nil {
			set = append(set, i)
		}
	}
	if len(set) != 1 {
		return exchange.Condition{}, fmt.Errorf("give exactly one of equals, not_equals, like, not_like, any_of, all_of")
	}
	o := ops[set[0]]
	return exchange.NewCondition(c.Claim, o.op, o.values)
}

func isProviderName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

// orgClaims name a whole organization, not one repository or project: an
// exact condition on one of them still admits every repository of the
// organization, which the issue counts as broad.
var orgClaims = []string{"repository_owner", "repository_owner_id", "enterprise", "enterprise_id", "namespace_path", "namespace_id"}

// repositoryKeys are the tenant claims that name one repository or project.
func repositoryKeys(tenant []string) []string {
	var out []string
	for _, k := range tenant {
		if !slices.Contains(orgClaims, k) {
			out = append(out, k)
		}
	}
	return out
}

// stsEndpoint turns a configured endpoint URL into the host the verifier
// reports: a configured upstream's, or a public AWS STS host.
func (v *validator) stsEndpoint(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return "", false
	}
	host := strings.ToLower(u.Host)
	if slices.Contains(v.upstreams, host) {
		return host, true
	}
	public := u.Scheme == "https" && u.Port() == "" && strings.HasPrefix(host, "sts") &&
		(strings.HasSuffix(host, ".amazonaws.com") || strings.HasSuffix(host, ".amazonaws.com.cn"))
	return host, public
}
