package hostile

import (
	"strings"
	"testing"
	"time"
)

const gst = "Action=GetSessionToken&Version=2011-06-15"

// Section 3.C: GetSessionToken with TOTP MFA.
func TestGetSessionToken(t *testing.T) {
	h := newHarness(t)
	post := func(c creds, params string) result {
		return h.send(h.sign(h.request("POST", "/", gst+params), c, "us-east-1"))
	}
	sess := h.session(alice, "")

	rows := []struct {
		id     string
		c      creds
		params string
		status int
		code   string
	}{
		{"GST-01 session credentials", sess, "", 403, "AccessDenied"},
		{"GST-02 899 seconds", alice, "&DurationSeconds=899", 400, "ValidationError"},
		{"GST-02 129601 seconds", alice, "&DurationSeconds=129601", 400, "ValidationError"},
		{"GST-02 negative", alice, "&DurationSeconds=-1", 400, "ValidationError"},
		{"GST-02 exponent", alice, "&DurationSeconds=1e3", 400, "ValidationError"},
		{"GST-02 hex", alice, "&DurationSeconds=0x384", 400, "ValidationError"},
		{"GST-02 leading space", alice, "&DurationSeconds=%20900", 400, "ValidationError"},
		{"GST-03 serial without code", bob, "&SerialNumber=" + bobSerial, 403, "AccessDenied"},
		{"GST-03 code without serial", bob, "&TokenCode=123456", 403, "AccessDenied"},
		{"GST-04 wrong code", bob, "&SerialNumber=" + bobSerial + "&TokenCode=000000", 403, "AccessDenied"},
		{"GST-09 5 digits", bob, "&SerialNumber=" + bobSerial + "&TokenCode=12345", 400, "ValidationError"},
		{"GST-09 7 digits", bob, "&SerialNumber=" + bobSerial + "&TokenCode=1234567", 400, "ValidationError"},
		{"GST-09 inner space", bob, "&SerialNumber=" + bobSerial + "&TokenCode=12+3456", 400, "ValidationError"},
		{"GST-09 leading space", bob, "&SerialNumber=" + bobSerial + "&TokenCode=+123456", 400, "ValidationError"},
		{"GST-09 full-width digits", bob, "&SerialNumber=" + bobSerial + "&TokenCode=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96", 400, "ValidationError"},
		{"GST-09 trailing newline", bob, "&SerialNumber=" + bobSerial + "&TokenCode=12345%0A", 400, "ValidationError"},
		{"GST-10 another user's device", alice, "&SerialNumber=" + bobSerial + "&TokenCode=" + h.code(bobSeed, 0), 403, "AccessDenied"},
		{"GST-10 serial of 8", bob, "&SerialNumber=GAHT1234&TokenCode=123456", 400, "ValidationError"},
		{"GST-10 serial of 257", bob, "&SerialNumber=" + strings.Repeat("a", 257) + "&TokenCode=123456", 400, "ValidationError"},
		{"GST-10 serial charset", bob, "&SerialNumber=arn%3Aaws%3Aiam%3A%3A1%3Amfa%2Fb%20b&TokenCode=123456", 400, "ValidationError"},
		{"GST-10 unknown serial", bob, "&SerialNumber=arn:aws:iam::111122223333:mfa/nobody&TokenCode=123456", 403, "AccessDenied"},
	}
	for _, row := range rows {
		t.Run(row.id, func(t *testing.T) {
			h.t = t
			r := post(row.c, row.params)
			h.assertDenied(row.id, r, row.status, row.code)
			if strings.Contains(row.params, "TokenCode=") && strings.Contains(r.message, "123456") {
				t.Errorf("%s: the token code was echoed: %s", row.id, r.message)
			}
		})
	}

	// GST-01 message, exactly as AWS says it.
	if r := post(sess, ""); r.message != "Cannot call GetSessionToken with session credentials" {
		t.Errorf("GST-01 message %q", r.message)
	}
}

// GST-05, GST-07, GST-08: each time step once, and only moving forward.
func TestGetSessionTokenReplay(t *testing.T) {
	h := newHarness(t)
	mfa := func(offset int64) result {
		return h.send(h.sign(h.request("POST", "/", gst+"&SerialNumber="+bobSerial+"&TokenCode="+h.code(bobSeed, offset)), bob, "us-east-1"))
	}
	h.assertOK("GST-05 first use", mfa(0))
	h.assertDenied("GST-05 second use", mfa(0), 403, "AccessDenied")
	h.assertDenied("GST-08 older step after a newer one", mfa(-1), 403, "AccessDenied")
	h.assertOK("GST-07 step t+1", mfa(1))
	h.clock.Advance(90 * time.Second)
	h.assertDenied("GST-08 step t-2", mfa(-2), 403, "AccessDenied")
	h.assertDenied("GST-08 step t+2", mfa(2), 403, "AccessDenied")
	h.assertOK("GST-07 step t-1, newer than any used", mfa(-1))
}

// GST-11: after five wrong codes (mfa_max_failures in the test config) even
// the right code is refused until the lockout window ends; the lockout is
// per device, so another user is unaffected; and every attempt is audited.
func TestGetSessionTokenLockout(t *testing.T) {
	h := newHarness(t)
	try := func(c creds, serial, code string) result {
		return h.send(h.sign(h.request("POST", "/", gst+"&SerialNumber="+serial+"&TokenCode="+code), c, "us-east-1"))
	}
	for i := range 5 {
		h.assertDenied("GST-11 wrong code", try(bob, bobSerial, []string{"000000", "111111", "222222", "333333", "444444"}[i]), 403, "AccessDenied")
	}
	h.assertDenied("GST-11 right code while locked", try(bob, bobSerial, h.code(bobSeed, 0)), 403, "AccessDenied")
	h.assertOK("GST-11 other device", try(carol, carolSerial, h.code("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", 0)))
	locked := 0
	for _, e := range h.events() {
		if e.AdditionalEventData["reason"] == "mfa_locked_out" {
			locked++
		}
	}
	if locked != 1 {
		t.Errorf("lockout refusals audited: %d", locked)
	}
	h.clock.Advance(5 * time.Minute)
	h.assertOK("GST-11 after the window", try(bob, bobSerial, h.code(bobSeed, 0)))
}

// GST-12: an MFA device re-enrolled with a new seed no longer accepts codes
// from the old one.
func TestGetSessionTokenReenrolledDevice(t *testing.T) {
	h := newHarness(t)
	old := h.code(bobSeed, 0)
	h.boot(func(c string) string { return strings.Replace(c, bobSeed, "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U", 1) })
	r := h.send(h.sign(h.request("POST", "/", gst+"&SerialNumber="+bobSerial+"&TokenCode="+old), bob, "us-east-1"))
	h.assertDenied("GST-12 old seed's code", r, 403, "AccessDenied")
}

// GST-02: root's sessions are capped at one hour, silently, as on AWS.
func TestGetSessionTokenDurations(t *testing.T) {
	h := newHarness(t)
	for _, c := range []struct {
		c      creds
		params string
		want   time.Duration
	}{
		{alice, "", 12 * time.Hour},
		{alice, "&DurationSeconds=900", 15 * time.Minute},
		{alice, "&DurationSeconds=129600", 36 * time.Hour},
		{root, "", time.Hour},
		{root, "&DurationSeconds=129600", time.Hour},
	} {
		h.session(c.c, c.params)
		ev := h.events()
		cr := ev[len(ev)-1].ResponseElements["credentials"].(map[string]any)
		exp, err := time.Parse(time.RFC3339, cr["expiration"].(string))
		if err != nil || exp.Sub(start) != c.want {
			t.Errorf("%s%s: expires after %v, want %v", c.c.id, c.params, exp.Sub(start), c.want)
		}
	}
}
