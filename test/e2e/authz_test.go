package e2e

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/keyless-dev/keyless/test/internal/proc"
)

const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// startProtectedService builds and runs examples/protected-service against
// s, as its documentation says to, and returns its base URL.
func startProtectedService(t *testing.T, s *server) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "protected-service")
	if out, err := exec.Command("go", "build", "-o", bin, "../../examples/protected-service").CombinedOutput(); err != nil {
		t.Fatalf("building the example: %v\n%s", err, out)
	}
	return startExampleServer(t, bin, []string{"KEYLESS_AUTHZ_ACCESS_KEY_ID=AKIAFILESSERVICE0001",
		"KEYLESS_AUTHZ_SECRET_ACCESS_KEY=filesServiceSecretFromTheQuickstart00001"}, "-keyless", s.endpoint, "-addr", "127.0.0.1:0")
}

type fileResponse struct {
	status    int
	body      string
	principal string
	code      string
	message   string
}

// get sends a GET signed for service "files" (no signature if creds is
// nil), as any SigV4 client would.
func get(t *testing.T, url string, creds *aws.Credentials) fileResponse {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if creds != nil {
		if err := v4.NewSigner().SignHTTP(context.Background(), *creds, req, emptySHA256, "files", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := fileResponse{status: resp.StatusCode, body: string(b), principal: resp.Header.Get("X-Principal-Arn")}
	if resp.StatusCode != 200 {
		var e struct{ Code, Message string }
		if err := xml.Unmarshal(b, &e); err != nil {
			t.Fatalf("error body %q: %v", b, err)
		}
		out.code, out.message = e.Code, e.Message
	}
	return out
}

// TestProtectedService runs the example resource server behind keyless's
// authorization API: tenant isolation by principal tag, role sessions, the
// encoded authorization message, and refusals.
func TestProtectedService(t *testing.T) {
	s := startServer(t)
	svc := startProtectedService(t, s)
	alice := &aws.Credentials{AccessKeyID: aliceKey, SecretAccessKey: aliceSecret}
	bob := &aws.Credentials{AccessKeyID: bobKey, SecretAccessKey: bobSecret}
	platform, finance := svc+"/demo-bucket/platform/report.txt", svc+"/demo-bucket/finance/budget.txt"

	if r := get(t, platform, alice); r.status != 200 || r.body != "platform team report\n" || r.principal != "arn:aws:iam::111122223333:user/alice" {
		t.Errorf("alice, her team's file: %+v", r)
	}
	r := get(t, finance, alice)
	const want = "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: s3:GetObject on resource: arn:aws:s3:::demo-bucket/finance/budget.txt because no identity-based policy allows the s3:GetObject action Encoded authorization failure message: "
	if r.status != 403 || r.code != "AccessDenied" || !strings.HasPrefix(r.message, want) {
		t.Fatalf("alice, another team's file: %+v", r)
	}
	// "Why was I denied?"
	out, err := goClient(s, aliceKey, aliceSecret, "").DecodeAuthorizationMessage(context.Background(),
		&sts.DecodeAuthorizationMessageInput{EncodedMessage: aws.String(strings.TrimPrefix(r.message, want))})
	if err != nil {
		t.Fatal(err)
	}
	var decoded struct {
		Allowed bool
		Reason  string
		Context struct {
			Action, Resource string
			Conditions       struct{ Items []struct{ Key string } }
		}
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.DecodedMessage)), &decoded); err != nil {
		t.Fatal(err)
	}
	if decoded.Allowed || decoded.Reason != "no-identity-policy-allow" || decoded.Context.Action != "s3:GetObject" || !strings.Contains(aws.ToString(out.DecodedMessage), `"aws:PrincipalTag/team"`) {
		t.Errorf("decoded: %s", aws.ToString(out.DecodedMessage))
	}
	// bob has no team tag: the policy variable does not resolve, nothing matches.
	if r := get(t, platform, bob); r.status != 403 || r.code != "AccessDenied" {
		t.Errorf("bob: %+v", r)
	}
	// A role session: Demo may read the whole bucket.
	ar, err := goClient(s, aliceKey, aliceSecret, "").AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::111122223333:role/Demo"), RoleSessionName: aws.String("files")})
	if err != nil {
		t.Fatal(err)
	}
	demo := &aws.Credentials{AccessKeyID: aws.ToString(ar.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(ar.Credentials.SecretAccessKey), SessionToken: aws.ToString(ar.Credentials.SessionToken)}
	if r := get(t, finance, demo); r.status != 200 || r.principal != "arn:aws:sts::111122223333:assumed-role/Demo/files" {
		t.Errorf("Demo session: %+v", r)
	}
	// Refusals of the signature itself.
	if r := get(t, platform, &aws.Credentials{AccessKeyID: aliceKey, SecretAccessKey: "wrong"}); r.status != 403 || r.code != "SignatureDoesNotMatch" {
		t.Errorf("wrong secret: %+v", r)
	}
	if r := get(t, platform, nil); r.status != 403 || r.code != "MissingAuthenticationToken" {
		t.Errorf("unsigned: %+v", r)
	}
	// Only principals with keyless:AuthorizeRequest may ask keyless.
	req, _ := http.NewRequest("POST", s.endpoint+"/v1/authorize", strings.NewReader("{}"))
	sum := "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a" // sha256("{}")
	if err := v4.NewSigner().SignHTTP(context.Background(), *alice, req, sum, "keyless", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 403 || !strings.Contains(string(b), `"code":"AccessDenied"`) {
		t.Errorf("alice calling the API: %d %s", resp.StatusCode, b)
	}

	// Revocation: every session of Demo issued before now stops working,
	// at STS and at the protected service, within the documented delay.
	if out, errOut, code := keyless(t, nil, "sessions", "revoke", "--role", "arn:aws:iam::111122223333:role/Demo", "--data-dir", s.dataDir); code != 0 ||
		!strings.Contains(out, "are revoked") {
		t.Fatalf("sessions revoke: %d %s %s", code, out, errOut)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := goClient(s, demo.AccessKeyID, demo.SecretAccessKey, demo.SessionToken).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
		if c, _ := proc.APICode(err); c == "InvalidClientTokenId" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the revoked session still works after 15 s: %v", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	if r := get(t, finance, demo); r.status != 403 || r.code != "InvalidClientTokenId" {
		t.Errorf("revoked session at the service: %+v", r)
	}
	// A session issued after the revocation works.
	ar, err = goClient(s, aliceKey, aliceSecret, "").AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::111122223333:role/Demo"), RoleSessionName: aws.String("files2")})
	if err != nil {
		t.Fatal(err)
	}
	if r := get(t, finance, &aws.Credentials{AccessKeyID: aws.ToString(ar.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(ar.Credentials.SecretAccessKey),
		SessionToken: aws.ToString(ar.Credentials.SessionToken)}); r.status != 200 {
		t.Errorf("new session: %+v", r)
	}
}
