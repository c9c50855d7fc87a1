package config

import (
	"net/url"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/secret"
)

// SignIn configures developer sign-in: the browser sign-in pages and the
// `aws login` authorization server at the root of server.public_url
// (docs/signin.md). Users sign in with users[].console_password.
type SignIn struct {
	// SessionIdle ends a browser session unused this long. Default 1h;
	// between 1m and 12h.
	SessionIdle time.Duration `yaml:"session_idle"`
	// SessionMax ends a browser session, and an `aws login` session, this
	// long after its sign-in (AWS: 12 hours). Default 12h; between 1m and
	// 12h.
	SessionMax time.Duration `yaml:"session_max"`
	// CredentialsTTL is the life of each set of credentials an `aws
	// login` token call issues. Default 15m, the most the clients
	// accept; between 10s and 15m (short values are for tests).
	CredentialsTTL time.Duration `yaml:"credentials_ttl"`
	// RefreshGrace is how long a rotated refresh token is still answered
	// (processes sharing one cache file race). Default 2m; at most 5m.
	RefreshGrace *time.Duration `yaml:"refresh_grace"`
	// PasswordConcurrency bounds the password hashes verified at once,
	// so that a flood of sign-ins cannot take every core from the STS
	// API. Default: the number of CPUs; between 1 and 64.
	PasswordConcurrency int `yaml:"password_concurrency"`
	// MaxFailuresPerUser and MaxFailuresPerSource bound failed sign-ins
	// (wrong password or MFA code) per user name and per source address
	// in each FailureWindow. Defaults 10 and 100 per 15m.
	MaxFailuresPerUser   int           `yaml:"max_failures_per_user"`
	MaxFailuresPerSource int           `yaml:"max_failures_per_source"`
	FailureWindow        time.Duration `yaml:"failure_window"`
	// OIDC are OpenID Connect providers people sign in with (keyless is
	// their relying party, authorization code flow with PKCE), then
	// choose one of the roles whose trust policies admit them.
	OIDC []SignInOIDC `yaml:"oidc"`
}

// SignInOIDC is an OpenID Connect provider of the sign-in page. The
// account must declare the same issuer under oidc_providers, with
// client_id among its audiences: the roles' trust policies name that
// provider, and its ID tokens are verified again by STS's rules.
type SignInOIDC struct {
	// Name is the provider's short name, in the path
	// /signin/oidc/NAME: 1 to 32 of a-z, 0-9 and '-'.
	Name string `yaml:"name"`
	// DisplayName is shown on the sign-in page ("Sign in with ...").
	// Default Name.
	DisplayName string `yaml:"display_name"`
	// Issuer is the provider's issuer URL (discovery at
	// ISSUER/.well-known/openid-configuration): https, or http on a
	// loopback address.
	Issuer string `yaml:"issuer"`
	// ClientID and the client secret are keyless's client at the
	// provider. Its redirect URI is PUBLIC_URL/signin/oidc/callback.
	ClientID     string `yaml:"client_id"`
	ClientSecret string `yaml:"client_secret"`
	SecretFile   string `yaml:"client_secret_file"`
	SecretEnv    string `yaml:"client_secret_env"`
	// Account is the account whose roles people sign in to.
	Account string `yaml:"account"`
	// Scopes are asked for besides openid. Default [email, profile].
	Scopes []string `yaml:"scopes"`
}

// SignInConfig is sign-in's validated settings.
type SignInConfig struct {
	SessionIdle, SessionMax, CredentialsTTL, RefreshGrace time.Duration
	PasswordConcurrency                                   int
	MaxFailuresPerUser, MaxFailuresPerSource              int
	FailureWindow                                         time.Duration
	OIDC                                                  []SignInOIDCConfig
}

// SignInOIDCConfig is a validated SignInOIDC.
type SignInOIDCConfig struct {
	Name, DisplayName, Issuer, ClientID, Account string
	ClientSecret                                 secret.String
	Scopes                                       []string
}

// DefaultSignIn is sign-in's settings when a file says nothing.
func DefaultSignIn() SignInConfig {
	return SignInConfig{SessionIdle: time.Hour, SessionMax: 12 * time.Hour, CredentialsTTL: 15 * time.Minute,
		RefreshGrace: 2 * time.Minute, PasswordConcurrency: runtime.NumCPU(), MaxFailuresPerUser: 10, MaxFailuresPerSource: 100,
		FailureWindow: 15 * time.Minute}
}

func (v *validator) signIn(s SignIn) SignInConfig {
	out := DefaultSignIn()
	dur := func(field string, in time.Duration, to *time.Duration, lo, hi time.Duration) {
		switch {
		case in == 0:
		case in < lo || in > hi:
			v.at("signin."+field, "must be between %s and %s", lo, hi)
		default:
			*to = in
		}
	}
	dur("session_idle", s.SessionIdle, &out.SessionIdle, time.Minute, 12*time.Hour)
	dur("session_max", s.SessionMax, &out.SessionMax, time.Minute, 12*time.Hour)
	dur("credentials_ttl", s.CredentialsTTL, &out.CredentialsTTL, 10*time.Second, 15*time.Minute)
	dur("failure_window", s.FailureWindow, &out.FailureWindow, time.Minute, 24*time.Hour)
	if s.RefreshGrace != nil {
		if *s.RefreshGrace < 0 || *s.RefreshGrace > 5*time.Minute {
			v.at("signin.refresh_grace", "must be between 0s and 5m")
		}
		out.RefreshGrace = *s.RefreshGrace
	}
	num := func(field string, in int, to *int, lo, hi int) {
		switch {
		case in == 0:
		case in < lo || in > hi:
			v.at("signin."+field, "must be between %d and %d", lo, hi)
		default:
			*to = in
		}
	}
	num("password_concurrency", s.PasswordConcurrency, &out.PasswordConcurrency, 1, 64)
	num("max_failures_per_user", s.MaxFailuresPerUser, &out.MaxFailuresPerUser, 1, 1000)
	num("max_failures_per_source", s.MaxFailuresPerSource, &out.MaxFailuresPerSource, 1, 100000)
	out.PasswordConcurrency = min(out.PasswordConcurrency, 64)
	seen := map[string]bool{}
	for i, o := range s.OIDC {
		path := idx("signin.oidc", i)
		c := SignInOIDCConfig{Name: o.Name, DisplayName: o.DisplayName, Issuer: strings.TrimSuffix(o.Issuer, "/"), ClientID: o.ClientID,
			Account: o.Account, Scopes: o.Scopes}
		if !oidcNameRE.MatchString(o.Name) || o.Name == "callback" {
			v.at(path+".name", "must be 1 to 32 of a-z, 0-9 and '-', and not \"callback\" (the redirect URI's path)")
		} else if seen[o.Name] {
			v.at(path+".name", "%q is declared twice", o.Name)
		}
		seen[o.Name] = true
		if c.DisplayName == "" {
			c.DisplayName = o.Name
		}
		u, err := url.Parse(o.Issuer)
		if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || !(u.Scheme == "https" || u.Scheme == "http" && IsLoopback(u.Hostname())) {
			v.at(path+".issuer", "must be an https URL (http only on a loopback address), without query or fragment")
		}
		if o.ClientID == "" || len(o.ClientID) > 255 {
			v.at(path+".client_id", "is required (at most 255 characters)")
		}
		c.ClientSecret = v.secretValue(path, "client_secret", o.ClientSecret, o.SecretFile, o.SecretEnv)
		if len(c.Scopes) == 0 {
			c.Scopes = []string{"email", "profile"}
		}
		if o.Account == "" {
			v.at(path+".account", "is required: the account whose roles people sign in to")
		}
		out.OIDC = append(out.OIDC, c)
	}
	return out
}

var oidcNameRE = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)

// checkSignInOIDC checks that each sign-in provider's account declares
// the same issuer, with the client id among its audiences.
func (v *validator) checkSignInOIDC(c *Config) {
	for i, o := range c.SignIn.OIDC {
		found := false
		for _, p := range c.Identities.OIDCProviders {
			if p.Account == o.Account && strings.TrimSuffix(p.URL, "/") == o.Issuer && slices.Contains(p.ClientIDs, o.ClientID) {
				found = true
			}
		}
		if !found {
			v.at(idx("signin.oidc", i)+".account", "account %s must declare the OIDC provider %s under oidc_providers with %q in its audiences: "+
				"its roles' trust policies name that provider", o.Account, o.Issuer, o.ClientID)
		}
	}
}
