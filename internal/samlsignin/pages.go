package samlsignin

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/arn"
	"github.com/keyless-dev/keyless/internal/sts"
)

// page is what a template renders. html/template escapes every value for
// where it appears.
type page struct {
	kind      string
	Title     string
	Static    string // root-relative path of signin.js and signin.css
	RequestID string

	SignInURL   string
	MetadataURL string

	// The chooser: the SAML subject, the roles by account, and the
	// Response posted back with the choice.
	Subject   string
	Groups    []group
	Assertion string
	// Nonce ties the chooser's form to the cookie set with it (login
	// CSRF: a role is chosen only on a page this browser was shown).
	Nonce  string
	cookie *http.Cookie

	// Issuer is the IdP, shown with Subject on the credentials page.
	Issuer string

	Creds *credentials

	// The error page.
	Code, Message, Encoded string
}

// group is an account's roles on the chooser, as the AWS sign-in page
// groups them.
type group struct {
	Account string
	Roles   []roleOption
}

// roleOption is one radio button: its value is the pair posted back.
type roleOption struct {
	ID, Value, Name, RoleARN, Provider string
	Checked                            bool
}

// chooser groups the offered pairs by the role's account, in the order
// the assertion lists them, without duplicates. With one pair it is
// preselected. pairs are the values, for the audit event.
func chooser(offer sts.SAMLOffer) (groups []group, pairs []string) {
	index := map[string]int{}
	seen := map[string]bool{}
	for _, rp := range offer.Roles {
		value := rp.Role + "," + rp.Provider
		if seen[value] {
			continue
		}
		seen[value] = true
		pairs = append(pairs, value)
		acct := accountOf(rp.Role)
		i, ok := index[acct]
		if !ok {
			i = len(groups)
			index[acct] = i
			groups = append(groups, group{Account: acct})
		}
		groups[i].Roles = append(groups[i].Roles, roleOption{Value: value, Name: roleName(rp.Role), RoleARN: rp.Role, Provider: rp.Provider})
	}
	n := 0
	for gi := range groups {
		for ri := range groups[gi].Roles {
			groups[gi].Roles[ri].ID = "role-" + strconv.Itoa(n)
			n++
		}
	}
	if n == 1 {
		groups[0].Roles[0].Checked = true
	}
	return groups, pairs
}

// accountOf is the account field of an ARN ("" if it is not one).
func accountOf(a string) string {
	p, err := arn.Parse(a)
	if err != nil {
		return ""
	}
	return p.AccountID
}

// roleName is the last segment of a role ARN's resource (role names
// have paths: role/PATH/NAME).
func roleName(a string) string {
	_, res, ok := strings.Cut(a, ":role/")
	if !ok {
		return a
	}
	return res[strings.LastIndexByte(res, '/')+1:]
}

// credentials is the credentials page: the values, and the same values
// as copy-paste blocks for bash, the shared credentials and config files
// (AWS SDKs and Tools Reference Guide, "Shared config and credentials
// files" and "Service-specific endpoints"), and PowerShell.
type credentials struct {
	RoleARN, SessionARN, SessionID      string
	AccessKeyID, SecretAccessKey, Token string
	Expiration                          string
	Endpoint, Region, Profile           string
	EnvBash, ProfileText, ConfigText    string
	EnvPowerShell                       string
}

// credentials renders a session's values. It refuses values that would
// not stay one token in a shell or an INI file (none that keyless issues).
func (h *Handler) credentials(role, region string, res sts.SAMLResult) (*credentials, bool) {
	c := res.Credentials
	v := &credentials{
		RoleARN: role, SessionARN: res.AssumedRoleARN, SessionID: res.AssumedRoleID,
		AccessKeyID: c.AccessKeyID, SecretAccessKey: c.Secret.Reveal(), Token: c.SessionToken.Reveal(),
		Expiration: c.Expiration.UTC().Format(time.RFC3339),
		Endpoint:   h.o.STSEndpoint, Region: region, Profile: "keyless-" + roleName(role),
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
