package e2e

import (
	"encoding/json"
	"os/exec"
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
	}
}

// runScenario runs a client script with the input in $KEYLESS_SCENARIO and
// returns its report.
func runScenario(t *testing.T, in scenarioInput, cmd *exec.Cmd) map[string]step {
	t.Helper()
	raw, _ := json.Marshal(in)
	cmd.Env = append(cmd.Env, "KEYLESS_SCENARIO="+string(raw))
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

// checkScenario asserts what every client must see.
func checkScenario(t *testing.T, report map[string]step) {
	t.Helper()
	ok := func(name string) map[string]any {
		s, found := report[name]
		if !found || s.OK == nil {
			t.Errorf("%s: %+v", name, s)
			return map[string]any{}
		}
		return s.OK
	}
	refused := func(name, code string, status int) {
		s := report[name]
		if s.Error != code || s.Status != status {
			t.Errorf("%s: got %q %d (%s), want %s %d", name, s.Error, s.Status, s.Message, code, status)
		}
	}
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
}

func str(v any) string { s, _ := v.(string); return s }
