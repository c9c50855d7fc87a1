package idtoken

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"
)

// KeySource gives a provider's verification keys.
type KeySource interface {
	// Keys returns the keys with this id, or every key when kid is empty.
	// It returns ErrUnknownKey or ErrUnavailable when it has none.
	Keys(ctx context.Context, kid string) ([]Key, error)
}

// Provider is what a token is verified against.
type Provider struct {
	Issuer     string   // compared exactly (OpenID Connect Core 3.1.3.7 step 2)
	ClientIDs  []string // accepted audiences
	Algorithms []string // allow-list; DefaultAlgorithms when empty
	// Leeway is the clock skew allowed on exp, nbf and iat.
	Leeway time.Duration
	// MaxLifetime bounds exp - iat (or exp - now without iat).
	MaxLifetime time.Duration
	// IDTokensOnly refuses tokens typed as OAuth access tokens (RFC 9068).
	IDTokensOnly bool
	// AZPIsAudience: azp, when present, is the audience checked against
	// ClientIDs (Google's ID tokens).
	AZPIsAudience bool
}

// Defaults for Provider.
const (
	DefaultLeeway      = 30 * time.Second
	DefaultMaxLifetime = 24 * time.Hour
)

// Claims are a verified token's claims.
type Claims struct {
	Issuer   string
	Subject  string
	Audience []string
	// AuthorizedParty is azp, if present.
	AuthorizedParty string
	// MatchedAudience is the client id the token was accepted for.
	MatchedAudience string
	AMR             []string
	Expiry          time.Time
	raw             map[string]json.RawMessage
	payload         []byte
}

// Verify checks the signature first, then the claims, so that a token that
// is both forged and expired is refused as forged (security.md V-15).
func (t *Token) Verify(ctx context.Context, p *Provider, keys KeySource, now time.Time) (*Claims, error) {
	algs := p.Algorithms
	if len(algs) == 0 {
		algs = DefaultAlgorithms
	}
	if !slices.Contains(algs, t.alg) {
		return nil, invalid("alg_not_allowed", msgSignature)
	}
	if err := t.checkSignature(ctx, keys); err != nil {
		return nil, err
	}
	return t.validate(p, now)
}

func (t *Token) checkSignature(ctx context.Context, src KeySource) error {
	keys, err := src.Keys(ctx, t.kid)
	switch {
	case errors.Is(err, ErrUnavailable):
		return &Error{Kind: Unavailable, Reason: "jwks_unavailable", Msg: "The identity provider's keys could not be retrieved."}
	case err != nil:
		return invalid("key_unknown", msgNoKey)
	}
	var candidates []Key
	for _, k := range keys {
		if (k.Alg == "" || k.Alg == t.alg) && fits(t.alg, k.Public) {
			candidates = append(candidates, k)
		}
	}
	switch {
	case len(candidates) == 0:
		return invalid("key_unknown", msgNoKey)
	case t.kid == "" && len(candidates) > 1:
		// OpenID Connect Core 10.1: without kid the key must be unambiguous.
		return invalid("kid_absent_ambiguous", msgNoKey)
	}
	for _, k := range candidates {
		if VerifySignature(t.alg, k.Public, t.input, t.sig) {
			return nil
		}
	}
	return invalid("signature_invalid", msgSignature)
}

func (t *Token) validate(p *Provider, now time.Time) (*Claims, error) {
	c := &Claims{Issuer: t.issuer, raw: t.claims, payload: t.payload}
	if t.issuer != p.Issuer {
		return nil, invalid("iss_mismatch", msgClaims)
	}
	if p.IDTokensOnly && (strings.EqualFold(t.typ, "at+jwt") || strings.EqualFold(t.typ, "application/at+jwt")) {
		return nil, invalid("access_token", msgNotJWT)
	}
	var ok bool
	if c.Subject, ok = t.String("sub"); !ok || c.Subject == "" || len(c.Subject) > 255 {
		return nil, invalid("sub_invalid", msgClaims)
	}
	if err := c.audience(t, p); err != nil {
		return nil, err
	}
	if raw, has := t.claims["amr"]; has {
		if c.AMR, ok = stringOrList(raw); !ok {
			return nil, invalid("amr_invalid", msgClaims)
		}
	}
	leeway := p.Leeway
	if leeway == 0 {
		leeway = DefaultLeeway
	}
	maxLife := p.MaxLifetime
	if maxLife == 0 {
		maxLife = DefaultMaxLifetime
	}
	exp, has, ok := t.numericDate("exp")
	if !has || !ok {
		return nil, invalid("exp_invalid", msgClaims)
	}
	c.Expiry = exp
	nbf, has, ok := t.numericDate("nbf")
	if !ok || has && nbf.After(now.Add(leeway)) {
		return nil, invalid("nbf_invalid", msgClaims)
	}
	iat, hasIat, ok := t.numericDate("iat")
	if !ok || hasIat && iat.After(now.Add(leeway)) {
		return nil, invalid("iat_invalid", msgClaims)
	}
	start := now
	if hasIat {
		start = iat
	}
	if exp.Sub(start) > maxLife {
		return nil, invalid("lifetime_too_long", msgClaims)
	}
	if !now.Before(exp.Add(leeway)) {
		// AWS's wording, missing space included (aws-sts.md 4.2).
		return nil, &Error{Kind: Expired, Reason: "token_expired",
			Msg: "Token expired: current date/time " + strconv.FormatInt(now.Unix(), 10) +
				" must be before the expiration date/time" + strconv.FormatInt(exp.Unix(), 10)}
	}
	return c, nil
}

// audience applies OpenID Connect Core 3.1.3.7 steps 3-5: aud must contain
// a client id, and a token for several audiences must name a client id in
// azp (security.md V-14, JWT-16). With AZPIsAudience (Google, as AWS
// documents for accounts.google.com), azp when present is the audience
// instead, and aud is only the original audience (oaud).
func (c *Claims) audience(t *Token, p *Provider) error {
	raw, has := t.claims["aud"]
	if !has {
		return invalid("aud_missing", msgAudience)
	}
	aud, ok := stringOrList(raw)
	if !ok || len(aud) == 0 || slices.Contains(aud, "") {
		return invalid("aud_invalid", msgAudience)
	}
	c.Audience = aud
	if _, hasAzp := t.claims["azp"]; hasAzp {
		azp, ok := t.String("azp")
		if !ok || azp == "" {
			return invalid("azp_invalid", msgAudience)
		}
		c.AuthorizedParty = azp
	}
	switch {
	case p.AZPIsAudience && c.AuthorizedParty != "":
		if !slices.Contains(p.ClientIDs, c.AuthorizedParty) {
			return invalid("azp_not_client", msgAudience)
		}
		c.MatchedAudience = c.AuthorizedParty
		return nil
	case len(aud) > 1 && c.AuthorizedParty == "":
		return invalid("azp_missing", msgAudience)
	case len(aud) > 1:
		if !slices.Contains(p.ClientIDs, c.AuthorizedParty) || !slices.Contains(aud, c.AuthorizedParty) {
			return invalid("azp_not_client", msgAudience)
		}
		c.MatchedAudience = c.AuthorizedParty
		return nil
	case !slices.Contains(p.ClientIDs, aud[0]):
		return invalid("aud_not_client", msgAudience)
	}
	c.MatchedAudience = aud[0]
	return nil
}

// numericDate reads an integer NumericDate (RFC 7519 section 2; AWS accepts
// integers only). has: the claim is present; ok: it is well-formed.
func (t *Token) numericDate(name string) (time.Time, bool, bool) {
	raw, has := t.claims[name]
	if !has {
		return time.Time{}, false, true
	}
	s := string(raw)
	if len(s) == 0 || len(s) > 12 || strings.Trim(s, "0123456789") != "" {
		return time.Time{}, true, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, true, false
	}
	return time.Unix(n, 0).UTC(), true, true
}

func stringOrList(raw json.RawMessage) ([]string, bool) {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, true
	}
	var list []string
	if json.Unmarshal(raw, &list) != nil || list == nil {
		return nil, false
	}
	return list, true
}

// String returns a top-level string claim of the verified token.
func (c *Claims) String(name string) (string, bool) {
	t := Token{claims: c.raw}
	return t.String(name)
}

// Scalar returns a top-level claim that is a string, number or boolean, as
// text, for condition keys.
func (c *Claims) Scalar(name string) (string, bool) {
	raw, ok := c.raw[name]
	if !ok || len(raw) == 0 {
		return "", false
	}
	switch raw[0] {
	case '"':
		return c.String(name)
	case 't', 'f':
		return string(raw), true
	case '{', '[', 'n':
		return "", false
	}
	return string(raw), true
}

// JSON returns the verified token's claims object as it was signed: the
// token exchange conditions on any claim, nested ones included.
func (c *Claims) JSON() []byte { return slices.Clone(c.payload) }
