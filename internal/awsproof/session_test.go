package awsproof

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/credential"
)

// opener stands in for credential.TokenSealer: it opens every token as a
// session ending at end, or fails with err.
type opener struct {
	end   time.Time
	err   error
	calls [][2]string // access key id, token
}

func (o *opener) Open(_ context.Context, accessKeyID, token string) (credential.Session, error) {
	o.calls = append(o.calls, [2]string{accessKeyID, token})
	return credential.Session{Expiration: o.end}, o.err
}

// TestSessionEnd: when the signing session's token is one this deployment
// sealed, the identity carries the session's end, for the exchange to cap
// at; only after the upstream answered, and only the end is taken.
// Another token cannot be seen into; a key ring that fails is an outage.
func TestSessionEnd(t *testing.T) {
	end := signTime.Add(7 * time.Minute)
	for _, tc := range []struct {
		name    string
		opener  *opener
		s       spec
		want    time.Time
		reason  string // a refusal
		opened  bool
		unavail bool
	}{
		{name: "our session", opener: &opener{end: end}, want: end, opened: true},
		{name: "AWS's or another deployment's token", opener: &opener{end: end, err: fmt.Errorf("open: %w", credential.ErrInvalidToken)}, opened: true},
		{name: "key ring down", opener: &opener{end: end, err: errors.New("storage down")}, reason: "session_token_unavailable", opened: true, unavail: true},
		{name: "long-term key", opener: &opener{end: end}, s: spec{noToken: true}},
		{name: "no opener configured"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, nil, func(o *Options) {
				if tc.opener != nil {
					o.Sessions = tc.opener
				}
			})
			id, err := h.v.VerifyAWS(t.Context(), sign(t, tc.s), testAudience)
			if tc.reason != "" {
				wantReason(t, err, tc.reason, tc.unavail)
			} else if err != nil {
				t.Fatal(err)
			}
			if !id.NotAfter.Equal(tc.want) {
				t.Errorf("NotAfter = %v, want %v", id.NotAfter, tc.want)
			}
			if tc.opener == nil {
				return
			}
			if got := len(tc.opener.calls) == 1; got != tc.opened {
				t.Fatalf("opener calls %v", tc.opener.calls)
			}
			if tc.opened && tc.opener.calls[0] != [2]string{testAKID, testToken} {
				t.Errorf("opened %v, want the signing key id and its token", tc.opener.calls[0])
			}
		})
	}

	// An upstream that refuses decides: the token is not even opened.
	o := &opener{end: end}
	h := newHarness(t, func(m *mockSTS, w http.ResponseWriter, r *http.Request) {
		writeXML(w, 403, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>ExpiredToken</Code><Message>m</Message></Error><RequestId>x</RequestId></ErrorResponse>`)
	}, func(opt *Options) { opt.Sessions = o })
	_, err := h.v.VerifyAWS(t.Context(), sign(t, spec{}), testAudience)
	wantReason(t, err, "upstream_refused", false)
	if len(o.calls) != 0 {
		t.Errorf("the token was opened %d times after the upstream refused", len(o.calls))
	}
}
