package stsclient_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/integration"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/stsclient"
)

const ns = `xmlns="https://sts.amazonaws.com/doc/2011-06-15/"`

// A target answering as AWS STS does: what keyless sends, and how it reads
// the answers and the refusals.
func TestClient(t *testing.T) {
	var seen []url.Values
	var auth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(b))
		seen = append(seen, form)
		auth = append(auth, r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "text/xml")
		switch form.Get("Action") {
		case "AssumeRoleWithWebIdentity":
			if form.Get("WebIdentityToken") == "echo.me.back" {
				w.WriteHeader(400)
				_, _ = io.WriteString(w, `<ErrorResponse `+ns+`><Error><Code>InvalidIdentityToken</Code><Message>bad token echo.me.back</Message></Error></ErrorResponse>`)
				return
			}
			if form.Get("WebIdentityToken") == "refuse" {
				w.WriteHeader(403)
				_, _ = io.WriteString(w, `<ErrorResponse `+ns+`><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>Not authorized to perform sts:AssumeRoleWithWebIdentity`+"\x00\x1b[31m"+strings.Repeat("x", 2000)+`</Message></Error><RequestId>r</RequestId></ErrorResponse>`)
				return
			}
			_, _ = io.WriteString(w, `<AssumeRoleWithWebIdentityResponse `+ns+`><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId><SecretAccessKey>s3cr3t</SecretAccessKey><SessionToken>tok</SessionToken><Expiration>2026-12-07T13:00:00Z</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::210987654321:assumed-role/R/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`)
		case "GetCallerIdentity":
			_, _ = io.WriteString(w, `<GetCallerIdentityResponse `+ns+`><GetCallerIdentityResult><Arn>arn:aws:sts::210987654321:assumed-role/R/s</Arn></GetCallerIdentityResult></GetCallerIdentityResponse>`)
		case "AssumeRole":
			w.WriteHeader(503)
			_, _ = io.WriteString(w, "<html>busy</html>")
		}
	}))
	defer srv.Close()
	c := stsclient.New(func() time.Time { return time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC) })
	ep := integration.Endpoint{URL: srv.URL, Region: "eu-west-1", AllowHTTPLoopback: true}
	ctx := context.Background()

	sess, err := c.AssumeRoleWithWebIdentity(ctx, ep, integration.WebIdentityRequest{RoleARN: "arn:aws:iam::210987654321:role/R",
		SessionName: "s", Duration: time.Hour, Token: secret.NewString("jwt")})
	if err != nil || sess.AccessKeyID != "ASIAEXAMPLE" || sess.Secret.Reveal() != "s3cr3t" || sess.AssumedRoleARN != "arn:aws:sts::210987654321:assumed-role/R/s" ||
		!sess.Expiration.Equal(time.Date(2026, 12, 7, 13, 0, 0, 0, time.UTC)) {
		t.Fatalf("%+v %v", sess, err)
	}
	if f := seen[0]; f.Get("Version") != "2011-06-15" || f.Get("DurationSeconds") != "3600" || f.Get("WebIdentityToken") != "jwt" || auth[0] != "" {
		t.Errorf("AssumeRoleWithWebIdentity sent %v, Authorization %q (it is unsigned)", f, auth[0])
	}
	arn, err := c.GetCallerIdentity(ctx, ep, sess.Credentials)
	if err != nil || arn != "arn:aws:sts::210987654321:assumed-role/R/s" {
		t.Fatalf("%q %v", arn, err)
	}
	if !strings.HasPrefix(auth[1], "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20261207/eu-west-1/sts/aws4_request") {
		t.Errorf("GetCallerIdentity's Authorization %q", auth[1])
	}
	_, err = c.AssumeRoleWithWebIdentity(ctx, ep, integration.WebIdentityRequest{RoleARN: "r", SessionName: "s", Token: secret.NewString("refuse")})
	var te *integration.TargetError
	if !errors.As(err, &te) || te.Code != "AccessDenied" || te.Status != 403 || len(te.Message) > 512 || strings.ContainsAny(te.Message, "\x00\x1b") {
		t.Errorf("a refusal: %#v", err)
	}
	// A target that echoes the token does not get it into the diagnosis.
	_, err = c.AssumeRoleWithWebIdentity(ctx, ep, integration.WebIdentityRequest{RoleARN: "r", SessionName: "s", Token: secret.NewString("echo.me.back")})
	if !errors.As(err, &te) || strings.Contains(te.Message, "echo.me.back") || !strings.Contains(te.Message, "[redacted]") {
		t.Errorf("an echoed token: %#v", err)
	}
	_, err = c.AssumeRole(ctx, ep, integration.Credentials{AccessKeyID: "AKIAKEY", Secret: secret.NewString("k")}, integration.RoleRequest{RoleARN: "r", SessionName: "s"})
	if !errors.As(err, &te) || te.Code != "HTTP503" || te.Status != 503 {
		t.Errorf("a non-STS 503: %#v", err)
	}
	// An address the outbound rules refuse is unreachable, never fetched.
	_, err = c.GetCallerIdentity(ctx, integration.Endpoint{URL: srv.URL, Region: "eu-west-1"}, sess.Credentials)
	if !errors.As(err, &te) || !te.Unreachable {
		t.Errorf("http to loopback without the allowance: %#v", err)
	}
}
