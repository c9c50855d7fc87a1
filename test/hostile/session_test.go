package hostile

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/xml"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/ops"
)

// identity sends GetCallerIdentity with c and parses the answer.
type callerIdentity struct {
	Arn     string
	UserID  string `xml:"UserId"`
	Account string
}

func (h *harness) identity(c creds) (result, callerIdentity) {
	h.t.Helper()
	r := h.send(h.sign(h.request("POST", "/", gciBody), c, "us-east-1"))
	var doc struct {
		R callerIdentity `xml:"GetCallerIdentityResult"`
	}
	if r.status == 200 {
		if err := xml.Unmarshal([]byte(r.body), &doc); err != nil {
			h.t.Fatal(err)
		}
	}
	return r, doc.R
}

// Section 3.E: GetCallerIdentity and session credentials.
func TestSessionCredentials(t *testing.T) {
	h := newHarness(t)
	mfa := h.session(bob, "&SerialNumber="+bobSerial+"&TokenCode="+h.code(bobSeed, 0))
	plain := h.session(alice, "&DurationSeconds=900")
	rootSess := h.session(root, "")

	// GCI-01: exact shapes, as AWS returns them; a GetSessionToken
	// session reports the user it belongs to.
	ev := h.events()
	aliceID := ev[len(ev)-2].UserIdentity.PrincipalID
	for _, c := range []struct {
		id        string
		c         creds
		arn, user string
	}{
		{"GCI-01 user", alice, "arn:aws:iam::111122223333:user/alice", aliceID},
		{"GCI-01 user session", plain, "arn:aws:iam::111122223333:user/alice", aliceID},
		{"GCI-01 user with a path, MFA session", mfa, "arn:aws:iam::111122223333:user/engineering/bob", ""},
		{"GCI-01 root", root, "arn:aws:iam::111122223333:root", "111122223333"},
		{"GCI-01 root session", rootSess, "arn:aws:iam::111122223333:root", "111122223333"},
	} {
		r, id := h.identity(c.c)
		h.assertOK(c.id, r)
		if id.Arn != c.arn || id.Account != "111122223333" || (c.user != "" && id.UserID != c.user) || !strings.HasPrefix(id.UserID, "AIDA") && c.c != root && c.c != rootSess {
			t.Errorf("%s: %+v", c.id, id)
		}
	}
	for _, e := range h.events() {
		if e.UserIdentity.AccessKeyID != mfa.id && e.UserIdentity.AccessKeyID != plain.id {
			continue
		}
		want := map[string]string{mfa.id: "true", plain.id: "false"}[e.UserIdentity.AccessKeyID]
		if sc := e.UserIdentity.SessionContext; sc == nil || sc.Attributes.MFAAuthenticated != want || sc.Attributes.CreationDate != "2026-11-21T12:00:10Z" {
			t.Errorf("a session's audit identity: %+v", e.UserIdentity)
		}
	}

	raw, _ := base64.RawURLEncoding.DecodeString(plain.token)
	enc := base64.RawURLEncoding.EncodeToString
	flipped := append([]byte(nil), raw...)
	flipped[len(flipped)/2] ^= 0x01
	tokenRows := []struct {
		id    string
		token string
	}{
		{"SIG-22 bit-flipped token", enc(flipped)},
		{"GCI-04 unknown version", enc(append([]byte{9}, raw[1:]...))},
		{"GCI-04 unknown key id", enc(append([]byte{1, 0xff, 0xff, 0xff, 0xff}, raw[5:]...))},
		{"GCI-04 truncated nonce", enc(raw[:9])},
		{"GCI-04 empty ciphertext", enc(raw[:17])},
		{"GCI-04 not base64", "%%%%" + plain.token},
		{"GCI-07 oversized token", strings.Repeat("A", 3000)},
		{"SIG-27 another session's token", mfa.token},
	}
	for _, row := range tokenRows {
		r, _ := h.identity(creds{plain.id, plain.secret, row.token})
		h.assertDenied(row.id, r, 403, "InvalidClientTokenId")
	}

	// SIG-27: a token sent but left out of SignedHeaders is accepted, as on
	// AWS: it is still bound to its access key id by the AEAD.
	req := h.sign(h.request("POST", "/", gciBody), creds{plain.id, plain.secret, ""}, "us-east-1")
	req.Header.Set("X-Amz-Security-Token", plain.token)
	h.assertOK("SIG-27 unsigned token", h.send(req))

	// Presigned with a session token, as EKS and Vault clients send it.
	preq, _ := http.NewRequest("GET", h.presign(plain, gciBody), nil)
	h.assertOK("presigned with a token", h.send(preq))

	// SIG-24: expired by one second.
	h.clock.Set(start.Add(15*time.Minute + time.Second))
	r, _ := h.identity(plain)
	h.assertDenied("SIG-24 expired", r, 403, "ExpiredToken")
	if r.message != "The security token included in the request is expired" {
		t.Errorf("SIG-24 message %q", r.message)
	}
}

// GCI-03: tokens under a retired but retained key keep working; once the
// key is deleted after its retention, they are refused.
func TestSessionKeyRotation(t *testing.T) {
	h := newHarness(t)
	sess := h.session(alice, "&DurationSeconds=900")
	rotate(t, h)
	h.clock.Advance(2 * time.Second) // past the ring's reload rate limit
	after := h.session(alice, "&DurationSeconds=900")
	for id, c := range map[string]creds{"GCI-03 retained key": sess, "new key": after} {
		r, _ := h.identity(c)
		h.assertOK(id, r)
	}
	h.clock.Advance(38 * time.Hour)
	if err := h.app.Maintain(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.clock.Set(start.Add(time.Minute)) // back inside the session's lifetime
	r, _ := h.identity(sess)
	h.assertDenied("GCI-03 deleted key", r, 403, "InvalidClientTokenId")
}

// rotate rotates the master key as `keyless keys rotate` does: through
// storage, not through the running app.
func rotate(t *testing.T, h *harness) {
	t.Helper()
	o := ops.New(ops.Options{Store: h.store, KEK: testKEKSet, Clock: h.clock, Random: rand.Reader, Logger: slog.New(slog.DiscardHandler)})
	if k, err := o.RotateKey(context.Background()); err != nil || k.ID != 2 {
		t.Fatalf("rotate: %+v %v", k, err)
	}
}

// GCI-06, SIG-29: changes to the configuration take effect on the next
// request after a restart: a deleted user's sessions and a deactivated
// key are refused, and a user re-created under the same name is a new
// principal whose old sessions do not carry over.
func TestSessionPrincipalGone(t *testing.T) {
	h := newHarness(t)
	sess := h.session(alice, "&DurationSeconds=900")
	_, before := h.identity(alice)
	removeAlice := func(c string) string {
		i := strings.Index(c, "      - name: alice")
		j := strings.Index(c, "      - name: bob")
		return c[:i] + c[j:]
	}
	h.boot(removeAlice)
	r, _ := h.identity(sess)
	h.assertDenied("GCI-06 deleted user's session", r, 403, "InvalidClientTokenId")
	r, _ = h.identity(alice)
	h.assertDenied("SIG-29 deleted user's key", r, 403, "InvalidClientTokenId")

	h.boot(nil) // alice re-created
	r, after := h.identity(alice)
	h.assertOK("re-created user", r)
	if after.UserID == before.UserID {
		t.Errorf("a re-created user kept unique id %s", after.UserID)
	}
	r, _ = h.identity(sess)
	h.assertDenied("GCI-06 session of the previous alice", r, 403, "InvalidClientTokenId")

	h.boot(func(c string) string {
		return strings.Replace(c, "secret: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "secret: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n            status: Inactive", 1)
	})
	r, _ = h.identity(alice)
	h.assertDenied("SIG-29 deactivated key", r, 403, "InvalidClientTokenId")
}
