package sts

import (
	"context"
	"encoding/hex"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/credential"
	"github.com/keyless-dev/keyless/internal/jsontext"
	"github.com/keyless-dev/keyless/internal/policy"
	"github.com/keyless-dev/keyless/internal/secret"
)

// Issuers are what GetWebIdentityToken signs with.
type Issuers struct {
	// Account returns the issuer identifier of an account that enabled
	// outbound web identity federation.
	Account func(account string) (string, bool)
	// Sign returns the compact JWS of a claims set under the algorithm's
	// active key (signing.Keys.Sign).
	Sign func(alg string, claims []byte) (string, error)
}

// IdentityTokenAlgorithms are GetWebIdentityToken's SigningAlgorithm
// values (STS API reference).
var IdentityTokenAlgorithms = []string{"RS256", "ES384"}

// GetWebIdentityTokenRequest is a shape-validated GetWebIdentityToken
// request (STS API reference, GetWebIdentityToken).
type GetWebIdentityTokenRequest struct {
	Audiences []string
	Algorithm string
	Duration  time.Duration // zero: the default
	Tags      []credential.Tag
}

// WebIdentityToken is GetWebIdentityToken's answer.
type WebIdentityToken struct {
	Token      secret.String
	Expiration time.Time
	ID         string // the jti, for the audit trail
	Issuer     string
	Subject    string
}

// GetWebIdentityToken's limits (STS API reference).
const (
	defaultIdentityTokenLife = 300 * time.Second
	// maxIdentityTokenClaims bounds the encoded claims so that the token
	// stays within the 20,000 characters AssumeRoleWithWebIdentity and
	// most relying parties accept: base64url makes 14,336 bytes 19,115
	// characters, and header and signature fit in the rest.
	maxIdentityTokenClaims = 14336
)

// GetWebIdentityToken signs a JWT that says who the caller is, for an
// external service that trusts the caller's account's issuer (IAM User
// Guide, id_roles_providers_outbound). The caller needs
// sts:GetWebIdentityToken, and its account must have enabled outbound
// web identity federation.
func (s *Service) GetWebIdentityToken(_ context.Context, c Caller, req GetWebIdentityTokenRequest) (WebIdentityToken, error) {
	if err := s.onlyFromUsersAndRoles(&c, "GetWebIdentityToken"); err != nil {
		return WebIdentityToken{}, err
	}
	if !slices.Contains(IdentityTokenAlgorithms, req.Algorithm) {
		return WebIdentityToken{}, validation("signing_algorithm_invalid", "1 validation error detected: Value '"+req.Algorithm+
			"' at 'signingAlgorithm' failed to satisfy constraint: Member must satisfy enum value set: ["+strings.Join(IdentityTokenAlgorithms, ", ")+"]")
	}
	var issuer string
	ok := false
	if s.o.Issuers != nil {
		issuer, ok = s.o.Issuers.Account(c.Principal.Account)
	}
	if !ok {
		return WebIdentityToken{}, &Error{Code: OutboundFederationDisabled, Reason: "outbound_federation_disabled",
			Msg: "Outbound web identity federation is not enabled for account " + c.Principal.Account + "."}
	}
	tags, err := sessionTags(nil, req.Tags, nil)
	if err != nil {
		return WebIdentityToken{}, err
	}
	d := req.Duration
	if d == 0 {
		d = defaultIdentityTokenLife
	}
	sub, err := s.subject(&c)
	if err != nil {
		return WebIdentityToken{}, err
	}
	if err := s.authorize(sub, access{Action: "sts:GetWebIdentityToken", Resource: "*", Keys: func(ctx *policy.Context) {
		ctx.Set("sts:IdentityTokenAudience", req.Audiences...)
		ctx.Set("sts:DurationSeconds", strconv.FormatInt(int64(d/time.Second), 10))
		ctx.Set("sts:SigningAlgorithm", req.Algorithm)
		setRequestTags(ctx, tags, nil)
	}}); err != nil {
		return WebIdentityToken{}, err
	}
	now := s.o.Clock.Now().UTC().Truncate(time.Second)
	exp := now.Add(d)
	if c.Session != nil && exp.After(c.Session.Expiration) {
		return WebIdentityToken{}, &Error{Code: SessionDurationEscalation, Reason: "token_outlives_session",
			Msg: "The requested DurationSeconds would make the token outlive the credentials used to request it (they expire at " +
				c.Session.Expiration.UTC().Format(time.RFC3339) + ")."}
	}
	jti, err := tokenID(s.o.Random)
	if err != nil {
		return WebIdentityToken{}, unavailable("random_source", err)
	}
	// The subject is the principal: for a role session, the role (IAM
	// User Guide, id_roles_providers_outbound_token_claims).
	subject := c.Principal.ARN()
	claims := identityTokenClaims{Issuer: issuer, Subject: subject, Audience: req.Audiences, IssuedAt: now.Unix(), Expires: exp.Unix(), ID: jti,
		Account: c.Principal.Account, SourceRegion: c.Origin.Region, PrincipalTags: sub.tags, RequestTags: tags}.appendJSON(make([]byte, 0, 1024))
	if len(claims) > maxIdentityTokenClaims {
		return WebIdentityToken{}, &Error{Code: JWTPayloadSizeExceeded, Reason: "token_claims_too_large",
			Msg: "The token's claims take " + strconv.Itoa(len(claims)) + " bytes, more than the " + strconv.Itoa(maxIdentityTokenClaims) +
				" allowed: send fewer or shorter tags, or remove tags from the principal."}
	}
	tok, err := s.o.Issuers.Sign(req.Algorithm, claims)
	if err != nil {
		return WebIdentityToken{}, unavailable("signing_key", err)
	}
	return WebIdentityToken{Token: secret.NewString(tok), Expiration: exp, ID: jti, Issuer: issuer, Subject: subject}, nil
}

// identityTokenClaims are GetWebIdentityToken's claims.
type identityTokenClaims struct {
	Issuer, Subject, ID string
	Audience            []string
	IssuedAt, Expires   int64
	// AWS's own claims, under its namespace (IAM User Guide,
	// id_roles_providers_outbound_token_claims).
	Account, SourceRegion      string
	PrincipalTags, RequestTags []credential.Tag
}

// appendJSON appends the claims set in AWS's order, without reflection
// (every token encodes one): aud is one string, or an array of several
// (RFC 7519 section 4.1.3); tags are objects in key order, the last
// value of a repeated key winning, empty ones left out.
func (c identityTokenClaims) appendJSON(b []byte) []byte {
	b = jsontext.AppendString(append(b, `{"iss":`...), c.Issuer)
	b = append(b, `,"aud":`...)
	if len(c.Audience) == 1 {
		b = jsontext.AppendString(b, c.Audience[0])
	} else {
		b = append(b, '[')
		for i, a := range c.Audience {
			if i > 0 {
				b = append(b, ',')
			}
			b = jsontext.AppendString(b, a)
		}
		b = append(b, ']')
	}
	b = jsontext.AppendString(append(b, `,"sub":`...), c.Subject)
	b = strconv.AppendInt(append(b, `,"iat":`...), c.IssuedAt, 10)
	b = strconv.AppendInt(append(b, `,"exp":`...), c.Expires, 10)
	b = jsontext.AppendString(append(b, `,"jti":`...), c.ID)
	b = jsontext.AppendString(append(b, `,"https://sts.amazonaws.com/":{"aws_account":`...), c.Account)
	if c.SourceRegion != "" {
		b = jsontext.AppendString(append(b, `,"source_region":`...), c.SourceRegion)
	}
	b = appendTags(b, `,"principal_tags":`, c.PrincipalTags)
	b = appendTags(b, `,"request_tags":`, c.RequestTags)
	return append(b, "}}"...)
}

// appendTags appends name and tags as an object in key order, the last
// value of a repeated key winning; nothing for no tags.
func appendTags(b []byte, name string, tags []credential.Tag) []byte {
	if len(tags) == 0 {
		return b
	}
	sorted := slices.Clone(tags)
	slices.Reverse(sorted) // the last of a repeated key first, so that the stable sort keeps it first
	slices.SortStableFunc(sorted, func(x, y credential.Tag) int { return strings.Compare(x.Key, y.Key) })
	b = append(append(b, name...), '{')
	for i, t := range sorted {
		switch {
		case i > 0 && t.Key == sorted[i-1].Key:
			continue
		case i > 0:
			b = append(b, ',')
		}
		b = append(jsontext.AppendString(b, t.Key), ':')
		b = jsontext.AppendString(b, t.Value)
	}
	return append(b, '}')
}

// tokenID is a jti: 128 random bits.
func tokenID(random io.Reader) (string, error) {
	b := make([]byte, 16)
	if _, err := io.ReadFull(random, b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
