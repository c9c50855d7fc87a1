package exchange_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/exchange"
	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/idtoken"
	"github.com/keyless-dev/keyless/internal/idtoken/idtokentest"
	"github.com/keyless-dev/keyless/internal/jwks"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/memory"
	"github.com/keyless-dev/keyless/internal/sts"
)

const (
	account  = "111122223333"
	ghIssuer = "https://token.actions.githubusercontent.com"
	audience = "keyless-test"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

// sessions records what the exchange asked for instead of sealing tokens.
type sessions struct{ got []*sts.Federated }

func (s *sessions) AssumeRoleAs(ctx context.Context, src sts.IdentitySource, _ sts.FederatedRequest) (sts.AssumeRoleResult, *sts.Federated, error) {
	f, err := src.Prove(ctx)
	if err != nil {
		return sts.AssumeRoleResult{}, f, err
	}
	s.got = append(s.got, f)
	return sts.AssumeRoleResult{AssumedRoleARN: "arn:aws:sts::" + account + ":assumed-role/" + f.RoleARN[strings.LastIndex(f.RoleARN, "/")+1:] + "/" + f.SessionName,
		Credentials: sts.Credentials{AccessKeyID: "ASIAEXAMPLE", Expiration: now.Add(time.Hour)}}, f, nil
}

// awsStub answers as an upstream STS would, or fails with err. With
// useOnce, it uses the envelope once first, as awsproof does.
type awsStub struct {
	id      exchange.AWSIdentity
	err     error
	calls   int
	useOnce func(ctx context.Context, key string, until time.Time) error
}

func (a *awsStub) VerifyAWS(ctx context.Context, envelope []byte, aud string) (exchange.AWSIdentity, error) {
	a.calls++
	if aud != audience || !strings.HasPrefix(string(envelope), "{") {
		return exchange.AWSIdentity{}, errors.New("stub: unexpected call")
	}
	if a.useOnce != nil {
		if err := a.useOnce(ctx, "aws-stub:"+string(envelope), now.Add(time.Hour)); errors.Is(err, storage.ErrConflict) {
			return exchange.AWSIdentity{}, verifierError{reason: "replayed"}
		} else if err != nil {
			return exchange.AWSIdentity{}, verifierError{reason: "replay_store_unavailable", down: true}
		}
	}
	return a.id, a.err
}

type verifierError struct {
	reason, upstream string
	down             bool
}

func (e verifierError) Error() string     { return e.reason }
func (e verifierError) Reason() string    { return e.reason }
func (e verifierError) Unavailable() bool { return e.down }
func (e verifierError) Upstream() string  { return e.upstream }

type fixture struct {
	providers []exchange.Provider
	dir       *iam.Directory
	svc       *exchange.Service
	sessions  *sessions
	aws       *awsStub
	signer    *idtokentest.Signer
	store     *memory.Store
}

func provider(t *testing.T, name, issuer, subject string, conds ...exchange.Condition) exchange.Provider {
	t.Helper()
	p, err := exchange.CompilePattern(subject)
	if err != nil {
		t.Fatal(err)
	}
	kind := exchange.OIDC
	if issuer == exchange.AWSIssuer {
		kind = exchange.AWS
	}
	return exchange.Provider{Account: account, Name: name, Issuer: issuer, Kind: kind, Subject: p,
		Audiences: []string{audience}, Conditions: conds, Role: "Deploy"}
}

func newFixture(t *testing.T, providers ...exchange.Provider) *fixture {
	t.Helper()
	dir, err := iam.NewDirectory(iam.Contents{
		Accounts:      []iam.Account{{ID: account}},
		OIDCProviders: []iam.OIDCProvider{{Account: account, URL: ghIssuer, MultiTenant: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{sessions: &sessions{}, aws: &awsStub{}, signer: idtokentest.NewRSA("k1"), store: memory.New(),
		providers: providers, dir: dir}
	f.svc = f.build(t, jwks.Static(mustKeys(t, f.signer)))
	return f
}

func (f *fixture) build(t *testing.T, keys idtoken.KeySource) *exchange.Service {
	t.Helper()
	c := clock.NewFake(now)
	return exchange.New(exchange.Options{
		Providers: f.providers, Directory: f.dir, ProviderKeys: func(*iam.OIDCProvider) idtoken.KeySource { return keys },
		AWS: f.aws, Sessions: f.sessions, Clock: c, UseOnce: exchange.SingleUse(f.store, c),
	})
}

// rebuild makes the fixture's service with another key set.
func rebuild(t *testing.T, f *fixture, keys []idtoken.Key) *exchange.Service {
	t.Helper()
	return f.build(t, jwks.Static(keys))
}

func mustKeys(t *testing.T, s *idtokentest.Signer) []idtoken.Key {
	keys, _, err := idtoken.ParseKeySet(idtokentest.JWKS(s))
	if err != nil || len(keys) != 1 {
		t.Fatalf("key set: %v", err)
	}
	return keys
}

// ghToken is a GitHub Actions token of octo-org/app's main branch.
func (f *fixture) ghToken(edit func(map[string]any)) string {
	claims := map[string]any{"iss": ghIssuer, "aud": audience, "sub": "repo:octo-org/app:ref:refs/heads/main",
		"repository": "octo-org/app", "repository_owner": "octo-org", "run_id": "4242", "jti": "j-1",
		"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"nested": map[string]any{"team": "deploy"}}
	if edit != nil {
		edit(claims)
	}
	return f.signer.Sign(claims)
}

func request(proof string) exchange.Request {
	return exchange.Request{Audience: audience, Issuer: ghIssuer, Proof: secret.NewString(proof)}
}

func code(t *testing.T, err error) (exchange.Code, string) {
	t.Helper()
	e, ok := errors.AsType[*exchange.Error](err)
	if !ok {
		t.Fatalf("error %v is not an *exchange.Error", err)
	}
	return e.Code, e.Reason
}

func mustCondition(t *testing.T, claim string, op exchange.Operator, values ...string) exchange.Condition {
	t.Helper()
	c, err := exchange.NewCondition(claim, op, values)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestExchangeOIDC(t *testing.T) {
	p := provider(t, "main", ghIssuer, "repo:octo-org/app:ref:refs/heads/*", mustCondition(t, "nested.team", exchange.Equals, "deploy"))
	name, err := exchange.CompileTemplate("gha-{{ run_id }}")
	if err != nil {
		t.Fatal(err)
	}
	tag, err := exchange.CompileTemplate("{{repository}}")
	if err != nil {
		t.Fatal(err)
	}
	p.SessionName, p.SessionTags, p.TransitiveTagKeys = &name, []exchange.TagTemplate{{Key: "repo", Value: tag}}, []string{"repo"}
	f := newFixture(t, p)
	res, err := f.svc.Exchange(context.Background(), request(f.ghToken(nil)))
	if err != nil {
		t.Fatalf("Exchange: %v (trace %+v)", err, res.Trace)
	}
	if len(f.sessions.got) != 1 {
		t.Fatalf("%d sessions issued, want 1", len(f.sessions.got))
	}
	got := f.sessions.got[0]
	if got.RoleARN != "arn:aws:iam::"+account+":role/Deploy" || !got.TrustDecided || got.SessionName != "gha-4242" {
		t.Errorf("session request %+v", got)
	}
	if len(got.Tags) != 1 || got.Tags[0].Key != "repo" || got.Tags[0].Value != "octo-org/app" || !got.Tags[0].Transitive {
		t.Errorf("tags %+v", got.Tags)
	}
	if got.Federation.Provider != "arn:aws:iam::"+account+":oidc-provider/token.actions.githubusercontent.com" ||
		got.Federation.Subject != "repo:octo-org/app:ref:refs/heads/main" || got.Federation.Audience != audience {
		t.Errorf("federation %+v", got.Federation)
	}
	if res.Provider.Name != "main" || res.Identity.JTI != "j-1" || res.RoleARN != "arn:aws:iam::"+account+":role/Deploy" {
		t.Errorf("result %+v", res)
	}
	// The credentials never outlive the token (docs/token-exchange.md).
	if !got.NotAfter.Equal(now.Add(5 * time.Minute)) {
		t.Errorf("NotAfter %v, want the token's exp", got.NotAfter)
	}

	// The same token again: single use (security.md JWT-29).
	_, err = f.svc.Exchange(context.Background(), request(f.ghToken(nil)))
	if c, reason := code(t, err); c != exchange.InvalidRequest || reason != "token_replayed" {
		t.Errorf("replay: %v %s", c, reason)
	}
	// RFC 8693 requests name no issuer: the token's iss is used.
	req := request(f.ghToken(func(m map[string]any) { m["jti"] = "j-2" }))
	req.Issuer, req.Kind = "", exchange.ProofJWT
	if _, err := f.svc.Exchange(context.Background(), req); err != nil {
		t.Errorf("issuer from the token: %v", err)
	}
}

func TestExchangeOIDCRefusals(t *testing.T) {
	main := provider(t, "main", ghIssuer, "repo:octo-org/app:ref:refs/heads/main", mustCondition(t, "repository_owner", exchange.Equals, "octo-org"))
	for _, tc := range []struct {
		name   string
		edit   func(*exchange.Request, *fixture)
		code   exchange.Code
		reason string
	}{
		{"unknown issuer", func(r *exchange.Request, _ *fixture) { r.Issuer = "https://gitlab.com" }, exchange.InvalidRequest, "issuer_unknown"},
		{"audience not served", func(r *exchange.Request, _ *fixture) { r.Audience = "other" }, exchange.InvalidTarget, "audience_unknown"},
		{"token for another audience", func(r *exchange.Request, f *fixture) {
			r.Proof = secret.NewString(f.ghToken(func(m map[string]any) { m["aud"] = "sts.amazonaws.com" }))
		}, exchange.InvalidRequest, "token_aud_not_client"},
		{"subject of another branch", func(r *exchange.Request, f *fixture) {
			r.Proof = secret.NewString(f.ghToken(func(m map[string]any) { m["sub"] = "repo:octo-org/app:ref:refs/heads/main-evil" }))
		}, exchange.InvalidRequest, "no_provider_matched"},
		{"condition fails", func(r *exchange.Request, f *fixture) {
			r.Proof = secret.NewString(f.ghToken(func(m map[string]any) { m["repository_owner"] = "evil-org" }))
		}, exchange.InvalidRequest, "no_provider_matched"},
		{"expired", func(r *exchange.Request, f *fixture) {
			r.Proof = secret.NewString(f.ghToken(func(m map[string]any) { m["exp"] = now.Add(-time.Hour).Unix() }))
		}, exchange.InvalidRequest, "token_expired"},
		{"forged", func(r *exchange.Request, f *fixture) {
			r.Proof = secret.NewString(idtokentest.NewRSA("k1").Sign(map[string]any{"iss": ghIssuer, "aud": audience,
				"sub": "repo:octo-org/app:ref:refs/heads/main", "exp": now.Add(time.Minute).Unix(), "iat": now.Unix()}))
		}, exchange.InvalidRequest, "token_signature_invalid"},
		{"token issuer is not issuer_uri", func(r *exchange.Request, f *fixture) {
			r.Proof = secret.NewString(f.ghToken(func(m map[string]any) { m["iss"] = "https://evil.example" }))
		}, exchange.InvalidRequest, "token_issuer_mismatch"},
		{"JWT declared as an AWS request", func(r *exchange.Request, _ *fixture) { r.Kind = exchange.ProofAWS }, exchange.InvalidRequest, "proof_kind_mismatch"},
		// Issuers match exactly: what the client sent is never
		// normalised to meet the configuration.
		{"issuer_uri with a trailing slash", func(r *exchange.Request, _ *fixture) { r.Issuer = ghIssuer + "/" }, exchange.InvalidRequest, "issuer_unknown"},
		{"issuer_uri in upper case", func(r *exchange.Request, _ *fixture) { r.Issuer = strings.ToUpper(ghIssuer) }, exchange.InvalidRequest, "issuer_unknown"},
		{"issuer_uri with a case-changed host", func(r *exchange.Request, _ *fixture) {
			r.Issuer = "https://Token.actions.githubusercontent.com"
		}, exchange.InvalidRequest, "issuer_unknown"},
		{"issuer_uri with a trailing dot", func(r *exchange.Request, _ *fixture) {
			r.Issuer = "https://token.actions.githubusercontent.com."
		}, exchange.InvalidRequest, "issuer_unknown"},
		{"issuer_uri with the default port", func(r *exchange.Request, _ *fixture) {
			r.Issuer = "https://token.actions.githubusercontent.com:443"
		}, exchange.InvalidRequest, "issuer_unknown"},
		{"token iss with a trailing slash", func(r *exchange.Request, f *fixture) {
			r.Proof = secret.NewString(f.ghToken(func(m map[string]any) { m["iss"] = ghIssuer + "/" }))
		}, exchange.InvalidRequest, "token_issuer_mismatch"},
		{"token iss case-changed", func(r *exchange.Request, f *fixture) {
			r.Proof = secret.NewString(f.ghToken(func(m map[string]any) { m["iss"] = "https://Token.actions.githubusercontent.com" }))
		}, exchange.InvalidRequest, "token_issuer_mismatch"},
		{"RFC 8693: token iss with a trailing slash", func(r *exchange.Request, f *fixture) {
			r.Issuer, r.Kind = "", exchange.ProofJWT
			r.Proof = secret.NewString(f.ghToken(func(m map[string]any) { m["iss"] = ghIssuer + "/" }))
		}, exchange.InvalidRequest, "issuer_unknown"},
		{"RFC 8693: token iss case-changed", func(r *exchange.Request, f *fixture) {
			r.Issuer, r.Kind = "", exchange.ProofJWT
			r.Proof = secret.NewString(f.ghToken(func(m map[string]any) { m["iss"] = strings.ToUpper(ghIssuer) }))
		}, exchange.InvalidRequest, "issuer_unknown"},
		{"empty proof", func(r *exchange.Request, _ *fixture) { r.Proof = secret.NewString("") }, exchange.InvalidRequest, "proof_size"},
		{"oversized proof", func(r *exchange.Request, _ *fixture) {
			r.Proof = secret.NewString(strings.Repeat("a", exchange.MaxProof+1))
		}, exchange.InvalidRequest, "proof_size"},
		{"audience with a control character", func(r *exchange.Request, _ *fixture) { r.Audience = audience + "\n" }, exchange.InvalidRequest, "request_malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, main)
			req := request(f.ghToken(nil))
			tc.edit(&req, f)
			res, err := f.svc.Exchange(context.Background(), req)
			c, reason := code(t, err)
			if c != tc.code || reason != tc.reason {
				t.Errorf("got %v %q, want %v %q (trace %+v)", c, reason, tc.code, tc.reason, res.Trace)
			}
			if len(f.sessions.got) != 0 {
				t.Errorf("a session was issued")
			}
		})
	}
}

func TestExchangeAmbiguousAndDryRun(t *testing.T) {
	a := provider(t, "a", ghIssuer, "repo:octo-org/app:**")
	b := provider(t, "b", ghIssuer, "repo:octo-org/app:ref:refs/heads/main")
	f := newFixture(t, a, b)
	res, err := f.svc.Exchange(context.Background(), request(f.ghToken(nil)))
	if c, reason := code(t, err); c != exchange.InvalidRequest || reason != "ambiguous_match" {
		t.Fatalf("got %v %q", c, reason)
	}
	last := res.Trace[len(res.Trace)-1]
	if last.Check != "one_match" || !strings.Contains(last.Detail, account+"/a") || !strings.Contains(last.Detail, account+"/b") {
		t.Errorf("trace does not name both providers: %+v", last)
	}

	f = newFixture(t, b)
	req := request(f.ghToken(nil))
	req.DryRun = true
	for range 2 { // a dry run records no single use
		res, err := f.svc.Exchange(context.Background(), req)
		if err != nil || res.Provider == nil || res.Provider.Name != "b" {
			t.Fatalf("dry run: %v %+v", err, res)
		}
		if !hasStep(res.Trace, "single_use", true) || !hasStep(res.Trace, "grant", true) {
			t.Errorf("dry run trace %+v, want single_use and grant passed", res.Trace)
		}
	}
	if len(f.sessions.got) != 0 {
		t.Fatal("a dry run issued a session")
	}
	req.DryRun = false
	if _, err := f.svc.Exchange(context.Background(), req); err != nil {
		t.Fatalf("the real exchange after dry runs: %v", err)
	}

	// Explaining the exchanged token tells the truth: a replay (JWT-29),
	// still without recording or issuing anything.
	req.DryRun = true
	for range 2 {
		res, err := f.svc.Exchange(context.Background(), req)
		if c, reason := code(t, err); c != exchange.InvalidRequest || reason != "token_replayed" {
			t.Errorf("dry run of an exchanged token: %v %q", c, reason)
		}
		if !hasStep(res.Trace, "single_use", false) || hasStep(res.Trace, "grant", true) {
			t.Errorf("dry run trace %+v, want single_use failed and no grant", res.Trace)
		}
	}
	if len(f.sessions.got) != 1 {
		t.Errorf("%d sessions issued, want 1", len(f.sessions.got))
	}
}

// A dry run's check of a used AWS request reaches the verifier with the
// dry run's context: the verifier's single use (awsproof's UseOnce option)
// refuses it as a replay, and an unused one is not recorded.
func TestExchangeAWSDryRunSingleUse(t *testing.T) {
	f := newFixture(t, provider(t, "deployers", exchange.AWSIssuer, "arn:aws:iam::123456789012:role/Deployer"))
	f.aws.id = exchange.AWSIdentity{ARN: "arn:aws:sts::123456789012:assumed-role/Deployer/ci", Account: "123456789012",
		UserID: "AROAEXAMPLE:ci", Endpoint: "sts.amazonaws.com"}
	f.aws.useOnce = exchange.SingleUse(f.store, clock.NewFake(now))
	req := exchange.Request{Audience: audience, Issuer: exchange.AWSIssuer, Proof: secret.NewString(`{"signed":1}`), Kind: exchange.ProofAWS}

	req.DryRun = true
	if res, err := f.svc.Exchange(context.Background(), req); err != nil || !hasStep(res.Trace, "grant", true) {
		t.Fatalf("dry run of a new request: %v %+v", err, res.Trace)
	}
	req.DryRun = false
	if _, err := f.svc.Exchange(context.Background(), req); err != nil {
		t.Fatalf("the exchange after a dry run: %v", err)
	}
	req.DryRun = true
	res, err := f.svc.Exchange(context.Background(), req)
	if _, reason := code(t, err); reason != "aws_replayed" || !hasStep(res.Trace, "aws_request", false) {
		t.Errorf("dry run of an exchanged request: %q, trace %+v", reason, res.Trace)
	}
	req.DryRun = false
	if _, err := f.svc.Exchange(context.Background(), req); err == nil {
		t.Error("the exchanged request was accepted again")
	}
	if len(f.sessions.got) != 1 {
		t.Errorf("%d sessions issued, want 1", len(f.sessions.got))
	}
}

func hasStep(trace exchange.Trace, check string, passed bool) bool {
	for _, s := range trace {
		if s.Check == check && s.Passed == passed {
			return true
		}
	}
	return false
}

// A token without jti is single-use by its signed header and claims: an
// ECDSA signature made again over the same claims (or re-encoded as n-s)
// is the same token.
func TestExchangeTokenWithoutJTI(t *testing.T) {
	f := newFixture(t, provider(t, "main", ghIssuer, "repo:octo-org/app:ref:refs/heads/main"))
	ec := idtokentest.NewEC("e1")
	keys := append(mustKeys(t, f.signer), mustKeys(t, ec)...)
	f.svc = rebuild(t, f, keys)
	claims := map[string]any{"iss": ghIssuer, "aud": audience, "sub": "repo:octo-org/app:ref:refs/heads/main",
		"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(5 * time.Minute).Unix()}
	first, second := ec.Sign(claims), ec.Sign(claims)
	if first == second {
		t.Fatal("ECDSA signed the same claims twice to the same token")
	}
	if _, err := f.svc.Exchange(context.Background(), request(first)); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.Exchange(context.Background(), request(second))
	if _, reason := code(t, err); reason != "token_replayed" {
		t.Errorf("same claims, new signature: %q", reason)
	}
}

// A single-use store that fails is an outage, not a replay.
func TestExchangeSingleUseStoreDown(t *testing.T) {
	f := newFixture(t, provider(t, "main", ghIssuer, "repo:octo-org/app:ref:refs/heads/main"))
	f.store.Close()
	_, err := f.svc.Exchange(context.Background(), request(f.ghToken(nil)))
	if c, reason := code(t, err); c != exchange.Unavailable || reason != "single_use_unavailable" || len(f.sessions.got) != 0 {
		t.Errorf("got %v %q, %d sessions", c, reason, len(f.sessions.got))
	}
}

// Explain for one account sees only that account's providers.
func TestExchangeAccountScope(t *testing.T) {
	mine := provider(t, "main", ghIssuer, "repo:octo-org/app:ref:refs/heads/main")
	theirs := provider(t, "theirs", ghIssuer, "repo:octo-org/app:ref:refs/heads/main")
	theirs.Account = "444455556666"
	f := newFixture(t, mine, theirs)
	req := request(f.ghToken(nil))
	req.DryRun, req.Account = true, account
	res, err := f.svc.Exchange(context.Background(), req)
	if err != nil || res.Provider.Name != "main" {
		t.Fatalf("%v %+v", err, res)
	}
	for _, st := range res.Trace {
		if strings.Contains(st.Provider, "444455556666") || strings.Contains(st.Detail, "444455556666") {
			t.Errorf("the trace shows another account: %+v", st)
		}
	}
}

func TestExchangeTokenReuse(t *testing.T) {
	p := provider(t, "k8s", ghIssuer, "repo:octo-org/app:ref:refs/heads/main")
	p.AllowTokenReuse = true
	f := newFixture(t, p)
	tok := f.ghToken(nil)
	for i := range 3 {
		if _, err := f.svc.Exchange(context.Background(), request(tok)); err != nil {
			t.Fatalf("exchange %d with allow_token_reuse: %v", i, err)
		}
	}
}

func TestExchangeAWS(t *testing.T) {
	role := provider(t, "deployers", exchange.AWSIssuer, "arn:aws:iam::123456789012:role/Deployer")
	tag, _ := exchange.CompileTemplate("{{ aws_claims.account }}")
	role.SessionTags = []exchange.TagTemplate{{Key: "source-account", Value: tag}}
	user := provider(t, "alice", exchange.AWSIssuer, "arn:aws:iam::123456789012:user/alice")
	id := exchange.AWSIdentity{ARN: "arn:aws:sts::123456789012:assumed-role/Deployer/ci-run", Account: "123456789012",
		UserID: "AROAEXAMPLE:ci-run", AccessKeyID: "ASIAUPSTREAM", Endpoint: "sts.amazonaws.com"}
	envelope := secret.NewString(`{"url":"https://sts.amazonaws.com/"}`)
	req := exchange.Request{Audience: audience, Issuer: exchange.AWSIssuer, Proof: envelope, Kind: exchange.ProofAWS}

	f := newFixture(t, role, user)
	f.aws.id = id
	res, err := f.svc.Exchange(context.Background(), req)
	if err != nil {
		t.Fatalf("Exchange: %v (trace %+v)", err, res.Trace)
	}
	got := f.sessions.got[0]
	if res.Provider.Name != "deployers" || got.SessionName != "arn-aws-sts--123456789012-assumed-role-Deployer-ci-run" ||
		got.Tags[0].Value != "123456789012" || got.Federation.Provider != role.ARN() || got.Federation.Subject != id.ARN {
		t.Errorf("result %+v, session %+v", res, got)
	}
	if res.Identity.AWS == nil || res.Identity.AWS.AccessKeyID != "ASIAUPSTREAM" {
		t.Errorf("identity %+v", res.Identity)
	}
	if !got.NotAfter.IsZero() || hasStep(res.Trace, "proof_expiry", true) {
		t.Errorf("a session whose end keyless cannot see is capped: %v", got.NotAfter)
	}

	// A session this deployment sealed (the verifier opened its token):
	// the credentials end with it, and one that has ended is refused.
	f = newFixture(t, role)
	f.aws.id = id
	f.aws.id.NotAfter = now.Add(10 * time.Minute)
	res, err = f.svc.Exchange(context.Background(), req)
	if err != nil || len(f.sessions.got) != 1 {
		t.Fatalf("Exchange: %v", err)
	}
	if got := f.sessions.got[0]; !got.NotAfter.Equal(f.aws.id.NotAfter) || !hasStep(res.Trace, "proof_expiry", true) {
		t.Errorf("NotAfter %v, want the session's end %v (trace %+v)", got.NotAfter, f.aws.id.NotAfter, res.Trace)
	} else if _, reason := code(t, got.Ended); reason != "proof_expired" {
		t.Errorf("Ended: %q", reason)
	}
	f.aws.id.NotAfter = now
	res, err = f.svc.Exchange(context.Background(), req)
	if c, reason := code(t, err); c != exchange.InvalidRequest || reason != "proof_expired" || len(f.sessions.got) != 1 || !hasStep(res.Trace, "proof_expiry", false) {
		t.Errorf("an ended session: %v %q, %d sessions, trace %+v", c, reason, len(f.sessions.got), res.Trace)
	}

	// An identity vouched for by a configured upstream (another keyless,
	// moto) is not believed by a provider that does not name it: anyone
	// can make any ARN there.
	f = newFixture(t, role, user)
	f.aws.id = id
	f.aws.id.Upstream, f.aws.id.Endpoint = true, "127.0.0.1:9000"
	res, err = f.svc.Exchange(context.Background(), req)
	if _, reason := code(t, err); reason != "no_provider_matched" || res.Trace[len(res.Trace)-1].Check != "endpoint" {
		t.Errorf("upstream identity for a public-AWS provider: %q, trace %+v", reason, res.Trace)
	}
	pinned := role
	pinned.Endpoints = []string{"127.0.0.1:9000"}
	f = newFixture(t, pinned)
	f.aws.id = id
	f.aws.id.Upstream, f.aws.id.Endpoint = true, "127.0.0.1:9000"
	if _, err := f.svc.Exchange(context.Background(), req); err != nil {
		t.Errorf("provider naming the upstream: %v", err)
	}
	f.aws.id.Upstream, f.aws.id.Endpoint = false, "sts.amazonaws.com"
	if _, err := f.svc.Exchange(context.Background(), req); err == nil {
		t.Error("a provider pinned to an upstream believed public AWS")
	}

	// Another account's role of the same name (security.md V-03).
	f = newFixture(t, role, user)
	f.aws.id = id
	f.aws.id.ARN, f.aws.id.Account = "arn:aws:sts::210987654321:assumed-role/Deployer/ci-run", "210987654321"
	_, err = f.svc.Exchange(context.Background(), req)
	if _, reason := code(t, err); reason != "no_provider_matched" {
		t.Errorf("other account: %q", reason)
	}

	for _, tc := range []struct {
		name     string
		err      error
		code     exchange.Code
		upstream string
	}{
		{"upstream refused", verifierError{reason: "upstream_refused", upstream: "SignatureDoesNotMatch"}, exchange.InvalidRequest, "SignatureDoesNotMatch"},
		{"upstream down", verifierError{reason: "upstream_unavailable", down: true}, exchange.Unavailable, ""},
	} {
		f := newFixture(t, role)
		f.aws.err = tc.err
		_, err := f.svc.Exchange(context.Background(), req)
		e, ok := errors.AsType[*exchange.Error](err)
		if !ok || e.Code != tc.code || e.Upstream != tc.upstream || e.Reason != "aws_"+tc.err.(verifierError).reason {
			t.Errorf("%s: %+v", tc.name, err)
		}
	}

	// The AWS issuer matches exactly too (no trailing slash, case or
	// port folded away), before the verifier is asked.
	for _, issuer := range []string{exchange.AWSIssuer + "/", "https://STS.AMAZONAWS.COM", "https://sts.amazonaws.com.", "https://sts.amazonaws.com:443", "HTTPS://sts.amazonaws.com"} {
		f = newFixture(t, role)
		f.aws.id = id
		_, err = f.svc.Exchange(context.Background(), exchange.Request{Audience: audience, Issuer: issuer, Proof: envelope, Kind: exchange.ProofAWS})
		if _, reason := code(t, err); reason != "issuer_unknown" || f.aws.calls != 0 {
			t.Errorf("issuer %q: %q, %d verifier calls", issuer, reason, f.aws.calls)
		}
	}

	// A JWT sent with the AWS issuer never reaches the verifier.
	f = newFixture(t, role)
	_, err = f.svc.Exchange(context.Background(), exchange.Request{Audience: audience, Issuer: exchange.AWSIssuer, Proof: secret.NewString(f.ghToken(nil))})
	if _, reason := code(t, err); reason != "proof_kind_mismatch" || f.aws.calls != 0 {
		t.Errorf("JWT as AWS proof: %q, %d verifier calls", reason, f.aws.calls)
	}
}

var _ storage.SingleUse = (*memory.Store)(nil)
