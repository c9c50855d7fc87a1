package config

import (
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Issuer makes keyless an OpenID Connect issuer: the tokens it signs for
// integrations and for GetWebIdentityToken, verifiable by anyone from its
// discovery document and key set (docs/issuer.md). Changes need a
// restart.
type Issuer struct {
	// Path puts the issuer under server.public_url: the issuer identifier
	// is the public URL followed by this path (for example /oidc), and
	// discovery is at ISSUER/.well-known/openid-configuration. Default:
	// the public URL itself.
	Path string `yaml:"path"`
	// JWKSMaxAge is how long relying parties may cache the key set and
	// the discovery document (their Cache-Control max-age). A new signing
	// key is published this long, plus a minute, before it signs; a
	// retired one stays as long after its last token expired. Default
	// 1h; between 1m and 24h.
	JWKSMaxAge time.Duration `yaml:"jwks_max_age"`
	// RotateEvery rotates the signing keys once they are this old.
	// Default 720h (30 days); 0s rotates only on request (`keyless keys
	// rotate --signing`).
	RotateEvery *time.Duration `yaml:"rotate_every"`
}

// IssuerConfig is the issuer's validated settings.
type IssuerConfig struct {
	Path        string
	JWKSMaxAge  time.Duration
	RotateEvery time.Duration
}

var outboundIssuerRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{6,62}[a-z0-9]$`)

// DefaultIssuer is the issuer's settings when a file says nothing.
var DefaultIssuer = IssuerConfig{JWKSMaxAge: time.Hour, RotateEvery: 30 * 24 * time.Hour}

// KeyLead is how long a new signing key is published before it signs:
// the relying parties' cache period, plus a minute for every node to load
// it (keys are reloaded every 30 seconds).
func (i IssuerConfig) KeyLead() time.Duration { return i.JWKSMaxAge + time.Minute }

// MaxTokenLifetime is the longest lifetime of a token keyless signs as an
// issuer (GetWebIdentityToken's DurationSeconds maximum, 3600).
const MaxTokenLifetime = time.Hour

// IssuerURL is the deployment's issuer identifier: the public URL and
// issuer.path.
func (c *Config) IssuerURL() string { return c.PublicURL + c.Issuer.Path }

func (v *validator) issuer(i Issuer, c *Config) IssuerConfig {
	out := DefaultIssuer
	out.Path, out.JWKSMaxAge = strings.TrimSuffix(i.Path, "/"), i.JWKSMaxAge
	if out.Path != "" {
		u, err := url.Parse(out.Path)
		if err != nil || !strings.HasPrefix(out.Path, "/") || u.Path != out.Path || u.RawQuery != "" || u.Fragment != "" ||
			strings.Contains(out.Path, "//") || strings.Contains(out.Path, "/.") || strings.Contains(out.Path, "{") {
			v.at("issuer.path", "must be a clean absolute path such as /oidc, without query, fragment, dot segments or braces")
		}
	}
	switch {
	case out.JWKSMaxAge == 0:
		out.JWKSMaxAge = DefaultIssuer.JWKSMaxAge
	case out.JWKSMaxAge < time.Minute || out.JWKSMaxAge > 24*time.Hour:
		v.at("issuer.jwks_max_age", "must be between 1m and 24h")
	}
	if i.RotateEvery != nil {
		out.RotateEvery = *i.RotateEvery
		if out.RotateEvery != 0 && out.RotateEvery < 2*(out.JWKSMaxAge+time.Minute) {
			v.at("issuer.rotate_every", "must be 0s (on request only) or at least twice jwks_max_age plus 2m, so that a next key is published long enough before it signs")
		}
	}
	return out
}

// issuerNotes says what AWS STS will refuse about an https issuer URL
// (IAM User Guide, id_roles_providers_create_oidc: no port). Plain http
// on loopback is for trying keyless on one machine.
func issuerNotes(c *Config) {
	u, err := url.Parse(c.IssuerURL())
	if err != nil {
		return
	}
	if u.Scheme == "https" && u.Port() != "" {
		c.Notes = append(c.Notes, "the OIDC issuer "+c.IssuerURL()+" has a port: AWS STS refuses issuer URLs with a port; serve it on 443 behind a proxy and set server.public_url")
	}
}
