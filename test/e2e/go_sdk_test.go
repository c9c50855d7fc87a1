package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/keyless-dev/keyless/test/internal/proc"
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

// apiMessage returns the AWS error message the SDK reports.
func apiMessage(err error) string {
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return ""
	}
	return ae.ErrorMessage()
}

// goClientWith is an STS client of the server signing with a credentials
// provider.
func goClientWith(s *server, p aws.CredentialsProvider) *sts.Client {
	return sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(s.endpoint), Credentials: p})
}

// packedPolicySize is a response's PackedPolicySize, which keyless sends
// when a request passed session policies or tags. The SDK's STS model marks
// it deprecated in favour of SessionTokenUtilization, which keyless does
// not send (yet).
func packedPolicySize(out any) *int32 {
	switch o := out.(type) {
	case *sts.AssumeRoleOutput:
		//lint:ignore SA1019 the element under test
		return o.PackedPolicySize
	case *sts.GetFederationTokenOutput:
		//lint:ignore SA1019 the element under test
		return o.PackedPolicySize
	}
	panic("no PackedPolicySize in " + reflect.TypeOf(out).String())
}

func goTags(tags []tag) []types.Tag {
	out := make([]types.Tag, len(tags))
	for i, t := range tags {
		out[i] = types.Tag{Key: aws.String(t.Key), Value: aws.String(t.Value)}
	}
	return out
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
	if code, status := proc.APICode(err); code != "AccessDenied" || status != 403 {
		t.Errorf("GetSessionToken with session credentials: %v", err)
	}

	// One code, used and then replayed: computing it again could give the
	// next time step's code, which is a new code.
	bobCode := code(t)
	mfa, err := goClient(s, bobKey, bobSecret, "").GetSessionToken(ctx, &sts.GetSessionTokenInput{SerialNumber: aws.String(bobSerial), TokenCode: aws.String(bobCode)})
	if err != nil {
		t.Fatalf("GetSessionToken with MFA: %v", err)
	}
	if got := goIdentity(t, s, *mfa.Credentials.AccessKeyId, *mfa.Credentials.SecretAccessKey, *mfa.Credentials.SessionToken); got.ARN != bobARN {
		t.Errorf("bob's MFA session: %+v", got)
	}
	_, err = goClient(s, bobKey, bobSecret, "").GetSessionToken(ctx, &sts.GetSessionTokenInput{SerialNumber: aws.String(bobSerial), TokenCode: aws.String(bobCode)})
	if code, status := proc.APICode(err); code != "AccessDenied" || status != 403 {
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
		if code, status := proc.APICode(err); code != cr.code || status != cr.status {
			t.Errorf("%s: got %v", name, err)
		}
	}
}

// AssumeRole, GetFederationToken and DecodeAuthorizationMessage: the
// scripted clients' role steps (checkRoles), through the typed SDK.
func TestGoSDKRoles(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	alice := goClient(s, aliceKey, aliceSecret, "")
	aliceID := goIdentity(t, s, aliceKey, aliceSecret, "").UserID
	creds := func(c *types.Credentials) *sts.Client {
		return goClient(s, aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))
	}
	refused := func(name string, err error, wantCode string, wantStatus int) {
		t.Helper()
		if code, status := proc.APICode(err); code != wantCode || status != wantStatus {
			t.Errorf("%s: got %v, want %s %d", name, err, wantCode, wantStatus)
		}
	}

	// Demo with session tags (one transitive), a source identity and a
	// session policy.
	ar, err := alice.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String(roles.Demo), RoleSessionName: aws.String(roles.DemoSession),
		Tags: goTags(roles.Tags), TransitiveTagKeys: roles.TransitiveKeys,
		SourceIdentity: aws.String(roles.SourceIdentity), Policy: aws.String(roles.Policy),
	})
	if err != nil {
		t.Fatalf("AssumeRole Demo: %v", err)
	}
	demoARN, roleID := assumedRoleARN("Demo", roles.DemoSession), aws.ToString(ar.AssumedRoleUser.AssumedRoleId)
	if aws.ToString(ar.AssumedRoleUser.Arn) != demoARN || !strings.HasPrefix(roleID, "AROA") || !strings.HasSuffix(roleID, ":"+roles.DemoSession) {
		t.Errorf("AssumedRoleUser: %s %s", aws.ToString(ar.AssumedRoleUser.Arn), roleID)
	}
	if size := packedPolicySize(ar); size == nil || *size <= 0 || *size > 100 {
		t.Errorf("PackedPolicySize: %v", size)
	}
	if aws.ToString(ar.SourceIdentity) != roles.SourceIdentity {
		t.Errorf("SourceIdentity: %v", aws.ToString(ar.SourceIdentity))
	}
	if d := time.Until(aws.ToTime(ar.Credentials.Expiration)); !strings.HasPrefix(aws.ToString(ar.Credentials.AccessKeyId), "ASIA") || d < 59*time.Minute || d > time.Hour {
		t.Errorf("credentials: %s, expiring in %v", aws.ToString(ar.Credentials.AccessKeyId), d)
	}
	demo := creds(ar.Credentials)
	if id := goIdentity(t, s, aws.ToString(ar.Credentials.AccessKeyId), aws.ToString(ar.Credentials.SecretAccessKey), aws.ToString(ar.Credentials.SessionToken)); id != (identity{demoARN, roleID, account}) {
		t.Errorf("identity of the Demo session: %+v", id)
	}
	if info, err := demo.GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String(bobKey)}); err != nil || aws.ToString(info.Account) != account {
		t.Errorf("GetAccessKeyInfo with the Demo session: %v", err)
	}

	// The second hop inherits the source identity; the transitive tag key
	// cannot be set again.
	hop2, err := demo.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roles.Auditor), RoleSessionName: aws.String(roles.Hop2Session)})
	if err != nil {
		t.Fatalf("AssumeRole Auditor from Demo: %v", err)
	}
	if aws.ToString(hop2.AssumedRoleUser.Arn) != assumedRoleARN("Auditor", roles.Hop2Session) || aws.ToString(hop2.SourceIdentity) != roles.SourceIdentity {
		t.Errorf("second hop: %s, source identity %q", aws.ToString(hop2.AssumedRoleUser.Arn), aws.ToString(hop2.SourceIdentity))
	}
	if id := goIdentity(t, s, aws.ToString(hop2.Credentials.AccessKeyId), aws.ToString(hop2.Credentials.SecretAccessKey), aws.ToString(hop2.Credentials.SessionToken)); id.ARN != assumedRoleARN("Auditor", roles.Hop2Session) {
		t.Errorf("identity of the second hop: %+v", id)
	}
	_, err = demo.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roles.Auditor), RoleSessionName: aws.String(roles.Hop2Session),
		Tags: goTags([]tag{{roles.TransitiveKeys[0], "other"}})})
	refused("second hop setting the transitive tag key", err, "InvalidParameterValue", 400)

	// Partner needs the external id.
	partner, err := alice.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roles.Partner), RoleSessionName: aws.String(roles.PartnerSession), ExternalId: aws.String(roles.ExternalID)})
	if err != nil {
		t.Fatalf("AssumeRole Partner: %v", err)
	}
	if aws.ToString(partner.AssumedRoleUser.Arn) != assumedRoleARN("Partner", roles.PartnerSession) || packedPolicySize(partner) != nil {
		t.Errorf("Partner: %s, PackedPolicySize %v", aws.ToString(partner.AssumedRoleUser.Arn), packedPolicySize(partner))
	}
	_, err = alice.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roles.Partner), RoleSessionName: aws.String(roles.PartnerSession)})
	refused("Partner without the external id", err, "AccessDenied", 403)
	_, err = alice.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roles.Partner), RoleSessionName: aws.String(roles.PartnerSession), ExternalId: aws.String("not-the-external-id")})
	refused("Partner with a wrong external id", err, "AccessDenied", 403)

	// GetFederationToken; the federated user may call only
	// GetCallerIdentity.
	gft, err := alice.GetFederationToken(ctx, &sts.GetFederationTokenInput{Name: aws.String(roles.FederatedName), Policy: aws.String(roles.Policy)})
	if err != nil {
		t.Fatalf("GetFederationToken: %v", err)
	}
	fed := identity{"arn:aws:sts::" + account + ":federated-user/" + roles.FederatedName, account + ":" + roles.FederatedName, account}
	if aws.ToString(gft.FederatedUser.Arn) != fed.ARN || aws.ToString(gft.FederatedUser.FederatedUserId) != fed.UserID {
		t.Errorf("FederatedUser: %s %s", aws.ToString(gft.FederatedUser.Arn), aws.ToString(gft.FederatedUser.FederatedUserId))
	}
	if size := packedPolicySize(gft); size == nil || *size <= 0 || *size > 100 {
		t.Errorf("federation PackedPolicySize: %v", size)
	}
	if d := time.Until(aws.ToTime(gft.Credentials.Expiration)); d < 11*time.Hour+59*time.Minute || d > 12*time.Hour {
		t.Errorf("federation credentials expire in %v, want the default 12 hours", d)
	}
	if id := goIdentity(t, s, aws.ToString(gft.Credentials.AccessKeyId), aws.ToString(gft.Credentials.SecretAccessKey), aws.ToString(gft.Credentials.SessionToken)); id != fed {
		t.Errorf("identity of the federated user: %+v", id)
	}
	_, err = creds(gft.Credentials).GetAccessKeyInfo(ctx, &sts.GetAccessKeyInfoInput{AccessKeyId: aws.String(bobKey)})
	refused("GetAccessKeyInfo as the federated user", err, "AccessDenied", 403)

	// A policy refusal carries an encoded message that alice may decode,
	// and that the Demo session's policy keeps it from decoding.
	_, err = alice.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(roles.Admin), RoleSessionName: aws.String(roles.AdminSession)})
	refused("alice assuming Admin", err, "AccessDenied", 403)
	m := encodedMessage.FindStringSubmatch(apiMessage(err))
	if m == nil || !strings.HasPrefix(apiMessage(err), adminDenied) {
		t.Fatalf("alice assuming Admin: message %q", apiMessage(err))
	}
	decoded, err := alice.DecodeAuthorizationMessage(ctx, &sts.DecodeAuthorizationMessageInput{EncodedMessage: aws.String(m[1])})
	if err != nil {
		t.Fatalf("DecodeAuthorizationMessage: %v", err)
	}
	checkDecoded(t, aws.ToString(decoded.DecodedMessage), aliceID)
	_, err = demo.DecodeAuthorizationMessage(ctx, &sts.DecodeAuthorizationMessageInput{EncodedMessage: aws.String(m[1])})
	refused("DecodeAuthorizationMessage with the Demo session", err, "AccessDenied", 403)
	if !strings.Contains(apiMessage(err), "because no session policy allows the sts:DecodeAuthorizationMessage action") {
		t.Errorf("DecodeAuthorizationMessage with the Demo session: %q", apiMessage(err))
	}
}

// stscreds.AssumeRoleProvider behind aws.CredentialsCache, as Go programs
// assume roles: Demo with tags and a source identity, then Auditor from
// the Demo session (role chaining).
func TestGoSDKAssumeRoleProvider(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	const session = "e2e-provider"
	demo := aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(goClient(s, aliceKey, aliceSecret, ""), roles.Demo, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = session
		o.Duration = time.Hour
		o.Tags = goTags(roles.Tags)
		o.TransitiveTagKeys = roles.TransitiveKeys
		o.SourceIdentity = aws.String(roles.SourceIdentity)
		o.Policy = aws.String(roles.Policy)
	}))
	client := goClientWith(s, demo)
	for i := range 3 {
		id, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			t.Fatalf("GetCallerIdentity %d: %v", i, err)
		}
		if aws.ToString(id.Arn) != assumedRoleARN("Demo", session) || !strings.HasSuffix(aws.ToString(id.UserId), ":"+session) || aws.ToString(id.Account) != account {
			t.Errorf("GetCallerIdentity %d: %s %s", i, aws.ToString(id.Arn), aws.ToString(id.UserId))
		}
	}
	c, err := demo.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(c.Expires); !c.CanExpire || d < 59*time.Minute || d > time.Hour || c.AccountID != account || !strings.HasPrefix(c.AccessKeyID, "ASIA") {
		t.Errorf("cached credentials: %s, account %q, expiring in %v", c.AccessKeyID, c.AccountID, d)
	}

	// One AssumeRole served the three calls, and it carried the provider's
	// options.
	events := s.audit(t, "--event-name", "AssumeRole")
	if len(events) != 1 {
		t.Fatalf("%d AssumeRole events, want 1 (the cache serves the rest)", len(events))
	}
	params, _ := events[0]["requestParameters"].(map[string]any)
	if params["roleArn"] != roles.Demo || params["roleSessionName"] != session || params["sourceIdentity"] != roles.SourceIdentity ||
		params["policy"] != roles.Policy || params["durationSeconds"] != float64(3600) {
		t.Errorf("AssumeRole parameters: %v", params)
	}
	if tags, _ := json.Marshal(params["tags"]); string(tags) != `[{"key":"cost-center","value":"e2e"},{"key":"ticket","value":"T-42"}]` {
		t.Errorf("AssumeRole tags: %s", tags)
	}
	if keys, _ := json.Marshal(params["transitiveTagKeys"]); string(keys) != `["cost-center"]` {
		t.Errorf("AssumeRole transitive tag keys: %s", keys)
	}

	// Role chaining: a provider whose client signs with the first one.
	hop2 := aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(client, roles.Auditor, func(o *stscreds.AssumeRoleOptions) {
		o.RoleSessionName = roles.Hop2Session
	}))
	id, err := goClientWith(s, hop2).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != assumedRoleARN("Auditor", roles.Hop2Session) {
		t.Errorf("chained GetCallerIdentity: %v %v", id, err)
	}
	// A chained session lasts an hour at most.
	_, err = stscreds.NewAssumeRoleProvider(client, roles.Auditor, func(o *stscreds.AssumeRoleOptions) {
		o.Duration = 2 * time.Hour
	}).Retrieve(ctx)
	if code, status := proc.APICode(err); code != "ValidationError" || status != 400 {
		t.Errorf("chained session of two hours: %v", err)
	}
}

// The MFA role Admin through stscreds.AssumeRoleProvider with a
// TokenProvider computing bob's code. It has a server of its own: each
// code is accepted once per device, so no other test's codes can collide
// with this one's.
func TestGoSDKAssumeRoleProviderMFA(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	bob := goClient(s, bobKey, bobSecret, "")
	const session = "e2e-admin"

	_, err := bob.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(adminRole), RoleSessionName: aws.String(session)})
	if code, status := proc.APICode(err); code != "AccessDenied" || status != 403 {
		t.Errorf("Admin without MFA: %v", err)
	}

	var used []string
	withCode := func(next func() string) func(*stscreds.AssumeRoleOptions) {
		return func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = session
			o.SerialNumber = aws.String(bobSerial)
			o.TokenProvider = func() (string, error) {
				c := next()
				used = append(used, c)
				return c, nil
			}
		}
	}
	admin := aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(bob, adminRole, withCode(func() string { return code(t) })))
	id, err := goClientWith(s, admin).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Arn) != assumedRoleARN("Admin", session) {
		t.Fatalf("GetCallerIdentity as Admin: %v %v", id, err)
	}
	if len(used) != 1 {
		t.Fatalf("the token provider was called %d times, want 1", len(used))
	}

	// The same code again, through a new provider: refused.
	_, err = stscreds.NewAssumeRoleProvider(bob, adminRole, withCode(func() string { return used[0] })).Retrieve(ctx)
	if code, status := proc.APICode(err); code != "AccessDenied" || status != 403 {
		t.Errorf("Admin with a used code: %v", err)
	}
	// The audit trail says why each attempt was refused.
	var reasons []any
	for _, e := range s.audit(t, "--event-name", "AssumeRole") {
		extra, _ := e["additionalEventData"].(map[string]any)
		reasons = append(reasons, extra["reason"])
	}
	if want := []any{"policy_no_resource_policy_allow", nil, "mfa_code_reused"}; !reflect.DeepEqual(reasons, want) {
		t.Errorf("AssumeRole refusal reasons: %v, want %v", reasons, want)
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
