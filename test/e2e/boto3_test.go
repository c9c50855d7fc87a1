package e2e

import (
	"os/exec"
	"testing"
)

func TestBoto3(t *testing.T) {
	py := requireTool(t, "python3")
	if err := exec.Command(py, "-c", "import boto3").Run(); err != nil {
		missing(t, "boto3 is not importable by python3")
	}
	_, in := newScenario(t)
	cmd := exec.Command(py, "clients/boto3_scenario.py")
	// boto3.Session(profile_name=...) finds keyless through the
	// environment, as users point it there.
	cmd.Env = cleanEnv(t, "AWS_ENDPOINT_URL_STS="+in.Endpoint)
	writeProfiles(t, cmd.Env, "")
	checkScenario(t, runScenario(t, in, cmd))
}
