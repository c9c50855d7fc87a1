package config

import (
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/arn"
	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/samlxml"
)

// SAML is keyless as a SAML service provider: where browsers post SAML
// Responses and what assertions must name to be for it.
type SAML struct {
	// BaseURL is keyless's URL as browsers reach it. The sign-in URLs
	// are BASE/saml and BASE/REGION/saml, like
	// https://signin.aws.amazon.com/saml and
	// https://REGION.signin.aws.amazon.com/saml. Deprecated: the default,
	// server.public_url, is the base URL of every page keyless serves.
	BaseURL string `yaml:"base_url"`
	// Regions served at BASE/REGION/saml. Default: server.regions, or
	// server.region.
	Regions []string `yaml:"regions"`
	// Audiences are accepted in an assertion's AudienceRestriction; the
	// first is the entityID of BASE/saml/metadata.xml. Default
	// [urn:amazon:webservices], what IdP applications made for AWS send.
	Audiences []string `yaml:"audiences"`
	// ExtraRecipients are further Recipient URLs accepted besides the
	// sign-in URLs, such as https://signin.aws.amazon.com/saml. Accepting
	// AWS's own URL means an assertion made for AWS is also good here:
	// add it only for an IdP application that serves keyless alone.
	ExtraRecipients []string `yaml:"extra_recipients"`
	// MaxAssertionAge bounds how long after its IssueInstant an assertion
	// is redeemed. Default 5m, as AWS.
	MaxAssertionAge time.Duration `yaml:"max_assertion_age"`
	// ClockSkew is allowed in every time comparison. Default 1m.
	ClockSkew time.Duration `yaml:"clock_skew"`
}

// SAMLProvider is an IAM SAML provider: an IdP, declared by its metadata,
// whose Responses roles of the account may trust through
// AssumeRoleWithSAML (IAM User Guide, id_roles_providers_create_saml). Its
// ARN is arn:aws:iam::ACCOUNT:saml-provider/NAME.
type SAMLProvider struct {
	// Name is 1 to 128 characters of letters, digits and _+=,.@-.
	Name string `yaml:"name"`
	// Give the IdP's metadata XML in exactly one of metadata or
	// metadata_file. Its usable signing certificates (several during a
	// rotation) verify Responses; a provider with none is refused.
	Metadata     string `yaml:"metadata"`
	MetadataFile string `yaml:"metadata_file"`
	// AllowSHA1 admits rsa-sha1 signatures and sha1 digests from this
	// IdP. Off by default.
	AllowSHA1 bool `yaml:"allow_sha1"`
}

// SAMLConfig is the service provider side, as loaded.
type SAMLConfig struct {
	BaseURL         string // empty: Config.PublicURL
	Regions         []string
	Audiences       []string
	ExtraRecipients []string
	MaxAssertionAge time.Duration
	ClockSkew       time.Duration
}

// SignInURLs are the URLs a Recipient may name: BASE/saml, BASE/REGION/saml
// for each region, then the extra recipients.
func (c SAMLConfig) SignInURLs(base string) []string {
	base = strings.TrimSuffix(base, "/")
	urls := []string{base + "/saml"}
	for _, r := range c.Regions {
		urls = append(urls, base+"/"+r+"/saml")
	}
	return append(urls, c.ExtraRecipients...)
}

// IdP metadata limits (IAM API reference, CreateSAMLProvider:
// SAMLMetadataDocument is 1000 to 10000000 characters).
const maxMetadataBytes = 10_000_000

// maxProvidersPerIssuer is sts's bound on the providers a sign-in page
// verifies one Response with.
const maxProvidersPerIssuer = 8

func (v *validator) saml(s SAML, c *Config) SAMLConfig {
	out := SAMLConfig{BaseURL: strings.TrimSuffix(s.BaseURL, "/"), Regions: s.Regions, Audiences: s.Audiences,
		ExtraRecipients: s.ExtraRecipients, MaxAssertionAge: s.MaxAssertionAge, ClockSkew: s.ClockSkew}
	if out.BaseURL != "" && !httpURL(out.BaseURL) {
		v.at("saml.base_url", "must be an http:// or https:// URL without query or fragment")
	}
	for i, r := range out.Regions {
		if !IsRegion(r) {
			v.at(idx("saml.regions", i), "%q is not a region name", r)
		}
	}
	if len(out.Regions) == 0 { // server's, checked there
		out.Regions = c.Regions
	}
	if len(out.Regions) == 0 {
		out.Regions = []string{c.Region}
	}
	if len(out.Audiences) == 0 {
		out.Audiences = []string{"urn:amazon:webservices"}
	}
	for i, a := range out.Audiences {
		if a == "" || len(a) > 1024 || strings.ContainsFunc(a, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			v.at(idx("saml.audiences", i), "must be a URI of at most 1024 characters without spaces")
		}
	}
	for i, r := range out.ExtraRecipients {
		if !httpURL(r) {
			v.at(idx("saml.extra_recipients", i), "must be an http:// or https:// URL without query or fragment")
		}
	}
	switch {
	case out.MaxAssertionAge == 0:
		out.MaxAssertionAge = 5 * time.Minute
	case out.MaxAssertionAge < 30*time.Second || out.MaxAssertionAge > time.Hour:
		v.at("saml.max_assertion_age", "must be between 30s and 1h")
	}
	switch {
	case out.ClockSkew == 0:
		out.ClockSkew = time.Minute
	case out.ClockSkew < 0 || out.ClockSkew > 5*time.Minute:
		v.at("saml.clock_skew", "must be between 0s and 5m")
	}
	return out
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil &&
		u.RawQuery == "" && u.Fragment == "" && !u.ForceQuery
}

func (v *validator) samlProviders(path, account string, list []SAMLProvider) []iam.SAMLProvider {
	var out []iam.SAMLProvider
	seen := map[string]bool{}
	for i, p := range list {
		ppath := idx(path, i)
		if len(p.Name) < 1 || len(p.Name) > 128 || !arn.IsNameChars(p.Name) {
			v.at(ppath+".name", "must be 1 to 128 characters of letters, digits and _+=,.@-")
		} else if seen[p.Name] {
			v.at(ppath+".name", "SAML provider %q is declared twice in account %s", p.Name, account)
		}
		seen[p.Name] = true
		var doc []byte
		switch {
		case (p.Metadata == "") == (p.MetadataFile == ""):
			v.at(ppath, "give the IdP metadata in exactly one of metadata or metadata_file")
			continue
		case p.Metadata != "":
			doc = []byte(p.Metadata)
		default:
			file := p.MetadataFile
			if !filepath.IsAbs(file) {
				file = filepath.Join(v.dir, file)
			}
			b, err := readLimited(file, maxMetadataBytes)
			if err != nil {
				v.at(ppath+".metadata_file", "%v", err)
				continue
			}
			doc = b
		}
		md, err := samlxml.ParseMetadata(doc, v.now)
		if err != nil {
			v.at(ppath, "IdP metadata refused: %v", err)
			continue
		}
		out = append(out, iam.SAMLProvider{Account: account, Name: p.Name, EntityID: md.EntityID,
			Certificates: md.Certificates, SkippedCertificates: md.Skipped, AllowSHA1: p.AllowSHA1})
	}
	for i := range out {
		for j := range i {
			if out[i].EntityID == out[j].EntityID {
				v.at(path, "SAML providers %s and %s have the same entity ID %q; declare the IdP once",
					out[j].Name, out[i].Name, out[i].EntityID)
			}
		}
	}
	return out
}
