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
	// The profile's default credential chain finds keyless through the
	// environment, as users point it there.
	cmd.Env = cleanEnv(t, "AWS_ENDPOINT_URL_STS="+in.Endpoint)
	writeProfiles(t, cmd.Env, "")
	checkScenario(t, runScenario(t, in, cmd))
}
