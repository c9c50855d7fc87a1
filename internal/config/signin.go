package config

import (
	"runtime"
	"time"
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
}

// SignInConfig is sign-in's validated settings.
type SignInConfig struct {
	SessionIdle, SessionMax, CredentialsTTL, RefreshGrace time.Duration
	PasswordConcurrency                                   int
	MaxFailuresPerUser, MaxFailuresPerSource              int
	FailureWindow                                         time.Duration
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
	return out
}
