package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
)

func goClient(s *server, id, secret, token string) *sts.Client {
	return sts.New(sts.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(id, secret, token),
	})
}

type identity struct{ ARN, UserID, Account string }

func goIdentity(t *testing.T, s *server, id, secret, token string) identity {
	t.Helper()
	out, err := goClient(s, id, secret, token).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity: %v", err)
	}
	return identity{aws.ToString(out.Arn), aws.ToString(out.UserId), aws.ToString(out.Account)}
}

func goSession(t *testing.T, s *server) tempCreds {
	t.Helper()
	out, err := goClient(s, aliceKey, aliceSecret, "").GetSessionToken(context.Background(), &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	return tempCreds{aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken)}
}

// apiCode returns the AWS error code and HTTP status the SDK reports.
func apiCode(err error) (string, int) {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return "", 0
	}
	var re interface{ HTTPStatusCode() int }
	status := 0
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return ae.ErrorCode(), status
}

func TestGoSDK(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()

	alice := goIdentity(t, s, aliceKey, aliceSecret, "")
	if alice.ARN != aliceARN || alice.Account != account || !strings.HasPrefix(alice.UserID, "AIDA") || len(alice.UserID) != 21 {
		t.Fatalf("alice: %+v", alice)
	}

	out, err := goClient(s, aliceKey, aliceSecret, "").GetSessionToken(ctx, &sts.GetSessionTokenInput{DurationSeconds: aws.Int32(900)})
	if err != nil {
		t.Fatal(err)
	}
	c := out.Credentials
	if !strings.HasPrefix(*c.AccessKeyId, "ASIA") || len(*c.SecretAccessKey) != 40 || len(*c.SessionToken) >= 1024 {
		t.Errorf("credentials: %s, %d-char secret, %d-byte token", *c.AccessKeyId, len(*c.SecretAccessKey), len(*c.SessionToken))
	}
	if d := time.Until(*c.Expiration); d < 14*time.Minute || d > 15*time.Minute {
		t.Errorf("expires in %v", d)
	}
	if got := goIdentity(t, s, *c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken); got != alice {
		t.Errorf("identity with session credentials: %+v", got)
	}

	_, err = goClient(s, *c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken).GetSessionToken(ctx, &sts.GetSessionTokenInput{})
	if code, status := apiCode(err); code != "AccessDenied" || status != 403 {
		t.Errorf("GetSessionToken with session credentials: %v", err)
	}

	mfa, err := goClient(s, bobKey, bobSecret, "").GetSessionToken(ctx, &sts.GetSessionTokenInput{SerialNumber: aws.String(bobSerial), TokenCode: aws.String(code(t))})
	if err != nil {
		t.Fatalf("GetSessionToken with MFA: %v", err)
	}
	if got := goIdentity(t, s, *mfa.Credentials.AccessKeyId, *mfa.Credentials.SecretAccessKey, *mfa.Credentials.SessionToken); got.ARN != bobARN {
		t.Errorf("bob's MFA session: %+v", got)
	}
	_, err = goClient(s, bobKey, bobSecret, "").GetSessionToken(ctx, &sts.GetSessionTokenInput{SerialNumber: aws.String(bobSerial), TokenCode: aws.String(code(t))})
	if code, status := apiCode(err); code != "AccessDenied" || status != 403 {
		t.Errorf("replayed code: %v", err)
	}

	info, err := goClient(s, aliceKey, aliceSecret, "").GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String(bobKey)})
	if err != nil || aws.ToString(info.Account) != account {
		t.Errorf("GetAccessKeyInfo: %v %v", info, err)
	}

	for name, cr := range map[string]struct {
		creds  tempCreds
		code   string
		status int
	}{
		"wrong secret": {tempCreds{aliceKey, "not-the-secret", ""}, "SignatureDoesNotMatch", 403},
		"expired":      {s.forgeExpired(t, alice.UserID), "ExpiredToken", 403},
		"tampered":     {tamper(tempCreds{*c.AccessKeyId, *c.SecretAccessKey, *c.SessionToken}), "InvalidClientTokenId", 403},
		"unknown key":  {tempCreds{"AKIAUNKNOWNUNKNOWN22", aliceSecret, ""}, "InvalidClientTokenId", 403},
	} {
		_, err := goClient(s, cr.creds.AccessKeyID, cr.creds.SecretAccessKey, cr.creds.SessionToken).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if code, status := apiCode(err); code != cr.code || status != cr.status {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

// The pattern EKS and Vault-style verifiers use: a presigned
// GetCallerIdentity GET, answered in JSON for Accept: application/json.
func TestGoSDKPresigned(t *testing.T) {
	s := startServer(t)
	for _, c := range []tempCreds{{aliceKey, aliceSecret, ""}, goSession(t, s)} {
		p, err := sts.NewPresignClient(goClient(s, c.AccessKeyID, c.SecretAccessKey, c.SessionToken)).
			PresignGetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(p.Method, p.URL, nil)
		for k, v := range p.SignedHeader {
			req.Header[k] = v
		}
		req.Header.Set("Accept", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var doc struct {
			GetCallerIdentityResponse struct {
				GetCallerIdentityResult struct{ Arn, Account string }
			}
		}
		if err := json.Unmarshal(body, &doc); err != nil || resp.StatusCode != 200 || doc.GetCallerIdentityResponse.GetCallerIdentityResult.Arn != aliceARN {
			t.Errorf("presigned (token=%v): %d %s", c.SessionToken != "", resp.StatusCode, body)
		}
	}
}
