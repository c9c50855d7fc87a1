package sigauth

import (
	"context"
	"time"

	"github.com/keyless-dev/keyless/internal/sigv4"
	"github.com/keyless-dev/keyless/internal/sts"
)

// Authenticator verifies signed requests.
type Authenticator struct {
	Service  *sts.Service
	Verifier *sigv4.Verifier
	// AllowRegion decides which signing regions are accepted.
	AllowRegion func(string) bool
}

// Result is what authentication established. Signed is set once the
// signature parsed, Caller once the credentials were found and the
// signature verified (even when a later session check fails).
type Result struct {
	Signed *sigv4.Signed
	Caller *sts.Caller
}

// Authenticate verifies req as signed for service at time now.
func (a *Authenticator) Authenticate(ctx context.Context, req *sigv4.Request, service string, now time.Time) (Result, error) {
	sig, err := sigv4.Parse(req, service, a.AllowRegion, now)
	if err != nil {
		return Result{}, err
	}
	res := Result{Signed: sig}
	creds, err := a.Service.LookupCredentials(ctx, sig.AccessKeyID, sig.SecurityToken)
	if err != nil {
		// Spend the time a verification takes, so that an unknown key
		// and a wrong signature cannot be told apart by timing.
		a.Verifier.Burn(sig)
		return res, err
	}
	if err := a.Verifier.Verify(sig, creds.Secret.Reveal()); err != nil {
		return res, err
	}
	res.Caller = &creds.Caller
	return res, a.Service.CheckCaller(creds.Caller)
}
