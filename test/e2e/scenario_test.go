package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// scenarioInput is what a scripted client (boto3, JS) is given.
type scenarioInput struct {
	Endpoint string    `json:"endpoint"`
	Alice    tempCreds `json:"alice"`
	Bob      tempCreds `json:"bob"`
	Serial   string    `json:"serial"`
	Code     string    `json:"code"`
	Expired  tempCreds `json:"expired"`
	Tampered tempCreds `json:"tampered"`
	Roles    roleInput `json:"roles"`
	// Profile is the profile of the shared config file (writeProfiles)
	// whose credentials come from two role hops.
	Profile string `json:"profile"`
}

// roleInput is what every client asks of the quickstart's roles and of
// GetFederationToken.
type roleInput struct {
	Demo           string   `json:"demo"`
	Auditor        string   `json:"auditor"`
	Partner        string   `json:"partner"`
	Admin          string   `json:"admin"`
	ExternalID     string   `json:"externalId"`
	DemoSession    string   `json:"demoSession"`
	Hop2Session    string   `json:"hop2Session"`
	PartnerSession string   `json:"partnerSession"`
	AdminSession   string   `json:"adminSession"`
	FederatedName  string   `json:"federatedName"`
	Tags           []tag    `json:"tags"`
	TransitiveKeys []string `json:"transitiveKeys"`
	SourceIdentity string   `json:"sourceIdentity"`
	// Policy is the session policy of the Demo session and of the
	// federated user. Of the role's SelfService permissions it leaves
	// GetAccessKeyInfo but not DecodeAuthorizationMessage; and since
	// Auditor's trust policy names the role, not the session, the session
	// policy must allow the second hop too (IAM User Guide, "Session
	// policies"): AssumeRole, and SetSourceIdentity for the inherited
	// source identity.
	Policy string `json:"policy"`
}

type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

var roles = roleInput{
	Demo:           demoRole,
	Auditor:        auditorRole,
	Partner:        partnerRole,
	Admin:          adminRole,
	ExternalID:     partnerExternalID,
	DemoSession:    "e2e-demo",
	Hop2Session:    "e2e-hop2",
	PartnerSession: "e2e-partner",
	AdminSession:   "e2e-admin",
	FederatedName:  "e2e-federated",
	Tags:           []tag{{"cost-center", "e2e"}, {"ticket", "T-42"}},
	TransitiveKeys: []string{"cost-center"},
	SourceIdentity: "alice@example.com",
	Policy: `{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*",
		"Action": ["sts:GetAccessKeyInfo", "sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]}]}`,
}

// Role chaining as users write it: alice's static keys in the credentials
// file, profile demo assuming Demo with them, and hop2 assuming Auditor
// with demo's session, for the longest a chained session may last. demo's
// session name is left to the client. (An hour, not less: botocore
// refreshes assumed-role credentials 15 minutes before they expire, so it
// would not reuse a 15-minute session from its cache.)
const (
	chainProfile     = "hop2"
	chainSession     = "e2e-chain"
	chainCredentials = `[alice]
aws_access_key_id = ` + aliceKey + `
aws_secret_access_key = ` + aliceSecret + `
`
)

// chainConfig is the shared config file. With an endpoint, every profile
// names it in endpoint_url (AWS CLI 1.29+, boto3 1.28+), as the README
// shows; without, the client needs it from the environment.
func chainConfig(endpoint string) string {
	config := `[profile demo]
role_arn = ` + demoRole + `
source_profile = alice

[profile hop2]
role_arn = ` + auditorRole + `
source_profile = demo
role_session_name = ` + chainSession + `
duration_seconds = 3600
`
	if endpoint == "" {
		return config
	}
	config = "[profile alice]\n\n" + config
	return strings.ReplaceAll(config, "]\n", "]\nendpoint_url = "+endpoint+"\n")
}

// writeProfiles writes the chained profiles into the shared config and
// credentials files that env (from cleanEnv) names; endpoint is as for
// chainConfig.
func writeProfiles(t *testing.T, env []string, endpoint string) {
	t.Helper()
	files := map[string]string{"AWS_CONFIG_FILE=": chainConfig(endpoint), "AWS_SHARED_CREDENTIALS_FILE=": chainCredentials}
	for _, kv := range env {
		for prefix, text := range files {
			if path, ok := strings.CutPrefix(kv, prefix); ok {
				if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
					t.Fatal(err)
				}
				delete(files, prefix)
			}
		}
	}
	if len(files) != 0 {
		t.Fatalf("the environment names no %v", files)
	}
}

var encodedMessage = regexp.MustCompile(`Encoded authorization failure message: (\S+)`)

// adminDenied is the start of the message of alice's refused AssumeRole on
// Admin; the encoded authorization message follows it.
const adminDenied = "User: " + aliceARN + " is not authorized to perform: sts:AssumeRole on resource: " + adminRole + " "

// checkDecoded asserts the decoded authorization message of alice's
// refused AssumeRole on Admin: nothing allowed it (Admin trusts only bob),
// with the request as the trust policy saw it.
func checkDecoded(t *testing.T, decoded, aliceID string) {
	t.Helper()
	var m struct {
		Allowed           *bool  `json:"allowed"`
		ExplicitDeny      *bool  `json:"explicitDeny"`
		Reason            string `json:"reason"`
		MatchedStatements struct {
			Items []any `json:"items"`
		} `json:"matchedStatements"`
		Context struct {
			Principal struct {
				ID  string `json:"id"`
				ARN string `json:"arn"`
			} `json:"principal"`
			Action     string `json:"action"`
			Resource   string `json:"resource"`
			Conditions struct {
				Items []struct {
					Key    string `json:"key"`
					Values struct {
						Items []struct {
							Value string `json:"value"`
						} `json:"items"`
					} `json:"values"`
				} `json:"items"`
			} `json:"conditions"`
		} `json:"context"`
	}
	if err := json.Unmarshal([]byte(decoded), &m); err != nil {
		t.Fatalf("decoded message is not JSON: %v\n%s", err, decoded)
	}
	if m.Allowed == nil || *m.Allowed || m.ExplicitDeny == nil || *m.ExplicitDeny || m.Reason != "no-resource-policy-allow" || len(m.MatchedStatements.Items) != 0 {
		t.Errorf("decoded decision: %s", decoded)
	}
	c := m.Context
	if c.Principal.ARN != aliceARN || c.Principal.ID != aliceID || c.Action != "sts:AssumeRole" || c.Resource != adminRole {
		t.Errorf("decoded context: %+v", c)
	}
	conditions := map[string][]string{}
	for _, item := range c.Conditions.Items {
		for _, v := range item.Values.Items {
			conditions[item.Key] = append(conditions[item.Key], v.Value)
		}
	}
	for key, want := range map[string]string{
		"sts:RoleSessionName": roles.AdminSession, "aws:PrincipalArn": aliceARN, "aws:userid": aliceID,
		"aws:PrincipalTag/team": "platform", "aws:PrincipalAccount": account,
	} {
		if got := conditions[key]; len(got) != 1 || got[0] != want {
			t.Errorf("decoded condition %s: %q, want %q", key, got, want)
		}
	}
	if _, ok := conditions["aws:MultiFactorAuthPresent"]; ok {
		t.Errorf("alice's request had no MFA, but the decoded message says %q", conditions["aws:MultiFactorAuthPresent"])
	}
}

// step is one call's outcome as a client reported it.
type step struct {
	OK      map[string]any `json:"ok"`
	Error   string         `json:"error"`
	Status  int            `json:"status"`
	Message string         `json:"message"`
}

// newScenario starts a server and prepares the inputs, including an
// expired and a tampered session.
func newScenario(t *testing.T) (*server, scenarioInput) {
	s := startServer(t)
	aliceID := goIdentity(t, s, aliceKey, aliceSecret, "").UserID
	expired := s.forgeExpired(t, aliceID)
	live := goSession(t, s)
	return s, scenarioInput{
		Endpoint: s.endpoint,
		Alice:    tempCreds{AccessKeyID: aliceKey, SecretAccessKey: aliceSecret},
		Bob:      tempCreds{AccessKeyID: bobKey, SecretAccessKey: bobSecret},
		Serial:   bobSerial,
		Code:     code(t),
		Expired:  expired,
		Tampered: tamper(live),
		Roles:    roles,
		Profile:  chainProfile,
	}
}

// runScenario runs a client script with the input in $KEYLESS_SCENARIO and
// returns its report.
func runScenario(t *testing.T, in scenarioInput, cmd *exec.Cmd) map[string]step {
	t.Helper()
	return runScript(t, "KEYLESS_SCENARIO", in, cmd)
}

// runScript runs a client script with its input, as JSON, in the
// environment variable env, and returns its report.
func runScript(t *testing.T, env string, in any, cmd *exec.Cmd) map[string]step {
	t.Helper()
	raw, _ := json.Marshal(in)
	cmd.Env = append(cmd.Env, env+"="+string(raw))
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("%s: %v\n%s\n%s", cmd.Path, err, out, stderr)
	}
	var report map[string]step
	if err := json.Unmarshal(out, &report); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, out)
	}
	return report
}

// steps returns checks over a report: ok returns a step's result (and
// fails if it was refused); refused checks a step's error code and, when
// withStatus, its HTTP status.
func steps(t *testing.T, report map[string]step, withStatus bool) (ok func(string) map[string]any, refused func(string, string, int)) {
	ok = func(name string) map[string]any {
		t.Helper()
		s, found := report[name]
		if !found || s.OK == nil {
			t.Errorf("%s: %+v", name, s)
			return map[string]any{}
		}
		return s.OK
	}
	refused = func(name, code string, status int) {
		t.Helper()
		s := report[name]
		if s.Error != code || withStatus && s.Status != status {
			t.Errorf("%s: got %q %d (%s), want %s %d", name, s.Error, s.Status, s.Message, code, status)
		}
	}
	return ok, refused
}

// checkScenario asserts what every client must see.
func checkScenario(t *testing.T, report map[string]step) {
	t.Helper()
	ok, refused := steps(t, report, true)
	if id := ok("gci_alice"); id["Arn"] != aliceARN || id["Account"] != account || !strings.HasPrefix(str(id["UserId"]), "AIDA") {
		t.Errorf("gci_alice: %v", id)
	}
	creds, _ := ok("gst_alice")["Credentials"].(map[string]any)
	if !strings.HasPrefix(str(creds["AccessKeyId"]), "ASIA") || len(str(creds["SecretAccessKey"])) != 40 || str(creds["SessionToken"]) == "" || creds["Expiration"] == nil {
		t.Errorf("gst_alice credentials: %v", creds)
	}
	if id := ok("gci_session"); id["Arn"] != aliceARN {
		t.Errorf("gci_session: %v", id)
	}
	refused("gst_with_session", "AccessDenied", 403)
	ok("gst_bob_mfa")
	if id := ok("gci_bob_session"); id["Arn"] != bobARN {
		t.Errorf("gci_bob_session: %v", id)
	}
	refused("gst_bob_mfa_replay", "AccessDenied", 403)
	if a := ok("gaki"); a["Account"] != account {
		t.Errorf("gaki: %v", a)
	}
	refused("wrong_secret", "SignatureDoesNotMatch", 403)
	refused("expired", "ExpiredToken", 403)
	refused("tampered", "InvalidClientTokenId", 403)
	checkRoles(t, report, true)

	// The chained profiles of the shared config file.
	if id := ok("profile_chain"); id["Arn"] != assumedRoleARN("Auditor", chainSession) || id["Account"] != account {
		t.Errorf("profile_chain: %v", id)
	}
}

// checkRoles asserts what every client must see of roles, federation and
// authorization messages; withStatus is false for a client that does not
// report HTTP statuses (the AWS CLI).
func checkRoles(t *testing.T, report map[string]step, withStatus bool) {
	t.Helper()
	ok, refused := steps(t, report, withStatus)

	// AssumeRole on Demo with session tags (one transitive), a source
	// identity and a session policy.
	demoARN := assumedRoleARN("Demo", roles.DemoSession)
	ar := ok("ar_demo")
	user, _ := ar["AssumedRoleUser"].(map[string]any)
	roleID := str(user["AssumedRoleId"])
	if user["Arn"] != demoARN || !strings.HasPrefix(roleID, "AROA") || !strings.HasSuffix(roleID, ":"+roles.DemoSession) {
		t.Errorf("ar_demo AssumedRoleUser: %v", user)
	}
	if size, isNum := ar["PackedPolicySize"].(float64); !isNum || size <= 0 || size > 100 {
		t.Errorf("ar_demo PackedPolicySize: %v", ar["PackedPolicySize"])
	}
	if ar["SourceIdentity"] != roles.SourceIdentity {
		t.Errorf("ar_demo SourceIdentity: %v", ar["SourceIdentity"])
	}
	if creds, _ := ar["Credentials"].(map[string]any); !strings.HasPrefix(str(creds["AccessKeyId"]), "ASIA") || str(creds["SessionToken"]) == "" || creds["Expiration"] == nil {
		t.Errorf("ar_demo credentials: %v", creds)
	}
	if id := ok("gci_demo"); id["Arn"] != demoARN || id["UserId"] != roleID || id["Account"] != account {
		t.Errorf("gci_demo: %v", id)
	}
	// The session policy leaves GetAccessKeyInfo and takes away
	// DecodeAuthorizationMessage, which the role itself may call.
	if a := ok("gaki_demo"); a["Account"] != account {
		t.Errorf("gaki_demo: %v", a)
	}
	refused("decode_demo", "AccessDenied", 403)
	if m := report["decode_demo"].Message; !strings.Contains(m, "because no session policy allows the sts:DecodeAuthorizationMessage action") {
		t.Errorf("decode_demo message: %q", m)
	}
	// The second hop inherits the source identity; the transitive tag
	// key cannot be set again.
	hop2 := ok("ar_hop2")
	if user, _ := hop2["AssumedRoleUser"].(map[string]any); user["Arn"] != assumedRoleARN("Auditor", roles.Hop2Session) {
		t.Errorf("ar_hop2 AssumedRoleUser: %v", user)
	}
	if hop2["SourceIdentity"] != roles.SourceIdentity {
		t.Errorf("ar_hop2 SourceIdentity: %v", hop2["SourceIdentity"])
	}
	if id := ok("gci_hop2"); id["Arn"] != assumedRoleARN("Auditor", roles.Hop2Session) {
		t.Errorf("gci_hop2: %v", id)
	}
	refused("ar_hop2_transitive_clash", "InvalidParameterValue", 400)

	// Partner needs the external id.
	partner := ok("ar_partner")
	if user, _ := partner["AssumedRoleUser"].(map[string]any); user["Arn"] != assumedRoleARN("Partner", roles.PartnerSession) {
		t.Errorf("ar_partner AssumedRoleUser: %v", user)
	}
	if _, sent := partner["PackedPolicySize"]; sent {
		t.Errorf("ar_partner sent no policy or tags but got PackedPolicySize %v", partner["PackedPolicySize"])
	}
	refused("ar_partner_no_external_id", "AccessDenied", 403)
	refused("ar_partner_wrong_external_id", "AccessDenied", 403)

	// GetFederationToken; the federated user may call only
	// GetCallerIdentity.
	fedARN, fedID := "arn:aws:sts::"+account+":federated-user/"+roles.FederatedName, account+":"+roles.FederatedName
	gft := ok("gft")
	if user, _ := gft["FederatedUser"].(map[string]any); user["Arn"] != fedARN || user["FederatedUserId"] != fedID {
		t.Errorf("gft FederatedUser: %v", user)
	}
	if size, isNum := gft["PackedPolicySize"].(float64); !isNum || size <= 0 || size > 100 {
		t.Errorf("gft PackedPolicySize: %v", gft["PackedPolicySize"])
	}
	if id := ok("gci_federated"); id["Arn"] != fedARN || id["UserId"] != fedID || id["Account"] != account {
		t.Errorf("gci_federated: %v", id)
	}
	refused("gaki_federated", "AccessDenied", 403)

	// A policy refusal carries an encoded message that alice may decode.
	refused("ar_admin", "AccessDenied", 403)
	if m := report["ar_admin"].Message; !strings.HasPrefix(m, adminDenied) || !encodedMessage.MatchString(m) {
		t.Errorf("ar_admin message: %q", m)
	}
	checkDecoded(t, str(ok("decode")["DecodedMessage"]), str(ok("gci_alice")["UserId"]))
}

func str(v any) string { s, _ := v.(string); return s }
