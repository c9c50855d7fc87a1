package sts_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/embedded"
	"github.com/keyless-dev/keyless/internal/storage/memory"
	"github.com/keyless-dev/keyless/internal/sts"
	"github.com/keyless-dev/keyless/internal/totp"
)

// mfaLimit is the attempts per device per window in these tests.
const mfaLimit = 10

const mfaRoleARN = "arn:aws:iam::111122223333:role/NeedsMFA"

// mfaBackends open the stores the limit is tested on: the memory store,
// and the embedded one, where the concurrent requests race in SQLite.
var mfaBackends = map[string]func(t *testing.T) storage.Store{
	"memory": func(*testing.T) storage.Store { return memory.New() },
	"embedded": func(t *testing.T) storage.Store {
		s, err := embedded.Open(ctx, t.TempDir(), embedded.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	},
}

// mfaActions are the actions that take an MFA code.
var mfaActions = map[string]func(svc *sts.Service, c sts.Caller, code string) error{
	"GetSessionToken": func(svc *sts.Service, c sts.Caller, code string) error {
		_, err := svc.GetSessionToken(ctx, c, sts.GetSessionTokenRequest{SerialNumber: bobMFA, TokenCode: secret.NewString(code)})
		return err
	},
	"AssumeRole": func(svc *sts.Service, c sts.Caller, code string) error {
		_, err := svc.AssumeRole(ctx, c, sts.AssumeRoleRequest{RoleARN: mfaRoleARN, SessionName: "s1", SerialNumber: bobMFA, TokenCode: secret.NewString(code)})
		return err
	},
}

// eachMFACase runs fn for every backend and action, with bob's codes sent
// through a service allowed mfaLimit codes per device per 5 minutes.
func eachMFACase(t *testing.T, fn func(t *testing.T, f *fixture, try func(code string) error)) {
	for backend, open := range mfaBackends {
		for action, act := range mfaActions {
			t.Run(backend+"/"+action, func(t *testing.T) {
				f := newFixture(t)
				f.roles(t, role(t, account, "NeedsMFA", "AROANEEDSMFANEEDSMFA1", trustOf(bob.ARN(), `"sts:AssumeRole"`, "")))
				st := open(t)
				svc := sts.New(f.options(f.dir, func(o *sts.Options) {
					o.MFA, o.Attempts = st, st
					o.MFAMaxFailures = mfaLimit
				}))
				bobC := caller(t, f, "AKIABTX3GSDS7NXV2MXY")
				fn(t, f, func(code string) error { return act(svc, bobC, code) })
			})
		}
	}
}

// reason is an MFA refusal's reason, or "accepted".
func reason(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return "accepted"
	}
	var e *sts.Error
	if !errors.As(err, &e) || e.Code != sts.AccessDenied {
		t.Fatalf("got %v, want AccessDenied", err)
	}
	return e.Reason
}

// wrongCodes returns n distinct codes that no step in bob's verification
// window (RFC 6238 section 5.2: the current step and its neighbours)
// accepts at f's time.
func wrongCodes(f *fixture, n int) []string {
	p := totp.Default()
	now := p.StepAt(f.clock.Now())
	valid := map[string]bool{}
	for s := now - int64(p.Skew); s <= now+int64(p.Skew); s++ {
		valid[p.Code(bobSeed, s)] = true
	}
	var out []string
	for i := 0; len(out) < n; i++ {
		if c := fmt.Sprintf("%06d", i); !valid[c] {
			out = append(out, c)
		}
	}
	return out
}

// GST-11 under concurrency (issue 15): 400 wrong codes sent at once to a
// device allowed 10 per window. No more than 10 are evaluated, and no
// fewer: each evaluated one is refused as mfa_code_invalid, every other as
// mfa_locked_out before its code is looked at. Before the fix all 400 were
// checked against a count that had not moved yet. The right code is then
// refused too.
func TestMFAConcurrentWrongCodes(t *testing.T) {
	eachMFACase(t, func(t *testing.T, f *fixture, try func(string) error) {
		codes := wrongCodes(f, 400)
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			mu      sync.Mutex
			reasons = map[string]int{}
		)
		for _, code := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				r := reason(t, try(code))
				mu.Lock()
				reasons[r]++
				mu.Unlock()
			}()
		}
		close(start)
		wg.Wait()
		if reasons["mfa_code_invalid"] != mfaLimit || reasons["mfa_locked_out"] != len(codes)-mfaLimit {
			t.Fatalf("400 concurrent wrong codes: %v; want %d mfa_code_invalid, the rest mfa_locked_out", reasons, mfaLimit)
		}
		if r := reason(t, try(f.code(0))); r != "mfa_locked_out" {
			t.Fatalf("right code after the burst: %s, want mfa_locked_out", r)
		}
	})
}

// A client that resends the code just accepted (a retry) is refused, but
// the resends do not count toward the lockout: after 20 of them, twice the
// limit, the next code is accepted.
func TestMFAResentCodeDoesNotLock(t *testing.T) {
	eachMFACase(t, func(t *testing.T, f *fixture, try func(string) error) {
		code := f.code(0)
		if r := reason(t, try(code)); r != "accepted" {
			t.Fatalf("first use: %s", r)
		}
		for i := range 2 * mfaLimit {
			if r := reason(t, try(code)); r != "mfa_code_reused" {
				t.Fatalf("resend %d: %s, want mfa_code_reused", i+1, r)
			}
		}
		f.clock.Advance(30 * time.Second) // the next step, in the same window
		if r := reason(t, try(f.code(0))); r != "accepted" {
			t.Fatalf("next code after %d resends: %s", 2*mfaLimit, r)
		}
	})
}

// An accepted code takes no attempt: after limit-1 wrong codes and a right
// one, one more wrong code is still evaluated, and only then is the device
// locked.
func TestMFAAcceptedCodeTakesNoAttempt(t *testing.T) {
	eachMFACase(t, func(t *testing.T, f *fixture, try func(string) error) {
		wrong := wrongCodes(f, mfaLimit)
		for _, c := range wrong[:mfaLimit-1] {
			if r := reason(t, try(c)); r != "mfa_code_invalid" {
				t.Fatalf("wrong code: %s", r)
			}
		}
		if r := reason(t, try(f.code(0))); r != "accepted" {
			t.Fatalf("right code: %s", r)
		}
		if r := reason(t, try(wrong[mfaLimit-1])); r != "mfa_code_invalid" {
			t.Fatalf("wrong code %d: %s, want mfa_code_invalid (the right code took an attempt)", mfaLimit, r)
		}
		f.clock.Advance(30 * time.Second)
		if r := reason(t, try(f.code(0))); r != "mfa_locked_out" {
			t.Fatalf("after %d wrong codes: %s, want mfa_locked_out", mfaLimit, r)
		}
	})
}
