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
	cmd.Env = cleanEnv(t)
	checkScenario(t, runScenario(t, in, cmd))
}
