package awsproof

import (
	"context"
	"errors"
	"testing"

	"github.com/keyless-dev/keyless/internal/exchange"
	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/storage/memory"
	"github.com/keyless-dev/keyless/internal/sts"
)

// TestNonceSameSecond (GCIX-13): SigV4 is deterministic, so two requests
// signed with the same credentials, audience and second are one signature,
// accepted once. Signed nonces make them two; each is forwarded as sent
// and verified by the upstream.
func TestNonceSameSecond(t *testing.T) {
	h := newHarness(t, nil, nil)
	same := sign(t, spec{})
	if _, err := h.v.VerifyAWS(t.Context(), same, testAudience); err != nil {
		t.Fatal(err)
	}
	_, err := h.v.VerifyAWS(t.Context(), sign(t, spec{}), testAudience)
	wantReason(t, err, "replayed", false)

	nonces := []string{"AAAAAAAAAAAAAAAAAAAAAA", "_____________________w"}
	for _, n := range nonces {
		if _, err := h.v.VerifyAWS(t.Context(), sign(t, spec{extra: map[string]string{NonceHeader: n}}), testAudience); err != nil {
			t.Fatalf("nonce %s: %v", n, err)
		}
	}
	reqs := h.sts.requests()
	if len(reqs) != 3 || h.sts.valid.Load() != 3 {
		t.Fatalf("upstream saw %d requests, %d with a valid signature; want 3, 3", len(reqs), h.sts.valid.Load())
	}
	for i, n := range nonces {
		if got := reqs[i+1].header.Values(NonceHeader); len(got) != 1 || got[0] != n {
			t.Errorf("request %d forwarded the nonce as %q, want %q", i+1, got, n)
		}
	}
	// The nonce changes the signature, not the rule: each is used once.
	_, err = h.v.VerifyAWS(t.Context(), sign(t, spec{extra: map[string]string{NonceHeader: nonces[0]}}), testAudience)
	wantReason(t, err, "replayed", false)
}

// sessionsStub proves the source and issues nothing.
type sessionsStub struct{ issued int }

func (s *sessionsStub) AssumeRoleAs(ctx context.Context, src sts.IdentitySource, _ sts.FederatedRequest) (sts.AssumeRoleResult, *sts.Federated, error) {
	f, err := src.Prove(ctx)
	if err == nil {
		s.issued++
	}
	return sts.AssumeRoleResult{}, f, err
}

// TestExplainReplay: with exchange.SingleUse as UseOnce, an operator's dry
// run (explain) of a request consumes nothing, and a dry run of a request
// already exchanged reports the replay, before any connection.
func TestExplainReplay(t *testing.T) {
	store := memory.New()
	h := newHarness(t, nil, func(o *Options) { o.UseOnce = exchange.SingleUse(store, o.Clock) })
	dir, err := iam.NewDirectory(iam.Contents{Accounts: []iam.Account{{ID: "111122223333"}}})
	if err != nil {
		t.Fatal(err)
	}
	subject, err := exchange.CompilePattern(testARN)
	if err != nil {
		t.Fatal(err)
	}
	sessions := &sessionsStub{}
	svc := exchange.New(exchange.Options{
		Providers: []exchange.Provider{{Account: "111122223333", Name: "alice", Issuer: exchange.AWSIssuer, Kind: exchange.AWS,
			Subject: subject, Audiences: []string{testAudience}, Role: "Deploy"}},
		Directory: dir, AWS: h.v, Sessions: sessions, UseOnce: exchange.SingleUse(store, h.clock), Clock: h.clock,
	})
	req := exchange.Request{Audience: testAudience, Issuer: exchange.AWSIssuer, Kind: exchange.ProofAWS,
		Proof: secret.NewString(string(sign(t, spec{extra: map[string]string{NonceHeader: "explain-me"}})))}

	req.DryRun = true
	if res, err := svc.Exchange(t.Context(), req); err != nil || res.Provider == nil {
		t.Fatalf("explain of a new request: %v %+v", err, res.Trace)
	}
	req.DryRun = false
	if _, err := svc.Exchange(t.Context(), req); err != nil || sessions.issued != 1 {
		t.Fatalf("the exchange after explain: %v, %d issued", err, sessions.issued)
	}
	req.DryRun = true
	res, err := svc.Exchange(t.Context(), req)
	if e, ok := errors.AsType[*exchange.Error](err); !ok || e.Reason != "aws_replayed" || len(res.Trace) == 0 || res.Trace[0].Detail != "replayed" {
		t.Fatalf("explain of the exchanged request: %v, trace %+v", err, res.Trace)
	}
	if n := h.sts.requests(); len(n) != 2 {
		t.Fatalf("upstream saw %d requests, want 2 (the explain of a replay makes none)", len(n))
	}
}
