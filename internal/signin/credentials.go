package signin

import (
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/sts"
)

// Credentials is the credentials page: the values, and the same values as
// copy-paste blocks for bash, the shared credentials and config files (AWS
// SDKs and Tools Reference Guide, "Shared config and credentials files"
// and "Service-specific endpoints"), and PowerShell.
type Credentials struct {
	RoleARN, SessionARN, SessionID      string
	AccessKeyID, SecretAccessKey, Token string
	Expiration                          string
	Endpoint, Region, Profile           string
	EnvBash, ProfileText, ConfigText    string
	EnvPowerShell                       string
}

// NewCredentials renders a role session's values for the page. It refuses
// values that would not stay one token in a shell or an INI file (none
// that keyless issues).
func NewCredentials(role, region, endpoint string, res sts.AssumeRoleResult) (*Credentials, bool) {
	c := res.Credentials
	v := &Credentials{
		RoleARN: role, SessionARN: res.AssumedRoleARN, SessionID: res.AssumedRoleID,
		AccessKeyID: c.AccessKeyID, SecretAccessKey: c.Secret.Reveal(), Token: c.SessionToken.Reveal(),
		Expiration: c.Expiration.UTC().Format(time.RFC3339),
		Endpoint:   endpoint, Region: region, Profile: "keyless-" + RoleName(role),
	}
	for _, s := range []string{v.AccessKeyID, v.SecretAccessKey, v.Token, v.Endpoint, v.Region, v.Profile} {
		if !plain(s) {
			return nil, false
		}
	}
	env := [][2]string{
		{"AWS_ACCESS_KEY_ID", v.AccessKeyID}, {"AWS_SECRET_ACCESS_KEY", v.SecretAccessKey}, {"AWS_SESSION_TOKEN", v.Token},
		{"AWS_REGION", v.Region}, {"AWS_ENDPOINT_URL_STS", v.Endpoint},
	}
	var bash, ps strings.Builder
	for _, kv := range env {
		bash.WriteString("export " + kv[0] + "=" + shellQuote(kv[1]) + "\n")
		ps.WriteString("$Env:" + kv[0] + "=" + psQuote(kv[1]) + "\n")
	}
	v.EnvBash, v.EnvPowerShell = bash.String(), ps.String()
	v.ProfileText = "[" + v.Profile + "]\n" +
		"aws_access_key_id = " + v.AccessKeyID + "\n" +
		"aws_secret_access_key = " + v.SecretAccessKey + "\n" +
		"aws_session_token = " + v.Token + "\n"
	v.ConfigText = "[profile " + v.Profile + "]\n" +
		"region = " + v.Region + "\n" +
		"services = " + v.Profile + "\n\n" +
		"[services " + v.Profile + "]\n" +
		"sts =\n" +
		"  endpoint_url = " + v.Endpoint + "\n"
	return v, true
}

// plain reports printable ASCII without spaces.
func plain(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// shellQuote single-quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// psQuote single-quotes s for PowerShell.
func psQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
