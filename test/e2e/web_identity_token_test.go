package e2e

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/keyless-dev/keyless/test/internal/proc"
)

// GetWebIdentityToken (AWS outbound identity federation) through the Go,
// Python and JavaScript SDKs; every token is verified with coreos/go-oidc,
// a verifier many relying parties use, against the issuer it names,
// found by OpenID Connect discovery over loopback.

// Accounts of the GetWebIdentityToken configuration: two enabled (each
// its own issuer), one not.
const (
	witAccountB = "444455556666"
	witAccountC = "777788889999"
	bertKey     = "AKIABERT000000000001"
	bertSecret  = "bertSecretForGetWebIdentityToken00000001"
	carlKey     = "AKIACARL000000000001"
	carlSecret  = "carlSecretForGetWebIdentityToken00000001"
	scannerRole = "arn:aws:iam::111122223333:role/Scanner"
)

const witConfig = `
accounts:
  - id: "111122223333"
    outbound_web_identity_federation: true
    users:
      - name: alice
        access_keys: [{id: AKIAIOSFODNN7EXAMPLE, secret: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY}]
        policies:
          - name: Tokens
            document: |
              {"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "sts:GetWebIdentityToken", "Resource": "*",
                 "Condition": {"ForAllValues:StringLike": {"sts:IdentityTokenAudience": ["svc-*"]},
                               "NumericLessThanEquals": {"sts:DurationSeconds": "900"},
                               "StringEquals": {"sts:SigningAlgorithm": ["RS256", "ES384"]}}},
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}
    roles:
      - name: Scanner
        tags: {team: platform}
        trust_policy: '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/alice"}, "Action": "sts:AssumeRole"}}'
        policies:
          - name: Tokens
            document: '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "sts:GetWebIdentityToken", "Resource": "*"}}'
  - id: "444455556666"
    outbound_web_identity_federation: true
    users:
      - name: bert
        access_keys: [{id: AKIABERT000000000001, secret: bertSecretForGetWebIdentityToken00000001}]
        policies:
          - name: Tokens
            document: '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "sts:GetWebIdentityToken", "Resource": "*"}}'
  - id: "777788889999"
    users:
      - name: carl
        access_keys: [{id: AKIACARL000000000001, secret: carlSecretForGetWebIdentityToken00000001}]
        policies:
          - name: Tokens
            document: '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "sts:GetWebIdentityToken", "Resource": "*"}}'
`

// witCall is one GetWebIdentityToken a client makes.
type witCall struct {
	Name      string    `json:"name"`
	Creds     tempCreds `json:"creds"`
	Audience  []string  `json:"audience"`
	Algorithm string    `json:"algorithm"`
	Duration  int32     `json:"duration,omitempty"`
	Tags      []tag     `json:"tags,omitempty"`
}

type witInput struct {
	Endpoint string    `json:"endpoint"`
	Calls    []witCall `json:"calls"`
}

// witWant is what an accepted call's token must say.
type witWant struct {
	account, subject string
	audience         []string
	algorithm        string
	life             time.Duration
	principalTags    map[string]string
	requestTags      map[string]string
}

func TestGetWebIdentityToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyless.yaml")
	if err := os.WriteFile(path, []byte(witConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startConfig(t, path)
	issuers := logIssuers(t, s)
	if len(issuers) != 2 || issuers[account] == issuers[witAccountB] {
		t.Fatalf("account issuers from the log: %v", issuers)
	}
	for acct, iss := range issuers {
		if !regexp.MustCompile(`^` + regexp.QuoteMeta(s.endpoint) + `/tokens/[0-9a-f]{32}$`).MatchString(iss) {
			t.Errorf("account %s's issuer %s", acct, iss)
		}
	}
	alice := tempCreds{AccessKeyID: aliceKey, SecretAccessKey: aliceSecret}
	out, err := goClient(s, aliceKey, aliceSecret, "").AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String(scannerRole), RoleSessionName: aws.String("scan"), DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	scanner := tempCreds{AccessKeyID: *out.Credentials.AccessKeyId, SecretAccessKey: *out.Credentials.SecretAccessKey,
		SessionToken: *out.Credentials.SessionToken}
	big := make([]tag, 50)
	for i := range big {
		big[i] = tag{Key: strings.Repeat("k", 125) + string(rune('A'+i%26)) + string(rune('a'+i/26)) + "x", Value: strings.Repeat("v", 256)}
	}
	in := witInput{Endpoint: s.endpoint, Calls: []witCall{
		{Name: "alice_rs256", Creds: alice, Audience: []string{"svc-a"}, Algorithm: "RS256"},
		{Name: "alice_es384", Creds: alice, Audience: []string{"svc-a", "svc-b"}, Algorithm: "ES384", Duration: 900,
			Tags: []tag{{"job", "42"}, {"stage", "nightly"}}},
		{Name: "alice_audience_denied", Creds: alice, Audience: []string{"svc-a", "elsewhere"}, Algorithm: "RS256"},
		{Name: "alice_duration_denied", Creds: alice, Audience: []string{"svc-a"}, Algorithm: "RS256", Duration: 901},
		{Name: "alice_algorithm_invalid", Creds: alice, Audience: []string{"svc-a"}, Algorithm: "HS256"},
		{Name: "alice_duration_invalid", Creds: alice, Audience: []string{"svc-a"}, Algorithm: "RS256", Duration: 3601},
		{Name: "alice_too_large", Creds: alice, Audience: []string{"svc-a"}, Algorithm: "RS256", Tags: big},
		{Name: "scanner", Creds: scanner, Audience: []string{"svc-r"}, Algorithm: "RS256", Duration: 600},
		{Name: "scanner_escalation", Creds: scanner, Audience: []string{"svc-r"}, Algorithm: "ES384", Duration: 3600},
		{Name: "bert", Creds: tempCreds{AccessKeyID: bertKey, SecretAccessKey: bertSecret}, Audience: []string{"svc-a"}, Algorithm: "ES384"},
		{Name: "carl_disabled", Creds: tempCreds{AccessKeyID: carlKey, SecretAccessKey: carlSecret}, Audience: []string{"svc-a"}, Algorithm: "RS256"},
	}}
	wants := map[string]witWant{
		"alice_rs256": {account: account, subject: aliceARN, audience: []string{"svc-a"}, algorithm: "RS256", life: 300 * time.Second},
		"alice_es384": {account: account, subject: aliceARN, audience: []string{"svc-a", "svc-b"}, algorithm: "ES384", life: 900 * time.Second,
			requestTags: map[string]string{"job": "42", "stage": "nightly"}},
		// A role session's subject is the role (IAM User Guide,
		// id_roles_providers_outbound_token_claims).
		"scanner": {account: account, subject: scannerRole, audience: []string{"svc-r"}, algorithm: "RS256", life: 600 * time.Second,
			principalTags: map[string]string{"team": "platform"}},
		"bert": {account: witAccountB, subject: "arn:aws:iam::" + witAccountB + ":user/bert", audience: []string{"svc-a"}, algorithm: "ES384",
			life: 300 * time.Second},
	}
	refusals := map[string]struct {
		code   string
		status int
	}{
		"alice_audience_denied":   {"AccessDenied", 403},
		"alice_duration_denied":   {"AccessDenied", 403},
		"alice_algorithm_invalid": {"ValidationError", 400},
		"alice_duration_invalid":  {"ValidationError", 400},
		"alice_too_large":         {"JWTPayloadSizeExceededException", 400},
		"scanner_escalation":      {"SessionDurationEscalationException", 403},
		"carl_disabled":           {"OutboundWebIdentityFederationDisabledException", 403},
	}
	check := func(t *testing.T, report map[string]step) {
		ok, refused := steps(t, report, true)
		tokens := map[string]string{}
		for name, w := range wants {
			doc := ok(name)
			tok := str(doc["WebIdentityToken"])
			tokens[name] = tok
			checkIdentityToken(t, name, s, issuers[w.account], tok, doc["Expiration"], w)
		}
		for name, r := range refusals {
			refused(name, r.code, r.status)
		}
		if len(report) != len(wants)+len(refusals) {
			t.Errorf("report has %d steps, want %d", len(report), len(wants)+len(refusals))
		}
		// One account's issuer is never fooled by another's tokens, though
		// both are signed with the same keys.
		if tok := tokens["bert"]; tok != "" {
			if _, err := oidcVerify(issuers[account], "svc-a", tok); err == nil {
				t.Error("account B's token verified against account A's issuer")
			}
		}
		if tok := tokens["alice_rs256"]; tok != "" {
			if _, err := oidcVerify(issuers[witAccountB], "svc-a", tok); err == nil {
				t.Error("account A's token verified against account B's issuer")
			}
			if _, err := oidcVerify(issuers[account], "svc-b", tok); err == nil {
				t.Error("a token for svc-a verified for svc-b")
			}
		}
	}
	t.Run("aws-sdk-go-v2", func(t *testing.T) { check(t, goWebIdentityTokens(s, in)) })
	t.Run("boto3", func(t *testing.T) {
		py := requireTool(t, "python3")
		cmd := exec.Command(py, "clients/web_identity_token_boto3.py")
		cmd.Env = cleanEnv(t)
		check(t, runScript(t, "KEYLESS_WIT", in, cmd))
	})
	t.Run("client-sts", func(t *testing.T) {
		node := requireTool(t, "node")
		if _, err := os.Stat("js/node_modules/@aws-sdk/client-sts/package.json"); err != nil {
			missing(t, "@aws-sdk/client-sts is not installed (npm ci --prefix test/e2e/js)")
		}
		cmd := exec.Command(node, "web_identity_token.mjs")
		cmd.Dir = "js"
		cmd.Env = cleanEnv(t)
		check(t, runScript(t, "KEYLESS_WIT", in, cmd))
	})
	// Every call was audited once, and no token reached the audit trail
	// or the log.
	events := countEvents(t, s, "GetWebIdentityToken", "")
	if events != 3*len(in.Calls) {
		t.Errorf("%d GetWebIdentityToken events, want %d", events, 3*len(in.Calls))
	}
	for _, text := range []string{auditText(t, s.dataDir), s.Logs.String()} {
		if strings.Contains(text, "eyJ") {
			t.Error("a JWT reached the audit trail or the log")
		}
	}
}

// logIssuers reads the account issuers the server logged at start.
func logIssuers(t *testing.T, s *server) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, line := range strings.Split(s.Logs.String(), "\n") {
		var l struct{ Msg, Account, Issuer string }
		if json.Unmarshal([]byte(line), &l) == nil && strings.HasPrefix(l.Msg, "account OIDC issuer") {
			out[l.Account] = l.Issuer
		}
	}
	return out
}

// goWebIdentityTokens makes the calls with aws-sdk-go-v2 and reports them
// as the scripts do.
func goWebIdentityTokens(s *server, in witInput) map[string]step {
	report := map[string]step{}
	for _, c := range in.Calls {
		req := &sts.GetWebIdentityTokenInput{Audience: c.Audience, SigningAlgorithm: aws.String(c.Algorithm)}
		if c.Duration != 0 {
			req.DurationSeconds = aws.Int32(c.Duration)
		}
		for _, tg := range c.Tags {
			req.Tags = append(req.Tags, types.Tag{Key: aws.String(tg.Key), Value: aws.String(tg.Value)})
		}
		out, err := goClient(s, c.Creds.AccessKeyID, c.Creds.SecretAccessKey, c.Creds.SessionToken).GetWebIdentityToken(context.Background(), req)
		if err != nil {
			code, status := proc.APICode(err)
			report[c.Name] = step{Error: code, Status: status, Message: err.Error()}
			continue
		}
		report[c.Name] = step{OK: map[string]any{"WebIdentityToken": aws.ToString(out.WebIdentityToken),
			"Expiration": out.Expiration.UTC().Format(time.RFC3339)}}
	}
	return report
}

// oidcVerify verifies a token as a relying party that trusts issuer for
// audience does, with coreos/go-oidc: discovery, key set, signature,
// iss, aud and exp.
func oidcVerify(issuer, audience, token string) (*oidc.IDToken, error) {
	ctx := context.Background()
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, err
	}
	return p.Verifier(&oidc.Config{ClientID: audience, SupportedSigningAlgs: []string{"RS256", "ES384"}}).Verify(ctx, token)
}

// checkIdentityToken checks an accepted GetWebIdentityToken's token.
func checkIdentityToken(t *testing.T, name string, s *server, issuer, token string, expiration any, w witWant) {
	t.Helper()
	for _, aud := range w.audience {
		idt, err := oidcVerify(issuer, aud, token)
		if err != nil {
			t.Errorf("%s: go-oidc refuses the token for %s: %v", name, aud, err)
			return
		}
		if idt.Subject != w.subject || idt.Issuer != issuer || strings.Join(idt.Audience, ",") != strings.Join(w.audience, ",") {
			t.Errorf("%s: sub %s iss %s aud %v", name, idt.Subject, idt.Issuer, idt.Audience)
		}
		if got := idt.Expiry.Sub(idt.IssuedAt); got != w.life {
			t.Errorf("%s: lives %s, want %s", name, got, w.life)
		}
		if exp, err := clientTime(str(expiration)); err != nil || !exp.Equal(idt.Expiry) {
			t.Errorf("%s: Expiration %v, token exp %s", name, expiration, idt.Expiry)
		}
		var claims struct {
			JTI string `json:"jti"`
			AWS struct {
				Account       string            `json:"aws_account"`
				Region        string            `json:"source_region"`
				PrincipalTags map[string]string `json:"principal_tags"`
				RequestTags   map[string]string `json:"request_tags"`
			} `json:"https://sts.amazonaws.com/"`
		}
		if err := idt.Claims(&claims); err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(claims.JTI) || claims.AWS.Account != w.account || claims.AWS.Region != "us-east-1" ||
			!maps.Equal(claims.AWS.PrincipalTags, w.principalTags) || !maps.Equal(claims.AWS.RequestTags, w.requestTags) {
			t.Errorf("%s: claims %+v", name, claims)
		}
	}
	hdr := strings.SplitN(token, ".", 2)[0]
	var h map[string]string
	decodeSegment(t, hdr, &h)
	if h["alg"] != w.algorithm || h["typ"] != "JWT" || h["kid"] == "" {
		t.Errorf("%s: header %v", name, h)
	}
}

// clientTime parses a time as the clients print it: RFC 3339 (Go, JS) or
// Python's str(datetime).
func clientTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02 15:04:05-07:00", s)
}
