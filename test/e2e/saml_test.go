package e2e

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// AssumeRoleWithSAML end to end: two SAML providers of one account, each a
// real IdP (crewjam/saml, test/samlidp) registered by its metadata file;
// alice at corp-idp signs in headlessly and her SAMLResponse goes through
// every client; replays, the wrong provider and a role her provider may not
// grant are refused; a partner-idp user gets the partner role; the source
// identity follows a chained AssumeRole into the audit trail; and the
// IdP's switch to a regional sign-in URL keeps working (aws-sts.md 4.3,
// 5.9; IAM User Guide, id_roles_providers_saml and
// id_roles_providers_create_saml_assertions).

// samlBase is keyless's public URL in these tests, as behind a
// TLS-terminating proxy: the sign-in URLs (Recipients) are made from
// saml.base_url, not from the address keyless listens on. The IdPs only
// name these URLs in their forms; the tests post the SAMLResponse to the
// API themselves.
const samlBase = "https://sts.keyless.test"

// The account's SAML providers and roles.
const (
	samlCorp           = "corp-idp"
	samlPartner        = "partner-idp"
	samlDevRole        = "saml-dev"   // trusts corp-idp, for BASE/saml and BASE/us-west-2/saml
	samlPartnerRole    = "partner-ro" // trusts partner-idp only
	samlChainedRole    = "chained"    // the account's sessions that carry a source identity
	samlSourceIdentity = "alice@corp"
	samlChainSession   = "alice-chained"
	alicePassword      = "alice-at-corp-password"
	patPassword        = "pat-at-partner-password"
)

// The attribute names AWS reads (IAM User Guide,
// id_roles_providers_create_saml_assertions), spelled out here rather than
// taken from keyless's code.
const (
	attrRole            = "https://aws.amazon.com/SAML/Attributes/Role"
	attrRoleSessionName = "https://aws.amazon.com/SAML/Attributes/RoleSessionName"
	attrSourceIdentity  = "https://aws.amazon.com/SAML/Attributes/SourceIdentity"
	attrSessionDuration = "https://aws.amazon.com/SAML/Attributes/SessionDuration"
	attrTeamTag         = "https://aws.amazon.com/SAML/Attributes/PrincipalTag:Team"
	attrTransitiveKeys  = "https://aws.amazon.com/SAML/Attributes/TransitiveTagKeys"
)

func samlProviderARN(name string) string { return "arn:aws:iam::" + account + ":saml-provider/" + name }

// samlSignIn are keyless's sign-in URLs for saml.regions [us-east-1,
// us-west-2]: BASE/saml, then BASE/REGION/saml.
var samlSignIn = []string{samlBase + "/saml", samlBase + "/us-east-1/saml", samlBase + "/us-west-2/saml"}

// nameQualifier is BASE64(SHA1(issuer + account + "/" + provider name))
// (IAM User Guide, id_roles_providers_saml, "Uniquely identifying users").
func nameQualifier(issuer, provider string) string {
	sum := sha1.Sum([]byte(issuer + account + "/" + provider))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// samlWorld is keyless with the two SAML providers, and their IdPs.
type samlWorld struct {
	s             *server
	stopped       func() string
	corp, partner *samlIdP
}

// startSAMLWorld starts the two IdPs with their users (alice at corp-idp,
// pat at partner-idp), saves their metadata to files, and starts keyless
// with both as SAML providers of the account.
func startSAMLWorld(t *testing.T) *samlWorld {
	t.Helper()
	w := &samlWorld{corp: startSAMLIdP(t, samlIdPOptions{}), partner: startSAMLIdP(t, samlIdPOptions{})}
	w.corp.AddUser(t, "alice", alicePassword, map[string][]string{
		// One pair written role first, one provider first: IdPs send both.
		attrRole: {roleARN(samlDevRole) + "," + samlProviderARN(samlCorp),
			samlProviderARN(samlPartner) + "," + roleARN(samlPartnerRole)},
		attrRoleSessionName: {"alice"},
		attrSourceIdentity:  {samlSourceIdentity},
		attrSessionDuration: {"1800"},
		attrTeamTag:         {"dev"},
		attrTransitiveKeys:  {"Team"},
	})
	w.partner.AddUser(t, "pat", patPassword, map[string][]string{
		attrRole:            {roleARN(samlPartnerRole) + "," + samlProviderARN(samlPartner)},
		attrRoleSessionName: {"pat"},
	})
	w.s, w.stopped = startWith(t, writeSAMLConfig(t, w.corp.MetadataXML(), w.partner.MetadataXML()))
	// keyless's service provider metadata, as its administrator uploads
	// it to each IdP: the document keyless serves.
	checkSPMetadata(t, w.s)
	served, err := getOK(&http.Client{Timeout: 10 * time.Second}, w.s.endpoint+"/saml/metadata.xml")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*samlIdP{w.corp, w.partner} {
		p.RegisterSP(t, served)
	}
	return w
}

// writeSAMLConfig writes the configuration (JSON is YAML) and returns its
// path.
func writeSAMLConfig(t *testing.T, corpMetadata, partnerMetadata []byte) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string][]byte{"corp-idp-metadata.xml": corpMetadata, "partner-idp-metadata.xml": partnerMetadata}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	samlActions := []string{"sts:AssumeRoleWithSAML", "sts:TagSession", "sts:SetSourceIdentity"}
	devTrust := federatedTrust(samlProviderARN(samlCorp), map[string]map[string]any{
		"StringEquals": {"SAML:aud": []string{samlBase + "/saml", samlBase + "/us-west-2/saml"}},
	}, samlActions...)
	partnerTrust := federatedTrust(samlProviderARN(samlPartner), map[string]map[string]any{
		"StringEquals": {"SAML:aud": samlBase + "/saml"},
	}, "sts:AssumeRoleWithSAML")
	chainedTrust, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Principal": map[string]any{"AWS": "arn:aws:iam::" + account + ":root"},
		"Action":    []string{"sts:AssumeRole", "sts:SetSourceIdentity"},
		"Condition": map[string]any{"StringLike": map[string]any{"aws:SourceIdentity": "*"}},
	}}})
	chainPolicy, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": []any{map[string]any{
		"Effect": "Allow", "Action": []string{"sts:AssumeRole", "sts:SetSourceIdentity"}, "Resource": roleARN(samlChainedRole),
	}}})
	doc := map[string]any{
		"saml": map[string]any{"base_url": samlBase, "regions": []string{"us-east-1", "us-west-2"}},
		"accounts": []any{map[string]any{
			"id": account, "alias": "saml-e2e",
			"saml_providers": []any{
				map[string]any{"name": samlCorp, "metadata_file": filepath.Join(dir, "corp-idp-metadata.xml")},
				map[string]any{"name": samlPartner, "metadata_file": filepath.Join(dir, "partner-idp-metadata.xml")},
			},
			"roles": []any{
				map[string]any{"name": samlDevRole, "trust_policy": devTrust,
					"policies": []any{map[string]any{"name": "chain", "document": string(chainPolicy)}}},
				map[string]any{"name": samlPartnerRole, "trust_policy": partnerTrust},
				map[string]any{"name": samlChainedRole, "trust_policy": string(chainedTrust)},
			},
		}},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "keyless.yaml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := keyless(t, nil, "config", "validate", path); code != 0 {
		t.Fatalf("keyless config validate: %s%s\n%s", out, errOut, b)
	}
	return path
}

// samlCall is one AssumeRoleWithSAML a client makes, unsigned.
type samlCall struct {
	Name         string `json:"name"`
	RoleARN      string `json:"roleArn"`
	PrincipalARN string `json:"principalArn"`
	Assertion    string `json:"assertion"`
}

// samlInput is what the client scripts are given ($KEYLESS_SAML).
type samlInput struct {
	Endpoint string     `json:"endpoint"`
	Calls    []samlCall `json:"calls"`
}

// boto3SAML makes each call with boto3 (no credentials: the action is
// unsigned) and prints the report; run in clients/ for report.call.
const boto3SAML = `
import json, os
import boto3
from report import call

cfg = json.loads(os.environ["KEYLESS_SAML"])
sts = boto3.client("sts", endpoint_url=cfg["endpoint"], region_name="us-east-1")
report = {}
for c in cfg["calls"]:
    report[c["name"]] = call(lambda: sts.assume_role_with_saml(
        RoleArn=c["roleArn"], PrincipalArn=c["principalArn"], SAMLAssertion=c["assertion"]))
print(json.dumps(report, default=str))
`

// jsSAML does the same with @aws-sdk/client-sts; run in js/.
const jsSAML = `
import { STSClient, AssumeRoleWithSAMLCommand } from "@aws-sdk/client-sts";

const cfg = JSON.parse(process.env.KEYLESS_SAML);
const sts = new STSClient({ region: "us-east-1", endpoint: cfg.endpoint });
const report = {};
for (const c of cfg.calls) {
  try {
    const { $metadata, ...rest } = await sts.send(
      new AssumeRoleWithSAMLCommand({ RoleArn: c.roleArn, PrincipalArn: c.principalArn, SAMLAssertion: c.assertion }),
    );
    report[c.name] = { ok: rest };
  } catch (e) {
    report[c.name] = { error: e.Code ?? e.name, status: e.$metadata?.httpStatusCode ?? 0, message: e.message };
  }
}
console.log(JSON.stringify(report));
`

// cliSAML runs `aws sts assume-role-with-saml` without credentials, the
// assertion read from a file as users pass it.
func cliSAML(t *testing.T, cli, endpoint string, c samlCall) step {
	t.Helper()
	file := filepath.Join(t.TempDir(), "saml-response.b64")
	if err := os.WriteFile(file, []byte(c.Assertion), 0o600); err != nil {
		t.Fatal(err)
	}
	doc, code, msg := cliRunner{t, cli, endpoint}.call(tempCreds{}, "assume-role-with-saml", "--role-arn", c.RoleARN,
		"--principal-arn", c.PrincipalARN, "--saml-assertion", "file://"+file)
	return step{OK: doc, Error: code, Message: msg}
}

// goSAML calls AssumeRoleWithSAML with aws-sdk-go-v2 and returns the
// response as the scripts report it.
func goSAML(t *testing.T, s *server, c samlCall) step {
	t.Helper()
	out, err := anonymousSTS(s).AssumeRoleWithSAML(context.Background(), &sts.AssumeRoleWithSAMLInput{
		RoleArn: aws.String(c.RoleARN), PrincipalArn: aws.String(c.PrincipalARN), SAMLAssertion: aws.String(c.Assertion)})
	return sdkStep(t, c.Name, out, err)
}

// samlWant is what a granted AssumeRoleWithSAML answers.
type samlWant struct {
	Role, Session, Subject, Issuer, Audience, Provider, SourceIdentity string
	// Duration is the session's length; Tagged, that the session has tags
	// (so PackedPolicySize is sent).
	Duration time.Duration
	Tagged   bool
}

// checkSAML checks a granted answer as a client decoded it (the same
// member names in every client), issued between before and after, and
// that its credentials are the role session's; it returns them.
func checkSAML(t *testing.T, s *server, name string, got step, w samlWant, before, after time.Time) tempCreds {
	t.Helper()
	doc := got.OK
	if doc == nil {
		t.Errorf("%s: refused with %s %d: %s", name, got.Error, got.Status, got.Message)
		return tempCreds{}
	}
	creds, _ := doc["Credentials"].(map[string]any)
	c := tempCreds{str(creds["AccessKeyId"]), str(creds["SecretAccessKey"]), str(creds["SessionToken"])}
	if !strings.HasPrefix(c.AccessKeyID, "ASIA") || len(c.SecretAccessKey) != 40 || c.SessionToken == "" {
		t.Errorf("%s: credentials %s, %d-character secret, %d-character token", name, c.AccessKeyID, len(c.SecretAccessKey), len(c.SessionToken))
	}
	// Issued whole seconds; the SessionDuration attribute shortens the
	// default hour.
	exp, err := parseExpiration(creds["Expiration"])
	if err != nil || exp.After(after.Add(w.Duration)) || exp.Before(before.Add(w.Duration).Add(-time.Second)) {
		t.Errorf("%s: Expiration %v (%v), want %v after the call", name, creds["Expiration"], err, w.Duration)
	}
	user, _ := doc["AssumedRoleUser"].(map[string]any)
	if arn := assumedRoleARN(w.Role, w.Session); user["Arn"] != arn || !strings.HasPrefix(str(user["AssumedRoleId"]), "AROA") ||
		!strings.HasSuffix(str(user["AssumedRoleId"]), ":"+w.Session) {
		t.Errorf("%s: AssumedRoleUser %v, want Arn %s", name, user, arn)
	}
	wantQualifier := nameQualifier(w.Issuer, w.Provider)
	for member, want := range map[string]string{
		"Subject": w.Subject, "SubjectType": "transient", "Issuer": w.Issuer, "Audience": w.Audience,
		"NameQualifier": wantQualifier, "SourceIdentity": w.SourceIdentity,
	} {
		if str(doc[member]) != want {
			t.Errorf("%s: %s = %v, want %q", name, member, doc[member], want)
		}
	}
	if _, ok := doc["PackedPolicySize"].(float64); w.Tagged && !ok {
		t.Errorf("%s: PackedPolicySize %v, want a percentage for the session tags", name, doc["PackedPolicySize"])
	}
	if c.SessionToken != "" {
		if id := goIdentity(t, s, c.AccessKeyID, c.SecretAccessKey, c.SessionToken); id.ARN != assumedRoleARN(w.Role, w.Session) || id.Account != account {
			t.Errorf("%s: GetCallerIdentity with the session: %+v", name, id)
		}
	}
	return c
}

// parseExpiration reads an Expiration as the clients print it: RFC 3339
// (the CLIs, the SDKs), or Python's str(datetime) (boto3's report).
func parseExpiration(v any) (time.Time, error) {
	s := str(v)
	if len(s) > 10 && s[10] == ' ' {
		s = s[:10] + "T" + s[11:]
	}
	return time.Parse(time.RFC3339Nano, s)
}

// TestSAMLTwoIdPWalkthrough is the two-IdP walkthrough (see the top of
// this file) with the AWS CLI v1 and v2, boto3, aws-sdk-go-v2 and
// @aws-sdk/client-sts.
func TestSAMLTwoIdPWalkthrough(t *testing.T) {
	ctx := context.Background()
	w := startSAMLWorld(t)
	s := w.s
	quickExit(t)

	corpIssuer, partnerIssuer := w.corp.URL+"/metadata", w.partner.URL+"/metadata"
	aliceWant := func(audience string) samlWant {
		return samlWant{Role: samlDevRole, Session: "alice", Subject: samlNameID("alice"), Issuer: corpIssuer, Audience: audience,
			Provider: samlCorp, SourceIdentity: samlSourceIdentity, Duration: 1800 * time.Second, Tagged: true}
	}
	// Every SAMLResponse sent and every secret handed out, for the
	// leak check at the end; granted counts alice's saml-dev sessions.
	var used []string
	var issued []tempCreds
	granted := 0
	// fresh is a new assertion of alice's, for the call name, role and
	// provider: assertions are single-use.
	fresh := func(t *testing.T, name, role, provider string) samlCall {
		t.Helper()
		a := w.corp.SAMLResponse(t, "alice", alicePassword)
		used = append(used, a)
		return samlCall{Name: name, RoleARN: roleARN(role), PrincipalARN: samlProviderARN(provider), Assertion: a}
	}
	// grantedAndReplayed checks a client's answers to alice's assertion
	// and to the same assertion again.
	grantedAndReplayed := func(t *testing.T, report map[string]step, before, after time.Time, withStatus bool) {
		t.Helper()
		if c := checkSAML(t, s, "alice", report["alice"], aliceWant(samlBase+"/saml"), before, after); c.SessionToken != "" {
			issued = append(issued, c)
			granted++
		}
		_, refused := steps(t, report, withStatus)
		refused("replay", "InvalidIdentityToken", 400)
	}
	replayOf := func(c samlCall) samlCall { c.Name = "replay"; return c }

	viaCLI := func(t *testing.T, cli string) {
		c := fresh(t, "alice", samlDevRole, samlCorp)
		report := map[string]step{}
		before := time.Now()
		report["alice"] = cliSAML(t, cli, s.endpoint, c)
		after := time.Now()
		report["replay"] = cliSAML(t, cli, s.endpoint, replayOf(c))
		grantedAndReplayed(t, report, before, after, false)
	}
	t.Run("AWSCLIv1", func(t *testing.T) {
		bin := requireTool(t, "aws")
		if out, _ := exec.Command(bin, "--version").CombinedOutput(); !strings.HasPrefix(string(out), "aws-cli/1.") {
			missing(t, "aws on PATH is not the AWS CLI v1: "+string(out))
		}
		viaCLI(t, bin)
	})
	t.Run("AWSCLIv2", func(t *testing.T) {
		const bin = "/usr/bin/aws"
		if _, err := os.Stat(bin); err != nil {
			missing(t, "Debian's awscli (v2) is not installed at /usr/bin/aws")
		}
		if out, _ := exec.Command(bin, "--version").CombinedOutput(); !strings.HasPrefix(string(out), "aws-cli/2.") {
			t.Fatalf("/usr/bin/aws is not the AWS CLI v2: %s", out)
		}
		// botocore sends AssumeRoleWithSAML unsigned (auth type none);
		// no --no-sign-request is needed.
		viaCLI(t, bin)
	})
	t.Run("boto3", func(t *testing.T) {
		py := requireTool(t, "python3")
		if err := exec.Command(py, "-c", "import boto3").Run(); err != nil {
			missing(t, "boto3 is not importable by python3")
		}
		c := fresh(t, "alice", samlDevRole, samlCorp)
		cmd := exec.Command(py, "-c", boto3SAML)
		cmd.Dir = "clients"
		cmd.Env = cleanEnv(t)
		before := time.Now()
		report := runScript(t, "KEYLESS_SAML", samlInput{Endpoint: s.endpoint, Calls: []samlCall{c, replayOf(c)}}, cmd)
		grantedAndReplayed(t, report, before, time.Now(), true)
	})
	t.Run("JavaScript", func(t *testing.T) {
		node := requireTool(t, "node")
		if _, err := os.Stat("js/node_modules/@aws-sdk/client-sts/package.json"); err != nil {
			missing(t, "@aws-sdk/client-sts is not installed (npm ci --prefix test/e2e/js)")
		}
		c := fresh(t, "alice", samlDevRole, samlCorp)
		cmd := exec.Command(node, "--input-type=module", "-e", jsSAML)
		cmd.Dir = "js"
		cmd.Env = cleanEnv(t)
		before := time.Now()
		report := runScript(t, "KEYLESS_SAML", samlInput{Endpoint: s.endpoint, Calls: []samlCall{c, replayOf(c)}}, cmd)
		grantedAndReplayed(t, report, before, time.Now(), true)
	})

	// aws-sdk-go-v2, then what only it is asked: the refusals, pat's
	// role, the chain and the regional sign-in URL.
	c := fresh(t, "alice", samlDevRole, samlCorp)
	before := time.Now()
	report := map[string]step{"alice": goSAML(t, s, c)}
	after := time.Now()
	report["replay"] = goSAML(t, s, replayOf(c))
	grantedAndReplayed(t, report, before, after, true)
	if report["alice"].OK == nil {
		t.Fatal("aws-sdk-go-v2: alice's assertion was refused; the rest of the walkthrough needs her session")
	}
	dev := issued[len(issued)-1]

	_, refused := steps(t, map[string]step{
		// corp's assertion, with the pair of alice's Role attribute that
		// names partner-idp: not partner-idp's Response.
		"partner provider": goSAML(t, s, fresh(t, "partner provider", samlPartnerRole, samlPartner)),
		// A role and provider that are no pair of her Role attribute,
		// and that partner-ro does not trust.
		"partner role, corp provider": goSAML(t, s, fresh(t, "partner role, corp provider", samlPartnerRole, samlCorp)),
	}, true)
	refused("partner provider", "InvalidIdentityToken", 400)
	refused("partner role, corp provider", "AccessDenied", 403)

	pat := w.partner.SAMLResponse(t, "pat", patPassword)
	used = append(used, pat)
	before = time.Now()
	got := goSAML(t, s, samlCall{Name: "pat", RoleARN: roleARN(samlPartnerRole), PrincipalARN: samlProviderARN(samlPartner), Assertion: pat})
	if c := checkSAML(t, s, "pat", got, samlWant{Role: samlPartnerRole, Session: "pat", Subject: samlNameID("pat"), Issuer: partnerIssuer,
		Audience: samlBase + "/saml", Provider: samlPartner, Duration: time.Hour}, before, time.Now()); c.SessionToken != "" {
		issued = append(issued, c)
	}

	// Role chaining: the source identity from the assertion stays.
	chained, err := goClient(s, dev.AccessKeyID, dev.SecretAccessKey, dev.SessionToken).AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String(roleARN(samlChainedRole)), RoleSessionName: aws.String(samlChainSession)})
	if err != nil {
		t.Fatalf("AssumeRole %s with alice's SAML session: %v", samlChainedRole, err)
	}
	if got := aws.ToString(chained.SourceIdentity); got != samlSourceIdentity {
		t.Errorf("the chained session's SourceIdentity is %q, want %q", got, samlSourceIdentity)
	}
	cc := chained.Credentials
	hop := tempCreds{aws.ToString(cc.AccessKeyId), aws.ToString(cc.SecretAccessKey), aws.ToString(cc.SessionToken)}
	issued = append(issued, hop)
	if id := goIdentity(t, s, hop.AccessKeyID, hop.SecretAccessKey, hop.SessionToken); id.ARN != assumedRoleARN(samlChainedRole, samlChainSession) {
		t.Errorf("the chained session is %+v", id)
	}

	// Failover: the IdP now posts to the us-west-2 sign-in URL; the same
	// role grants, and Audience (saml:aud) is that URL. The us-east-1 URL
	// is a sign-in URL too, but not one saml-dev's trust policy names.
	for _, tc := range []struct {
		acs  string
		code string
	}{{samlBase + "/us-west-2/saml", ""}, {samlBase + "/us-east-1/saml", "AccessDenied"}} {
		w.corp.RegisterSP(t, spMetadata(tc.acs))
		c := fresh(t, "regional "+tc.acs, samlDevRole, samlCorp)
		if r, _ := decodeSAMLResponse(t, c.Assertion); len(r.Assertions) != 1 || len(r.Assertions[0].Confirmations) != 1 ||
			r.Assertions[0].Confirmations[0].Data.Recipient != tc.acs {
			t.Fatalf("the IdP's Response after registering %s is not for it", tc.acs)
		}
		before := time.Now()
		got := goSAML(t, s, c)
		if tc.code != "" {
			if got.Error != tc.code || got.Status != 403 {
				t.Errorf("%s: got %q %d (%s), want %s 403", c.Name, got.Error, got.Status, got.Message, tc.code)
			}
			continue
		}
		if c := checkSAML(t, s, c.Name, got, aliceWant(tc.acs), before, time.Now()); c.SessionToken != "" {
			issued = append(issued, c)
			granted++
		}
	}

	checkSAMLAudit(t, s, granted)

	// Nothing secret in the server's log or audit trail: no issued secret
	// or token, no SAMLResponse, whole or cut, nor a signature from one.
	logs := w.stopped()
	secrets := map[string]string{"the start of a SAMLResponse": used[0][:64]}
	for i, a := range used {
		secrets[fmt.Sprintf("SAMLResponse %d", i)] = a
		r, _ := decodeSAMLResponse(t, a)
		for j, sig := range r.Signatures {
			secrets[fmt.Sprintf("SAMLResponse %d's signature %d", i, j)] = strings.Join(strings.Fields(sig.SignatureValue), "")
		}
	}
	for i, c := range issued {
		secrets[fmt.Sprintf("secret access key %d", i)] = c.SecretAccessKey
		secrets[fmt.Sprintf("session token %d", i)] = c.SessionToken
	}
	for where, text := range serverRecords(t, s, logs) {
		noSecrets(t, where, text, secrets)
	}
}

// checkSAMLAudit checks the audit trail: each of alice's granted
// AssumeRoleWithSAML events (granted of them) names her as a SAMLUser and
// records her source identity, replays are recorded as refused, and the
// chained AssumeRole carries the source identity in its caller's session
// context and in its answer.
func checkSAMLAudit(t *testing.T, s *server, granted int) {
	t.Helper()
	n, replays := 0, 0
	for _, e := range s.audit(t, "--event-name", "AssumeRoleWithSAML") {
		params, _ := e["requestParameters"].(map[string]any)
		resp, _ := e["responseElements"].(map[string]any)
		user, _ := e["userIdentity"].(map[string]any)
		switch code, _ := e["errorCode"].(string); {
		case code == "InvalidIdentityToken":
			replays++
		case code == "" && params["roleArn"] == roleARN(samlDevRole):
			n++
			if resp["sourceIdentity"] != samlSourceIdentity || user["type"] != "SAMLUser" || user["userName"] != samlNameID("alice") {
				t.Errorf("a granted AssumeRoleWithSAML event: userIdentity %v, responseElements %v", user, resp)
			}
		}
	}
	if n != granted {
		t.Errorf("%d granted AssumeRoleWithSAML events for saml-dev, want %d", n, granted)
	}
	if replays == 0 {
		t.Error("no refused AssumeRoleWithSAML event with InvalidIdentityToken")
	}

	var chained []map[string]any
	for _, e := range s.audit(t, "--event-name", "AssumeRole") {
		if params, _ := e["requestParameters"].(map[string]any); params["roleArn"] == roleARN(samlChainedRole) && e["errorCode"] == nil {
			chained = append(chained, e)
		}
	}
	if len(chained) != 1 {
		t.Fatalf("%d AssumeRole events for %s, want 1", len(chained), samlChainedRole)
	}
	user, _ := chained[0]["userIdentity"].(map[string]any)
	sc, _ := user["sessionContext"].(map[string]any)
	resp, _ := chained[0]["responseElements"].(map[string]any)
	if user["arn"] != assumedRoleARN(samlDevRole, "alice") || sc["sourceIdentity"] != samlSourceIdentity || resp["sourceIdentity"] != samlSourceIdentity {
		t.Errorf("the chained AssumeRole event: userIdentity %v, responseElements %v", user, resp)
	}
}

// checkSPMetadata checks keyless's service provider metadata
// (BASE/saml/metadata.xml, served at /saml/metadata.xml): entity id the
// first audience, and one HTTP-POST AssertionConsumerService per sign-in
// URL, the first the default (SAML metadata 2.4.4, 2.2.3). The tests
// register spMetadata(samlSignIn...) with the IdPs, which should say the
// same.
func checkSPMetadata(t *testing.T, s *server) {
	t.Helper()
	body, err := getOK(&http.Client{Timeout: 10 * time.Second}, s.endpoint+"/saml/metadata.xml")
	if err != nil {
		t.Errorf("keyless's SP metadata: %v", err)
		return
	}
	var md struct {
		XMLName  xml.Name
		EntityID string `xml:"entityID,attr"`
		ACS      []struct {
			Binding   string `xml:"Binding,attr"`
			Location  string `xml:"Location,attr"`
			Index     string `xml:"index,attr"`
			IsDefault string `xml:"isDefault,attr"`
		} `xml:"urn:oasis:names:tc:SAML:2.0:metadata SPSSODescriptor>AssertionConsumerService"`
	}
	if err := xml.Unmarshal(body, &md); err != nil {
		t.Errorf("keyless's SP metadata: %v\n%s", err, body)
		return
	}
	var locations []string
	for i, a := range md.ACS {
		locations = append(locations, a.Location)
		if a.Binding != bindingPOST || a.Index != fmt.Sprint(i) || (i == 0) != (a.IsDefault == "true") {
			t.Errorf("keyless's SP metadata: AssertionConsumerService %d is %+v", i, a)
		}
	}
	if md.XMLName != (xml.Name{Space: nsMetadata, Local: "EntityDescriptor"}) || md.EntityID != samlSPEntityID || !slices.Equal(locations, samlSignIn) {
		t.Errorf("keyless's SP metadata: %v, entityID %q, ACS %q; want entityID %s, ACS %q", md.XMLName, md.EntityID, locations, samlSPEntityID, samlSignIn)
	}
}
