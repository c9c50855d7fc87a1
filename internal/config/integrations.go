package config

import (
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/arn"
	"github.com/keyless-dev/keyless/internal/integration"
	"github.com/keyless-dev/keyless/internal/signing"
)

// Integrations are the deployment-wide settings of integrations, which
// are declared under accounts[].spaces[].integrations.
type Integrations struct {
	// Audience is the default audience of WIF integrations' tokens: what
	// the target's OIDC provider lists as a client ID. Default keyless.
	Audience string `yaml:"audience"`
	// Region is the default region of the target STS endpoints. Default
	// us-east-1.
	Region string `yaml:"region"`
	// CheckEvery is how often each integration is checked, once per
	// deployment however many nodes run. Default 15m; at least 10s.
	CheckEvery time.Duration `yaml:"check_every"`
	// MissingAfter turns an integration missing when no check succeeded
	// for that long. Default 1h.
	MissingAfter time.Duration `yaml:"missing_after"`
	// AccessKeyMaxAge raises a warning about access_key integrations
	// whose key is older. Default 2160h (90 days).
	AccessKeyMaxAge time.Duration `yaml:"access_key_max_age"`
}

// Space is a tenant's namespace inside an account: a team, a customer.
type Space struct {
	// ID is 1 to 63 lower-case letters, digits and hyphens; it is part of
	// the integrations' WIF subjects and ARNs.
	ID           string        `yaml:"id"`
	Integrations []Integration `yaml:"integrations"`
}

// Integration reaches a role in another account (docs/integrations.md).
type Integration struct {
	// Name is 1 to 64 letters, digits and _.-, unique in its space.
	Name string `yaml:"name"`
	// RoleARN is the target role. Required, except for access_key
	// without a role, which gets the key's user a GetSessionToken session.
	RoleARN string `yaml:"role_arn"`
	// Auth is wif (the default: keyless's token, no stored key) or
	// access_key (an IAM user's key, to be retired).
	Auth string `yaml:"auth"`
	// Audience overrides integrations.audience.
	Audience string `yaml:"audience"`
	// Region overrides integrations.region; STSEndpoint overrides the
	// regional endpoint derived from it (GovCloud, China, a test double).
	Region      string `yaml:"region"`
	STSEndpoint string `yaml:"sts_endpoint"`
	// AllowHTTPLoopback allows an http:// endpoint on a loopback address;
	// AllowPrivateNetwork allows a private address.
	AllowHTTPLoopback   bool `yaml:"allow_http_loopback"`
	AllowPrivateNetwork bool `yaml:"allow_private_network"`
	// SessionName is the target role session's name. Default
	// keyless-NAME.
	SessionName string `yaml:"session_name"`
	// SessionDuration is the target session's lifetime. Default 1h;
	// between 15m and 12h (the role's maximum applies).
	SessionDuration time.Duration `yaml:"session_duration"`
	// SigningAlgorithm signs WIF tokens: RS256 (default), ES256 or ES384.
	SigningAlgorithm string `yaml:"signing_algorithm"`
	// AccessKey is access_key's key; ExternalID its AssumeRole's.
	AccessKey  *IntegrationKey `yaml:"access_key"`
	ExternalID string          `yaml:"external_id"`
}

// IntegrationKey is an IAM user's access key in the target account. Give
// the secret once, in exactly one of secret, secret_file or secret_env:
// keyless stores it sealed under the key-encryption key, and from then on
// the configuration may leave it out (and the file or variable can go).
// A secret given again replaces the stored one.
type IntegrationKey struct {
	ID         string `yaml:"id"`
	Secret     string `yaml:"secret"`
	SecretFile string `yaml:"secret_file"`
	SecretEnv  string `yaml:"secret_env"`
	// Created is the key's creation date (YYYY-MM-DD), for its age;
	// otherwise the age counts from when keyless first saw it.
	Created string `yaml:"created"`
}

// IntegrationsConfig is the validated settings.
type IntegrationsConfig struct {
	CheckEvery, MissingAfter, AccessKeyMaxAge time.Duration
	Specs                                     []integration.Spec
}

var (
	spaceRE           = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	integrationNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	regionRE          = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	roleARNRE         = regexp.MustCompile(`^arn:aws(-cn|-us-gov|-iso|-iso-b)?:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$`)
)

func (v *validator) integrationDefaults(d Integrations) IntegrationsConfig {
	out := IntegrationsConfig{CheckEvery: d.CheckEvery, MissingAfter: d.MissingAfter, AccessKeyMaxAge: d.AccessKeyMaxAge}
	if out.CheckEvery == 0 {
		out.CheckEvery = 15 * time.Minute
	} else if out.CheckEvery < 10*time.Second || out.CheckEvery > 24*time.Hour {
		v.at("integrations.check_every", "must be between 10s and 24h")
	}
	if out.MissingAfter == 0 {
		out.MissingAfter = time.Hour
	} else if out.MissingAfter < out.CheckEvery {
		v.at("integrations.missing_after", "must be at least check_every (%s)", out.CheckEvery)
	}
	if out.AccessKeyMaxAge == 0 {
		out.AccessKeyMaxAge = 90 * 24 * time.Hour
	}
	if d.Region != "" && !regionRE.MatchString(d.Region) {
		v.at("integrations.region", "%q is not a region name", d.Region)
	}
	return out
}

// spaces validates an account's spaces and their integrations.
func (v *validator) spaces(path, account string, list []Space, d Integrations) []integration.Spec {
	var out []integration.Spec
	seen := map[string]bool{}
	for i, sp := range list {
		spath := idx(path+".spaces", i)
		if !spaceRE.MatchString(sp.ID) {
			v.at(spath+".id", "must be 1 to 63 lower-case letters, digits and hyphens, not starting or ending with a hyphen")
		} else if seen[sp.ID] {
			v.at(spath+".id", "space %s is declared twice in account %s", sp.ID, account)
		}
		seen[sp.ID] = true
		names := map[string]bool{}
		for j, in := range sp.Integrations {
			ipath := idx(spath+".integrations", j)
			if !integrationNameRE.MatchString(in.Name) {
				v.at(ipath+".name", "must be 1 to 64 letters, digits and _.-")
			} else if names[strings.ToLower(in.Name)] {
				v.at(ipath+".name", "integration %s is declared twice in space %s", in.Name, sp.ID)
			}
			names[strings.ToLower(in.Name)] = true
			if s, ok := v.integration(ipath, account, sp.ID, in, d); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

func (v *validator) integration(path, account, space string, in Integration, d Integrations) (integration.Spec, bool) {
	bad := len(v.problems)
	s := integration.Spec{Account: account, Space: space, Name: in.Name, RoleARN: in.RoleARN, ExternalID: in.ExternalID,
		Audience: or(in.Audience, or(d.Audience, "keyless")), SessionName: or(in.SessionName, truncate("keyless-"+in.Name, 64)),
		SessionDuration: in.SessionDuration, Algorithm: or(in.SigningAlgorithm, string(signing.RS256)),
		Method: integration.Method(or(in.Auth, string(integration.WIF)))}
	if s.SessionDuration == 0 {
		s.SessionDuration = time.Hour
	} else if s.SessionDuration < 15*time.Minute || s.SessionDuration > 12*time.Hour {
		v.at(path+".session_duration", "must be between 15m and 12h")
	}
	if !arn.IsNameChars(s.SessionName) || len(s.SessionName) < 2 || len(s.SessionName) > 64 {
		v.at(path+".session_name", "must be 2 to 64 characters of letters, digits and _+=,.@-")
	}
	if s.RoleARN != "" && !roleARNRE.MatchString(s.RoleARN) {
		v.at(path+".role_arn", "must be a role ARN, arn:aws:iam::ACCOUNT:role/NAME")
	}
	if len(s.Audience) > 1000 {
		v.at(path+".audience", "must be at most 1000 characters")
	}
	switch s.Method {
	case integration.WIF:
		if s.RoleARN == "" {
			v.at(path+".role_arn", "is required for wif")
		}
		if in.AccessKey != nil || in.ExternalID != "" {
			v.at(path, "access_key and external_id are for auth: access_key only")
		}
		if _, ok := signing.ParseAlgorithm(s.Algorithm); !ok {
			v.at(path+".signing_algorithm", "must be RS256, ES256 or ES384")
		}
	case integration.AccessKey:
		if in.AccessKey == nil {
			v.at(path+".access_key", "is required for auth: access_key")
			break
		}
		if in.SigningAlgorithm != "" || in.Audience != "" {
			v.at(path, "audience and signing_algorithm are for auth: wif only")
		}
		k := &integration.Key{ID: in.AccessKey.ID}
		// The secret is needed once: keyless keeps it sealed in storage,
		// and a configuration without it uses the stored one.
		if in.AccessKey.Secret != "" || in.AccessKey.SecretFile != "" || in.AccessKey.SecretEnv != "" {
			k.Secret = v.secretValue(path+".access_key", "secret", in.AccessKey.Secret, in.AccessKey.SecretFile, in.AccessKey.SecretEnv)
		}
		if !isAccessKeyID(k.ID) {
			v.at(path+".access_key.id", "must be an AKIA... access key id")
		}
		if in.AccessKey.Created != "" {
			t, err := time.Parse("2006-01-02", in.AccessKey.Created)
			if err != nil {
				v.at(path+".access_key.created", "must be a date, YYYY-MM-DD")
			}
			k.CreatedAt = t
		}
		s.Key = k
		s.Audience, s.Algorithm = "", ""
	default:
		v.at(path+".auth", "must be wif or access_key")
	}
	region := or(in.Region, or(d.Region, DefaultRegion))
	if !regionRE.MatchString(region) {
		v.at(path+".region", "%q is not a region name", region)
	}
	s.Endpoint = integration.Endpoint{URL: or(in.STSEndpoint, regionalSTS(region)), Region: region,
		AllowHTTPLoopback: in.AllowHTTPLoopback, AllowPrivateNetwork: in.AllowPrivateNetwork}
	if u, err := url.Parse(s.Endpoint.URL); err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" ||
		(u.Scheme != "https" && !(u.Scheme == "http" && in.AllowHTTPLoopback && IsLoopback(u.Hostname()))) {
		v.at(path+".sts_endpoint", "must be an https:// URL (http:// only on loopback with allow_http_loopback)")
	}
	return s, len(v.problems) == bad
}

// regionalSTS is a region's STS endpoint (AWS General Reference, sts).
func regionalSTS(region string) string {
	if strings.HasPrefix(region, "cn-") {
		return "https://sts." + region + ".amazonaws.com.cn"
	}
	return "https://sts." + region + ".amazonaws.com"
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
