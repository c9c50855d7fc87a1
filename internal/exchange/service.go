package exchange

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/credential"
	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/idtoken"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/sts"
)

// Sessions issues the role session a match grants (*sts.Service).
type Sessions interface {
	AssumeRoleAs(ctx context.Context, src sts.IdentitySource, req sts.FederatedRequest) (sts.AssumeRoleResult, *sts.Federated, error)
}

// Options are a Service's dependencies.
type Options struct {
	Providers []Provider
	// Directory holds the OIDC providers whose key sets and verification
	// settings (algorithms, leeway, maximum lifetime) tokens are checked
	// with; every OIDC identity provider's issuer is registered there in
	// the same account.
	Directory    *iam.Directory
	ProviderKeys func(*iam.OIDCProvider) idtoken.KeySource
	AWS          AWSVerifier
	Sessions     Sessions
	// UseOnce records a token as used until a time; it fails with an
	// error wrapping storage.ErrConflict when the token was used before.
	// SingleUse builds it over a store.
	UseOnce func(ctx context.Context, key string, until time.Time) error
	Clock   clock.Clock
}

// Service carries out token exchanges.
type Service struct {
	o        Options
	byIssuer map[string][]*Provider
}

// New indexes the providers by issuer.
func New(o Options) *Service {
	s := &Service{o: o, byIssuer: map[string][]*Provider{}}
	for i := range o.Providers {
		p := &o.Providers[i]
		s.byIssuer[p.Issuer] = append(s.byIssuer[p.Issuer], p)
	}
	for _, ps := range s.byIssuer {
		slices.SortFunc(ps, func(a, b *Provider) int {
			return strings.Compare(a.Account+"/"+a.Name, b.Account+"/"+b.Name)
		})
	}
	return s
}

// ProofKind is the subject token type a request declared.
type ProofKind int

// Proof kinds. ProofAny lets the issuer decide (ExchangeExternalToken).
const (
	ProofAny ProofKind = iota
	ProofJWT           // urn:ietf:params:oauth:token-type:jwt or id_token
	ProofAWS           // urn:ietf:params:aws:token-type:aws4_request
)

// Limits on a request, checked before anything is parsed.
const (
	MaxAudience = 256
	MaxIssuer   = 255
	MaxProof    = 64 << 10
)

// Request is one exchange.
type Request struct {
	Audience string
	Issuer   string
	Proof    secret.String // a JWT, or the JSON envelope of a signed request
	Kind     ProofKind
	// DryRun verifies and matches but records no single use and issues
	// nothing: the operator's explain. Values already used are still
	// refused (see SingleUse).
	DryRun bool
	// Account, if set, limits the candidates to one account's providers:
	// an operator explains only their own account's.
	Account string
}

// Identity is the external identity a proof established.
type Identity struct {
	Issuer  string
	Subject string // sub, or the caller's ARN
	JTI     string
	AWS     *AWSIdentity
}

// Result is a granted exchange, or, on a refusal, what was learned before
// it (for the audit log and explain).
type Result struct {
	Identity Identity
	Provider *Provider // the one that matched
	RoleARN  string
	Session  sts.AssumeRoleResult
	Trace    Trace
}

// Trace is how a request was decided, step by step: for the operator
// only, never for the caller.
type Trace []Step

// Step is one check.
type Step struct {
	Provider string `json:"provider,omitempty"` // account/name
	Check    string `json:"check"`
	Passed   bool   `json:"passed"`
	Detail   string `json:"detail,omitempty"`
}

// Code classifies a refusal; the edge maps it to RFC 8693's error codes.
type Code int

// Codes.
const (
	InvalidRequest Code = iota + 1 // invalid_request, 400
	InvalidTarget                  // invalid_target, 400: no provider serves the audience
	Unavailable                    // temporarily_unavailable, 503
)

// Error is a refusal. Reason is stable and secret-free, for the audit log.
type Error struct {
	Code   Code
	Reason string
	// Upstream is an upstream STS's error code, if it refused.
	Upstream string
	Cause    error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return "exchange refused (" + e.Reason + "): " + e.Cause.Error()
	}
	return "exchange refused (" + e.Reason + ")"
}

func (e *Error) Unwrap() error { return e.Cause }

func refuse(reason string) *Error { return &Error{Code: InvalidRequest, Reason: reason} }

type dryRunKey struct{}

// IsDryRun reports whether ctx belongs to an explain request, whose
// single-use checks must not record anything.
func IsDryRun(ctx context.Context) bool { return ctx.Value(dryRunKey{}) != nil }

// SingleUse is the exchange's single-use rule over a store: a value is
// recorded as used until a time; in an operator's dry run (explain)
// nothing is recorded, but a value already used is still refused.
// A used value is storage.ErrConflict in both modes.
func SingleUse(store storage.SingleUse, clock clock.Clock) func(ctx context.Context, key string, until time.Time) error {
	return func(ctx context.Context, key string, until time.Time) error {
		if !IsDryRun(ctx) {
			return store.UseOnce(ctx, key, until, clock.Now())
		}
		used, err := store.Used(ctx, key, clock.Now())
		switch {
		case err != nil:
			return err
		case used:
			return storage.ErrConflict
		}
		return nil
	}
}

// Exchange verifies req's proof, finds the one provider that admits it and
// issues that provider's role session.
func (s *Service) Exchange(ctx context.Context, req Request) (Result, error) {
	var res Result
	src := &proof{s: s, req: req, res: &res}
	if req.DryRun {
		ctx = context.WithValue(ctx, dryRunKey{}, true)
		_, err := src.Prove(ctx)
		return res, err
	}
	var err error
	res.Session, _, err = s.o.Sessions.AssumeRoleAs(ctx, src, sts.FederatedRequest{})
	if _, ours := errors.AsType[*Error](err); err != nil && !ours {
		if se, ok := errors.AsType[*sts.Error](err); ok && se.Code != sts.ServiceUnavailable {
			return res, &Error{Code: InvalidRequest, Reason: "session_" + se.Reason}
		}
		return res, &Error{Code: Unavailable, Reason: "session_issue_failed", Cause: err}
	}
	return res, err
}

// proof is a request's proof as an identity source: the AWS request or
// token verified, the one provider that admits it, its templates, and the
// single use. The identity provider declaration stands in for the role's
// trust policy. It fills in the result as it learns.
type proof struct {
	s   *Service
	req Request
	res *Result
}

// Prove verifies and matches the proof.
func (pr *proof) Prove(ctx context.Context) (*sts.Federated, error) {
	s, req, res := pr.s, pr.req, pr.res
	proof := req.Proof.Reveal()
	if proof == "" || len(proof) > MaxProof {
		return nil, refuse("proof_size")
	}
	if req.Issuer == "" && req.Kind == ProofJWT {
		// RFC 8693 names no issuer: the token's own iss selects the
		// candidates, and verification then requires it.
		if tok, err := idtoken.Parse(proof); err == nil {
			req.Issuer = tok.Issuer()
		}
	}
	if !printable(req.Audience, MaxAudience) || !printable(req.Issuer, MaxIssuer) {
		return nil, refuse("request_malformed")
	}
	candidates, err := s.candidates(req, &res.Trace)
	if err != nil {
		return nil, err
	}
	res.Identity.Issuer = req.Issuer
	isAWS := req.Issuer == AWSIssuer
	looksAWS := strings.HasPrefix(proof, "{")
	if (req.Kind == ProofAWS) != isAWS && req.Kind != ProofAny || looksAWS != isAWS {
		res.Trace.add("", "proof_kind", false, "the subject token type or shape does not fit the issuer")
		return nil, refuse("proof_kind_mismatch")
	}
	var (
		doc      Document
		subjects []string
		// verified reports, per account, whether its OIDC provider
		// verified the token (OIDC only; AWS proofs are account-free).
		verified func(account string) bool
		// notAfter is when the proof itself ends, if keyless can see it:
		// a token's exp, or the end of a session this deployment sealed.
		notAfter time.Time
		claims   *idtoken.Claims
		// signingInput identifies an OIDC token for single use: the
		// signature is left out, so re-encoding it (ECDSA's s and n-s)
		// does not make a new token.
		signingInput []byte
	)
	if isAWS {
		id, err := s.o.AWS.VerifyAWS(ctx, []byte(proof), req.Audience)
		if err != nil {
			res.Trace.add("", "aws_request", false, reasonOf(err))
			return nil, awsError(err)
		}
		res.Trace.add("", "aws_request", true, "upstream "+id.Endpoint+" answered "+id.ARN)
		res.Identity.Subject, res.Identity.AWS = id.ARN, &id
		doc = Document{"sub": id.ARN, "aws_claims": map[string]any{"account": id.Account, "arn": id.ARN, "userid": id.UserID, "endpoint": id.Endpoint}}
		subjects = AWSSubjects(id.ARN)
		verified = func(string) bool { return true }
		notAfter = id.NotAfter
	} else {
		tok, err := idtoken.Parse(proof)
		if err != nil {
			res.Trace.add("", "token", false, reasonOf(err))
			return nil, tokenError(err)
		}
		signingInput = tok.SigningInput()
		if tok.Issuer() != req.Issuer {
			res.Trace.add("", "token_issuer", false, "the token's iss is not issuer_uri")
			return nil, refuse("token_issuer_mismatch")
		}
		byAccount := map[string]*idtoken.Claims{}
		var lastErr error
		for _, p := range candidates {
			if _, done := byAccount[p.Account]; done {
				continue
			}
			c, err := s.verifyToken(ctx, tok, p.Account, req)
			byAccount[p.Account] = c
			if err != nil {
				lastErr = err
				res.Trace.add(p.Account, "token_signature_and_claims", false, reasonOf(err))
				continue
			}
			res.Trace.add(p.Account, "token_signature_and_claims", true, "")
			claims = c
		}
		if claims == nil {
			return nil, tokenError(lastErr)
		}
		doc, err = DecodeDocument(claims.JSON())
		if err != nil {
			return nil, refuse("claims_undecodable")
		}
		res.Identity.Subject = claims.Subject
		res.Identity.JTI, _ = claims.String("jti")
		subjects = []string{claims.Subject}
		notAfter = claims.Expiry
		verified = func(account string) bool { return byAccount[account] != nil }
	}

	var matched []*Provider
	for _, p := range candidates {
		if verified(p.Account) && s.match(p, res.Identity, subjects, doc, &res.Trace) {
			matched = append(matched, p)
		}
	}
	switch len(matched) {
	case 0:
		return nil, refuse("no_provider_matched")
	case 1:
	default:
		names := make([]string, len(matched))
		for i, p := range matched {
			names[i] = p.Account + "/" + p.Name
		}
		res.Trace.add("", "one_match", false, "several providers match: "+strings.Join(names, ", "))
		return nil, refuse("ambiguous_match")
	}
	p := matched[0]
	res.Provider = p
	res.RoleARN = s.roleARN(p)
	f, err := s.federated(p, res.RoleARN, doc, res.Identity, req.Audience)
	if err != nil {
		res.Trace.add(p.Account+"/"+p.Name, "session", false, err.Error())
		return nil, refuse("session_template")
	}
	if !notAfter.IsZero() {
		// The credentials never outlive the proof, as SAML's
		// SessionNotOnOrAfter caps AssumeRoleWithSAML: exchanging them
		// again cannot renew them (docs/token-exchange.md). RFC 8693
		// section 2.2.2: an unusable subject token is invalid_request.
		ended := &Error{Code: InvalidRequest, Reason: "proof_expired"}
		if !notAfter.After(s.o.Clock.Now()) {
			res.Trace.add(p.Account+"/"+p.Name, "proof_expiry", false, "the proof ended at "+notAfter.UTC().Format(time.RFC3339))
			return nil, ended
		}
		res.Trace.add(p.Account+"/"+p.Name, "proof_expiry", true, "the credentials end by "+notAfter.UTC().Format(time.RFC3339)+", with the proof")
		f.NotAfter, f.Ended = notAfter, ended
	}
	if !isAWS && !p.AllowTokenReuse {
		// Kept past exp by more than any leeway verification allows. A
		// dry run checks without recording (SingleUse), so that explain
		// reports a replayed token as the exchange would.
		err := s.o.UseOnce(ctx, tokenKey(req.Issuer, res.Identity.JTI, signingInput), notAfter.Add(maxLeeway+time.Minute))
		switch {
		case errors.Is(err, storage.ErrConflict):
			res.Trace.add(p.Account+"/"+p.Name, "single_use", false, "the token was exchanged before")
			return nil, &Error{Code: InvalidRequest, Reason: "token_replayed"}
		case err != nil:
			res.Trace.add(p.Account+"/"+p.Name, "single_use", false, "the single-use store failed")
			return nil, &Error{Code: Unavailable, Reason: "single_use_unavailable", Cause: err}
		}
		res.Trace.add(p.Account+"/"+p.Name, "single_use", true, "")
	}
	if req.DryRun {
		res.Trace.add(p.Account+"/"+p.Name, "grant", true, "would issue a session of "+res.RoleARN+" named "+f.SessionName)
	}
	return f, nil
}

// candidates are the providers for the request's issuer that serve its
// audience.
func (s *Service) candidates(req Request, trace *Trace) ([]*Provider, error) {
	byIssuer := s.byIssuer[req.Issuer]
	if len(byIssuer) == 0 {
		trace.add("", "issuer", false, "no identity provider has this issuer")
		return nil, refuse("issuer_unknown")
	}
	var out []*Provider
	for _, p := range byIssuer {
		if req.Account != "" && p.Account != req.Account {
			continue
		}
		if slices.Contains(p.Audiences, req.Audience) {
			out = append(out, p)
		} else {
			trace.add(p.Account+"/"+p.Name, "audience", false, "the provider does not serve this audience")
		}
	}
	if len(out) == 0 {
		return nil, &Error{Code: InvalidTarget, Reason: "audience_unknown"}
	}
	return out, nil
}

// verifyToken checks the token with the account's OIDC provider for the
// issuer; the token's aud must contain the exchange audience.
func (s *Service) verifyToken(ctx context.Context, tok *idtoken.Token, account string, req Request) (*idtoken.Claims, error) {
	op, ok := s.o.Directory.OIDCProvider(account, req.Issuer)
	if !ok {
		return nil, errors.New("no OIDC provider for the issuer in the account")
	}
	v := *op.Verification()
	v.ClientIDs = []string{req.Audience}
	v.AZPIsAudience = false
	return tok.Verify(ctx, &v, s.o.ProviderKeys(op), s.o.Clock.Now())
}

// match evaluates the provider's endpoints (AWS), subject pattern and
// claim conditions.
func (s *Service) match(p *Provider, id Identity, subjects []string, doc Document, trace *Trace) bool {
	name := p.Account + "/" + p.Name
	if a := id.AWS; a != nil && !trustsEndpoint(p, a) {
		trace.add(name, "endpoint", false, "the provider does not trust answers from "+quote(a.Endpoint))
		return false
	}
	subjectOK := slices.ContainsFunc(subjects, p.Subject.Match)
	if !subjectOK {
		trace.add(name, "subject", false, fmt.Sprintf("%s does not match %s", quote(subjects[0]), quote(p.Subject.String())))
		return false
	}
	trace.add(name, "subject", true, "")
	for _, c := range p.Conditions {
		if ok, why := c.Eval(doc); !ok {
			trace.add(name, "condition "+c.Claim, false, why)
			return false
		}
	}
	if len(p.Conditions) > 0 {
		trace.add(name, "conditions", true, "")
	}
	return true
}

// trustsEndpoint: an AWS identity counts only if it came from an endpoint
// the provider believes (public AWS unless it names others).
func trustsEndpoint(p *Provider, a *AWSIdentity) bool {
	if len(p.Endpoints) == 0 {
		return !a.Upstream
	}
	return slices.Contains(p.Endpoints, a.Endpoint)
}

// roleARN is the ARN of the role p grants, with its path.
func (s *Service) roleARN(p *Provider) string {
	if r, ok := s.o.Directory.Role(p.Account, p.Role); ok {
		return r.ARN()
	}
	return "arn:aws:iam::" + p.Account + ":role/" + p.Role // refused as missing when issued
}

// federated fills the provider's templates: the principal it proves and
// the session of roleARN it grants, the provider standing in for the
// role's trust policy.
func (s *Service) federated(p *Provider, roleARN string, doc Document, id Identity, audience string) (*sts.Federated, error) {
	name := id.Subject
	if p.SessionName != nil {
		v, err := p.SessionName.Execute(doc)
		if err != nil {
			return nil, fmt.Errorf("session_name: %w", err)
		}
		name = v
	}
	f := &sts.Federated{RoleARN: roleARN, Provider: p.ARN(), TrustDecided: true,
		SessionName: SessionName(name), Duration: p.Duration, Issuer: credential.IssuerWebIdentity}
	for _, t := range p.SessionTags {
		v, err := t.Value.Execute(doc)
		if err != nil {
			return nil, fmt.Errorf("session tag %s: %w", t.Key, err)
		}
		if !credential.ValidTag(t.Key, v) {
			return nil, fmt.Errorf("session tag %s: the value %s is not a valid tag value", t.Key, quote(v))
		}
		f.Tags = append(f.Tags, credential.Tag{Key: t.Key, Value: v, Transitive: slices.Contains(p.TransitiveTagKeys, t.Key)})
	}
	f.Federation = credential.Federation{Provider: p.ARN(), Subject: id.Subject, Audience: audience}
	if p.Kind == OIDC {
		if op, ok := s.o.Directory.OIDCProvider(p.Account, p.Issuer); ok {
			f.Federation.Provider = op.ARN()
		}
	}
	return f, nil
}

// maxLeeway is the most clock skew an OIDC provider may allow.
const maxLeeway = 5 * time.Minute

// tokenKey is a token's single-use key: its issuer and jti, or, without a
// jti, its signed header and claims.
func tokenKey(issuer, jti string, signingInput []byte) string {
	h := sha256.New()
	if jti != "" {
		h.Write([]byte("jti\x00" + issuer + "\x00" + jti))
	} else {
		h.Write([]byte("jws\x00"))
		h.Write(signingInput)
	}
	return "oidc:" + hex.EncodeToString(h.Sum(nil))
}

// awsError classifies a verifier's error.
func awsError(err error) error {
	e := &Error{Code: InvalidRequest, Reason: "aws_" + reasonOf(err), Cause: err}
	if u, ok := err.(interface{ Unavailable() bool }); ok && u.Unavailable() {
		e.Code = Unavailable
	}
	if u, ok := err.(interface{ Upstream() string }); ok {
		e.Upstream = u.Upstream()
	}
	return e
}

// tokenError classifies a token verification failure: only an identity
// provider that cannot be reached is worth a retry.
func tokenError(err error) error {
	if e, ok := errors.AsType[*idtoken.Error](err); ok && e.Kind == idtoken.Unavailable {
		return &Error{Code: Unavailable, Reason: "idp_unavailable", Cause: err}
	}
	return &Error{Code: InvalidRequest, Reason: tokenReason(reasonOf(err))}
}

// tokenReason prefixes an idtoken reason once ("token_expired", not
// "token_token_expired").
func tokenReason(r string) string {
	if strings.HasPrefix(r, "token_") {
		return r
	}
	return "token_" + r
}

func reasonOf(err error) string {
	if r, ok := err.(interface{ Reason() string }); ok {
		return r.Reason()
	}
	if e, ok := errors.AsType[*idtoken.Error](err); ok {
		return e.Reason
	}
	return "invalid"
}

func (t *Trace) add(provider, check string, passed bool, detail string) {
	*t = append(*t, Step{Provider: provider, Check: check, Passed: passed, Detail: detail})
}

// printable reports whether s is 1 to max bytes of printable ASCII.
func printable(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// quote bounds and escapes a value for a trace.
func quote(s string) string {
	if len(s) > 128 {
		s = s[:128] + "..."
	}
	return fmt.Sprintf("%q", s)
}
