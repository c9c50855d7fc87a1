package e2e

import (
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	awslogin "github.com/keyless-dev/keyless/internal/loginapi/loginapitest"
)

// TestAWSLoginOIDC: a person signs in through Dex (keyless as its relying
// party: authorization code flow with PKCE, in headless Chromium), picks
// the one role whose trust policy admits them, and aws login continues as
// that role session: the idToken's sub is the assumed-role ARN and the
// credentials are the role's.
func TestAWSLoginOIDC(t *testing.T) {
	chromedriver, chromium := browserTools(t)
	addr := freePort(t)
	base := "http://" + addr
	dex := startDexWith(t, base+"/signin/oidc/callback")
	u, _ := url.Parse(dex.Issuer)
	prefix := u.Host + u.Path
	provider := oidcProviderARN(prefix)
	signinPolicy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["signin:AuthorizeOAuth2Access","signin:CreateOAuth2Token"],` +
		`"Resource":"arn:aws:signin:*:*:oauth2/public-client/*"}]}`
	alice := dexUsers[0]
	doc := map[string]any{
		"signin": map[string]any{"oidc": []any{map[string]any{"name": "dex", "display_name": "Dex", "issuer": dex.Issuer,
			"client_id": dex.ClientID, "client_secret": dex.ClientSecret, "account": account}}},
		"accounts": []any{map[string]any{
			"id":             account,
			"oidc_providers": []any{wiConfigProvider{URL: dex.Issuer, ClientIDs: []string{dex.ClientID}, AllowHTTPLoopback: true}},
			"roles": []any{
				map[string]any{"name": "developer", "max_session_duration": "2h",
					"trust_policy": federatedTrust(provider, map[string]map[string]any{"StringEquals": {prefix + ":aud": dex.ClientID,
						prefix + ":sub": dexSubject(alice.UserID, dexConnector)}}),
					"policies": []any{map[string]any{"name": "SignIn", "document": signinPolicy}}},
				map[string]any{"name": "bobs-role", "trust_policy": federatedTrust(provider, map[string]map[string]any{"StringEquals": {
					prefix + ":sub": dexSubject(dexUsers[1].UserID, dexConnector)}})},
			},
		}},
	}
	b, _ := json.MarshalIndent(doc, "", "  ")
	cfg := filepath.Join(t.TempDir(), "keyless.yaml")
	if err := os.WriteFile(cfg, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := keyless(t, nil, "config", "validate", cfg); code != 0 {
		t.Fatalf("keyless config validate: %s%s\n%s", out, errOut, b)
	}
	s, err := launchAt(t, cfg, addr)
	if err != nil {
		t.Fatal(err)
	}
	wd := startWebDriver(t, chromedriver, chromium)

	cb := startCallback(t)
	l := newLogin(awslogin.SameDevice, cb.redirect)
	wd.navigate(l.url(base))
	waitFor(t, wd, "a.oidc", "the sign-in page's Dex link")
	wd.click(wd.find("a.oidc"))
	// Dex's password database login form.
	waitFor(t, wd, `input[name="login"]`, "Dex's login page")
	wd.sendKeys(wd.find(`input[name="login"]`), alice.Email)
	wd.sendKeys(wd.find(`input[name="password"]`), dexPassword)
	wd.click(wd.find(`button[type="submit"]`))
	waitFor(t, wd, `input[name="role"]`, "keyless's role chooser")
	var offered []string
	for _, r := range wd.findAll(`input[name="role"]`) {
		offered = append(offered, wd.property(r, "value"))
	}
	if len(offered) != 1 || !strings.HasPrefix(offered[0], roleARN("developer")+",") {
		t.Fatalf("the chooser offers %v, want only developer (bobs-role trusts bob)", offered)
	}
	if dir := os.Getenv("KEYLESS_SCREENSHOTS"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, "oidc-chooser.png"), wd.screenshot(), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	wd.click(wd.find(`input[name="role"]`))
	wd.click(wd.find("#sign-in"))
	waitFor(t, wd, "#consent", "the consent page")
	session := "arn:aws:sts::" + account + ":assumed-role/developer/" + alice.Email
	if who := wd.text(wd.find(".role-arn")); who != session {
		t.Errorf("the consent page offers %q, want %s", who, session)
	}
	if dir := os.Getenv("KEYLESS_SCREENSHOTS"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, "oidc-consent.png"), wd.screenshot(), 0o600); err != nil {
			t.Fatal(err)
		}
		wd.navigate(base + "/signin/sessions")
		if err := os.WriteFile(filepath.Join(dir, "sessions.png"), wd.screenshot(), 0o600); err != nil {
			t.Fatal(err)
		}
		wd.navigate(l.url(base))
		waitFor(t, wd, "#consent", "the consent page again")
	}
	wd.click(wd.find("#allow"))
	q := cb.wait(t, wd)
	if q.Get("state") != l.state {
		t.Fatalf("callback %v", q)
	}
	sub, toks := l.redeem(t, base, q.Get("code"), t.TempDir())
	if sub != session {
		t.Errorf("the idToken's sub is %q, want the role session %s", sub, session)
	}
	c := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(base),
		Credentials: credentials.NewStaticCredentialsProvider(toks.AccessKeyID, toks.SecretAccessKey, toks.SessionToken)})
	out, err := c.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil || *out.Arn != session {
		t.Errorf("the issued credentials: %v %v", out, err)
	}
	// A refresh issues the role's session again.
	a, err := awslogin.Token(base, map[string]string{"clientId": awslogin.SameDevice, "grantType": "refresh_token", "refreshToken": toks.RefreshToken},
		l.key.Proof("POST", base+"/v1/token", time.Now(), nil))
	if next, err2 := a.Tokens(); err != nil || err2 != nil || next.AccessKeyID == toks.AccessKeyID {
		t.Errorf("refresh: %v %v %s", err, err2, a.Raw)
	}

	// The trail: the provider's sign-in, the role session, the consent.
	names := map[string]int{}
	for _, e := range s.audit(t) {
		names[e["eventName"].(string)]++
	}
	if names["ConsoleLogin"] != 1 || names["AssumeRoleWithWebIdentity"] != 1 || names["AuthorizeOAuth2Access"] != 1 || names["CreateOAuth2Token"] != 2 {
		t.Errorf("events: %v", names)
	}
}
