package integration

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/storage"
)

// Method is how keyless proves itself to the target account.
type Method string

// Methods.
const (
	// WIF: a token from keyless's issuer, AssumeRoleWithWebIdentity.
	WIF Method = "wif"
	// AccessKey: an IAM user's long-term key, AssumeRole (or
	// GetSessionToken without a role); never handed out.
	AccessKey Method = "access_key"
)

// Endpoint is a target account's STS.
type Endpoint struct {
	URL    string
	Region string // the SigV4 signing region
	// AllowHTTPLoopback and AllowPrivateNetwork relax the outbound
	// address rules, for a test double or a private endpoint.
	AllowHTTPLoopback, AllowPrivateNetwork bool
}

// Key is an IAM user's access key in the target account.
type Key struct {
	ID string
	// Secret is the configuration's; zero when it leaves the secret to
	// the sealed copy in storage.
	Secret secret.String
	// CreatedAt, if known, dates the key; otherwise its age counts from
	// when keyless first saw it.
	CreatedAt time.Time
}

// Spec is an integration as declared.
type Spec struct {
	Account, Space, Name string
	RoleARN              string // empty for access_key with GetSessionToken
	Audience             string // the token's aud (wif)
	Endpoint             Endpoint
	SessionName          string
	SessionDuration      time.Duration
	Method               Method
	Algorithm            string // the token's signing algorithm (wif)
	Key                  *Key   // access_key
	ExternalID           string // access_key's AssumeRole
}

// ARN is the integration's resource ARN, which consumers' policies name
// (keyless:GetIntegrationCredentials).
func (s *Spec) ARN() string { return ARN(s.Account, s.Space, s.Name) }

// ARN is arn:aws:keyless::ACCOUNT:integration/SPACE/NAME.
func ARN(account, space, name string) string {
	return "arn:aws:keyless::" + account + ":integration/" + space + "/" + name
}

// fingerprint changes whenever the spec does, so that cached credentials
// obtained under another spec are never handed out.
func (s *Spec) fingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "%q %q %q %q %q %v %v %q %s %q %q %q", s.RoleARN, s.Audience, s.Endpoint.URL, s.Endpoint.Region, s.SessionName,
		s.Endpoint.AllowHTTPLoopback, s.Endpoint.AllowPrivateNetwork, s.Method, s.SessionDuration, s.Algorithm, s.ExternalID, s.Account)
	if s.Key != nil {
		fmt.Fprintf(h, " %q %x", s.Key.ID, sha256.Sum256([]byte(s.Key.Secret.Reveal())))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Integration is a declared integration with its stable id.
type Integration struct {
	Spec
	// ID is generated once, stored, and the same on every node and after
	// every restart: 128 random bits, so that nobody can guess a WIF
	// subject.
	ID string
	// Subject is the WIF subject: ID@integrations.SPACE.spaces.HOST.
	Subject string
	// KeySeen is when keyless first saw the access key (access_key).
	KeySeen time.Time
	// fp is the spec's fingerprint, computed once.
	fp string
}

// Subject is the WIF subject of an integration id, in a space, for an
// issuer: ID@integrations.SPACE.spaces.HOST, HOST the issuer's host.
func Subject(id, space, issuer string) string {
	host := issuer
	if u, err := url.Parse(issuer); err == nil && u.Host != "" {
		host = u.Host
	}
	return id + "@integrations." + space + ".spaces." + host
}

// ConditionPrefix is how IAM names the issuer in condition keys
// (HOST/PATH:sub): the issuer URL without its scheme (IAM User Guide,
// reference_policies_iam-condition-keys, oidc-provider keys).
func ConditionPrefix(issuer string) string {
	s := issuer
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	return strings.TrimSuffix(s, "/")
}

// claimIDs finds (or makes) each spec's id, and when each access key was
// first seen.
func claimIDs(ctx context.Context, ids storage.IDs, random io.Reader, now time.Time, specs []Spec, issuer string) ([]*Integration, error) {
	out := make([]*Integration, 0, len(specs))
	for _, s := range specs {
		b := make([]byte, 16)
		if _, err := io.ReadFull(random, b); err != nil {
			return nil, err
		}
		id, err := ids.ClaimID(ctx, "integration/"+s.Account+"/"+s.Space+"/"+s.Name, hex.EncodeToString(b))
		if err != nil {
			return nil, fmt.Errorf("id of integration %s: %w", s.ARN(), err)
		}
		in := &Integration{Spec: s, ID: id, Subject: Subject(id, s.Space, issuer), fp: s.fingerprint()}
		if s.Key != nil {
			seen, err := ids.ClaimID(ctx, "integration-key-seen/"+id+"/"+s.Key.ID, now.UTC().Format(time.RFC3339))
			if err != nil {
				return nil, fmt.Errorf("access key of integration %s: %w", s.ARN(), err)
			}
			in.KeySeen, _ = time.Parse(time.RFC3339, seen)
		}
		out = append(out, in)
	}
	return out, nil
}

// KeyAge is how old the integration's access key is: since its
// CreatedAt, or since keyless first saw it.
func (in *Integration) KeyAge(now time.Time) time.Duration {
	if in.Key == nil {
		return 0
	}
	since := in.KeySeen
	if !in.Key.CreatedAt.IsZero() && (since.IsZero() || in.Key.CreatedAt.Before(since)) {
		since = in.Key.CreatedAt
	}
	if since.IsZero() {
		return 0
	}
	return now.Sub(since)
}
