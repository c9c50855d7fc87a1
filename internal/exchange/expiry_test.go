package exchange_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/keyless-dev/keyless/internal/authmsg"
	"github.com/keyless-dev/keyless/internal/awsproof"
	"github.com/keyless-dev/keyless/internal/awsproof/awsprooftest"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/credential"
	"github.com/keyless-dev/keyless/internal/exchange"
	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/idtoken"
	"github.com/keyless-dev/keyless/internal/idtoken/idtokentest"
	"github.com/keyless-dev/keyless/internal/jwks"
	"github.com/keyless-dev/keyless/internal/kek"
	"github.com/keyless-dev/keyless/internal/keyring"
	"github.com/keyless-dev/keyless/internal/policy"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/sigv4"
	"github.com/keyless-dev/keyless/internal/storage/memory"
	"github.com/keyless-dev/keyless/internal/sts"
)

// The exchange of what keyless itself issued, end to end in process: the
// real sts.Service issues and opens sessions, and also answers, as the
// upstream STS, the GetCallerIdentity a session signs (a deployment whose
// exchange.aws.upstreams names its own URL). The exchange must never hand
// out credentials that outlive the proof.

const (
	aliceKey    = "AKIAIOSFODNN7EXAMPLE"
	aliceSecret = "alice-secret-0123456789"
	aliceARN    = "arn:aws:iam::" + account + ":user/alice"
	workload    = "arn:aws:iam::" + account + ":role/Workload"
)

// self is one keyless: its STS, its exchange, and its STS's address as the
// exchange's upstream.
type self struct {
	clock  *clock.Fake
	sts    *sts.Service
	ex     *exchange.Service
	host   string
	signer *idtokentest.Signer
	nonce  int
}

func newSelf(t *testing.T) *self {
	t.Helper()
	ctx := context.Background()
	c := clock.NewFake(now)
	store := memory.New()
	key, err := kek.Ephemeral(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := keyring.Open(ctx, keyring.Options{Store: store, KEK: key, Clock: c, Random: rand.Reader,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Retain: 37 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	alice := iam.Principal{Type: iam.User, Account: account, Name: "alice", Path: "/", UniqueID: "AIDAALICEALICEALICE01"}
	trust, err := policy.Parse(policy.Trust, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"`+aliceARN+`"},"Action":"sts:AssumeRole"}}`)
	if err != nil {
		t.Fatal(err)
	}
	trust = trust.BindPrincipals(func(p string) (string, bool) { return alice.UniqueID, p == aliceARN })
	dir, err := iam.NewDirectory(iam.Contents{
		Accounts:      []iam.Account{{ID: account}},
		Users:         []iam.UserInfo{{Principal: alice}},
		AccessKeys:    []iam.AccessKey{{ID: aliceKey, Secret: secret.NewString(aliceSecret), Active: true, Owner: alice}},
		Roles:         []iam.RoleInfo{{Account: account, Name: "Workload", Path: "/", UniqueID: "AROAWORKLOADWORKLOAD1", Trust: trust, MaxSessionDuration: 12 * time.Hour}},
		OIDCProviders: []iam.OIDCProvider{{Account: account, URL: ghIssuer, MultiTenant: true}},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := &self{clock: c, signer: idtokentest.NewRSA("k1")}
	keys := jwks.Static(mustKeys(t, s.signer))
	providerKeys := func(*iam.OIDCProvider) idtoken.KeySource { return keys }
	tokens := credential.NewTokenSealer(ring, "test", rand.Reader)
	s.sts = sts.New(sts.Options{Directory: dir, Tokens: tokens, Messages: authmsg.NewMessageSealer(ring, rand.Reader),
		Clock: c, ProviderKeys: providerKeys})

	upstream := httptest.NewServer(http.HandlerFunc(s.getCallerIdentity))
	t.Cleanup(upstream.Close)
	s.host = strings.TrimPrefix(upstream.URL, "http://")
	useOnce := exchange.SingleUse(store, c)
	verifier, err := awsproof.New(awsproof.Options{
		Upstreams: []awsproof.Upstream{{URL: upstream.URL, Region: "us-east-1", AllowHTTPLoopback: true}},
		UseOnce:   useOnce, Clock: c, Sessions: tokens,
	})
	if err != nil {
		t.Fatal(err)
	}
	sessionName, err := exchange.CompileTemplate("exchanged")
	if err != nil {
		t.Fatal(err)
	}
	sessions := provider(t, "sessions", exchange.AWSIssuer, "arn:aws:sts::"+account+":assumed-role/Workload/*")
	users := provider(t, "users", exchange.AWSIssuer, aliceARN)
	gh := provider(t, "gh", ghIssuer, "repo:octo-org/app:ref:refs/heads/main")
	for _, p := range []*exchange.Provider{&sessions, &users, &gh} {
		p.Role, p.SessionName = "Workload", &sessionName
	}
	sessions.Endpoints, users.Endpoints = []string{s.host}, []string{s.host}
	s.ex = exchange.New(exchange.Options{Providers: []exchange.Provider{sessions, users, gh}, Directory: dir, ProviderKeys: providerKeys,
		AWS: verifier, Sessions: s.sts, UseOnce: useOnce, Clock: c})
	return s
}

// getCallerIdentity answers as keyless's GetCallerIdentity does: the
// signature checked with the key's secret, an ended session refused.
func (s *self) getCallerIdentity(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "text/xml")
	a, err := sigv4.ParseAuthorization(r.Header.Get("Authorization"))
	var sc sts.SigningCredentials
	if err == nil {
		sc, err = s.sts.LookupCredentials(r.Context(), a.AccessKeyID, r.Header.Get("X-Amz-Security-Token"))
	}
	if err == nil && !awsprooftest.Resigned(r, body, "http", func(string) (string, bool) { return sc.Secret.Reveal(), true }) {
		err = fmt.Errorf("signature")
	}
	if err == nil {
		err = s.sts.CheckCaller(sc.Caller)
	}
	if err != nil {
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>ExpiredToken</Code><Message>refused</Message></Error><RequestId>r</RequestId></ErrorResponse>`)
		return
	}
	id := s.sts.GetCallerIdentity(r.Context(), sc.Caller)
	io.WriteString(w, awsprooftest.IdentityXML(id.ARN, id.UserID, id.Account))
}

// exchangeAWS signs a GetCallerIdentity with c for keyless's own STS and
// exchanges it.
func (s *self) exchangeAWS(t *testing.T, c sts.Credentials) (exchange.Result, error) {
	t.Helper()
	s.nonce++
	e, err := awsprooftest.Sign(awsprooftest.SignSpec{Endpoint: "http://" + s.host,
		Headers:     map[string]string{awsproof.AudienceHeader: audience, awsproof.NonceHeader: fmt.Sprintf("n%d", s.nonce)},
		Credentials: aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.Secret.Reveal(), SessionToken: c.SessionToken.Reveal()},
		At:          s.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return s.ex.Exchange(context.Background(), exchange.Request{Audience: audience, Issuer: exchange.AWSIssuer,
		Proof: secret.NewString(string(e.Bytes())), Kind: exchange.ProofAWS})
}

func (s *self) mustExchangeAWS(t *testing.T, name string, c sts.Credentials) sts.Credentials {
	t.Helper()
	res, err := s.exchangeAWS(t, c)
	if err != nil {
		t.Fatalf("%s: %v (trace %+v)", name, err, res.Trace)
	}
	return res.Session.Credentials
}

// TestExchangeNeverOutlivesKeylessSession: a session of this deployment,
// exchanged through a GetCallerIdentity keyless itself answers, gives
// credentials that end with it; exchanging those again never moves the
// end forward, and once the first session ends the whole line is dead.
func TestExchangeNeverOutlivesKeylessSession(t *testing.T) {
	s := newSelf(t)
	alice, err := s.sts.LookupCredentials(context.Background(), aliceKey, "")
	if err != nil {
		t.Fatal(err)
	}
	src, err := s.sts.AssumeRole(context.Background(), alice.Caller, sts.AssumeRoleRequest{RoleARN: workload, SessionName: "src", Duration: 15 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	end := src.Credentials.Expiration

	s.clock.Advance(5 * time.Minute) // 10 minutes left; the provider grants an hour
	got := s.mustExchangeAWS(t, "the session with 10 minutes left", src.Credentials)
	if got.Expiration.After(end) {
		t.Fatalf("the exchanged credentials expire at %v, after the session that proved them (%v)", got.Expiration, end)
	}
	if !got.Expiration.Equal(end) {
		t.Errorf("the exchanged credentials expire at %v, want the session's end %v", got.Expiration, end)
	}
	for i := range 3 {
		s.clock.Advance(time.Minute)
		next := s.mustExchangeAWS(t, fmt.Sprintf("re-exchange %d", i+1), got)
		if next.Expiration.After(got.Expiration) {
			t.Fatalf("re-exchange %d moved the end forward: %v after %v", i+1, next.Expiration, got.Expiration)
		}
		got = next
	}

	// The first session's end is the end of everything exchanged from it.
	s.clock.Set(end)
	res, err := s.exchangeAWS(t, got)
	if _, reason := code(t, err); reason != "aws_upstream_refused" || res.Session.Credentials.AccessKeyID != "" {
		t.Errorf("exchange after the end: %q, issued %q", reason, res.Session.Credentials.AccessKeyID)
	}

	// A long-term key has no end to cap at: the provider's hour.
	key := sts.Credentials{AccessKeyID: aliceKey, Secret: secret.NewString(aliceSecret)}
	got = s.mustExchangeAWS(t, "alice's long-term key", key)
	if want := s.clock.Now().Truncate(time.Second).Add(time.Hour); !got.Expiration.Equal(want) {
		t.Errorf("exchanged with a long-term key: expires %v, want %v", got.Expiration, want)
	}
}

// TestExchangeJWTCappedAtExp: an OIDC token's exp caps the credentials;
// a token past its exp but within the leeway is refused (nothing is left
// to issue), and explain says why.
func TestExchangeJWTCappedAtExp(t *testing.T) {
	s := newSelf(t)
	token := func(jti string, exp time.Time) exchange.Request {
		return request(s.signer.Sign(map[string]any{"iss": ghIssuer, "aud": audience, "sub": "repo:octo-org/app:ref:refs/heads/main",
			"jti": jti, "iat": now.Add(-time.Hour).Unix(), "exp": exp.Unix()}))
	}
	for _, tc := range []struct {
		name     string
		exp, end time.Time
	}{
		{"5 minutes left", now.Add(5 * time.Minute), now.Add(5 * time.Minute)},
		{"2 hours left: the provider's hour", now.Add(2 * time.Hour), now.Add(time.Hour)},
	} {
		res, err := s.ex.Exchange(context.Background(), token(tc.name, tc.exp))
		if err != nil {
			t.Fatalf("%s: %v (trace %+v)", tc.name, err, res.Trace)
		}
		if got := res.Session.Credentials.Expiration; !got.Equal(tc.end) {
			t.Errorf("%s: the credentials expire at %v, want %v", tc.name, got, tc.end)
		}
	}

	expired := token("within the leeway", now.Add(-10*time.Second))
	expired.DryRun = true
	res, err := s.ex.Exchange(context.Background(), expired)
	if _, reason := code(t, err); reason != "proof_expired" || !hasStep(res.Trace, "proof_expiry", false) {
		t.Errorf("explain of a token 10 s past exp: %q, trace %+v", reason, res.Trace)
	}
	expired.DryRun = false
	res, err = s.ex.Exchange(context.Background(), expired)
	if c, reason := code(t, err); c != exchange.InvalidRequest || reason != "proof_expired" || res.Session.Credentials.AccessKeyID != "" {
		t.Errorf("a token 10 s past exp: %v %q, issued %q", c, reason, res.Session.Credentials.AccessKeyID)
	}
}
