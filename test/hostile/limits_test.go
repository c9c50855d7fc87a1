package hostile

import (
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/config"
)

// AUD-06 and the per-source budget through the real STS surface: callers
// signed with this deployment's keys answer for their refusals and are
// never throttled; a refused expired session, whose signature verifies but
// whose caller fails its checks, spends the budget like any unauthenticated
// request (it counted as accountable, found in review), and so does an
// unsigned request.
func TestRefusedBudgetAccountability(t *testing.T) {
	h := newHarness(t)
	h.bootWith(nil, func(c *config.Config) {
		c.Refused = config.RefusedLimits{PerSecond: 0.001, Burst: 5, ReportEvery: time.Minute}
	})
	for i := range 20 {
		r := h.call(alice, "AssumeRole", assumeParams(adminARN))
		if r.code != "AccessDenied" {
			t.Fatalf("alice's refused AssumeRole %d: %d %s", i, r.status, r.code)
		}
	}
	sess := h.session(alice, "&DurationSeconds=900")
	h.clock.Advance(16 * time.Minute)
	for i := range 5 {
		h.assertDenied("SIG-24 expired", h.call(sess, "GetCallerIdentity", ""), 403, "ExpiredToken")
		_ = i
	}
	r := h.do(h.sign(h.request("POST", "/", gciBody), sess, "us-east-1"))
	if r.status != 400 || r.code != "Throttling" || r.message != "Rate exceeded" {
		t.Fatalf("an expired session past the budget: %d %s %s", r.status, r.code, r.message)
	}
	// The address is throttled as a whole, signed or not, until it
	// refills; alice from it too.
	if r := h.do(h.request("POST", "/", gciBody)); r.code != "Throttling" {
		t.Fatalf("unsigned request past the budget: %d %s", r.status, r.code)
	}
}
