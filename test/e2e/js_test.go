package e2e

import (
	"os"
	"os/exec"
	"testing"
)

// TestJavaScriptSDK runs @aws-sdk/client-sts, which `make test` installs
// into test/e2e/js with npm ci.
func TestJavaScriptSDK(t *testing.T) {
	node := requireTool(t, "node")
	if _, err := os.Stat("js/node_modules/@aws-sdk/client-sts/package.json"); err != nil {
		missing(t, "@aws-sdk/client-sts is not installed (npm ci --prefix test/e2e/js)")
	}
	_, in := newScenario(t)
	cmd := exec.Command(node, "scenario.mjs")
	cmd.Dir = "js"
	cmd.Env = cleanEnv(t)
	checkScenario(t, runScenario(t, in, cmd))
}
