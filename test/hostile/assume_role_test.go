package hostile

import (
	"encoding/json"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/audit"
)

// The roles of testdata/roles.yaml (those of examples/quickstart.yaml).
const (
	demoARN     = "arn:aws:iam::111122223333:role/Demo"
	auditorARN  = "arn:aws:iam::111122223333:role/Auditor"
	partnerARN  = "arn:aws:iam::111122223333:role/Partner"
	adminARN    = "arn:aws:iam::111122223333:role/Admin"
	partnerXID  = "quickstart-partner-7f3a"
	carolSeed   = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	allowAll    = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`
	allowGAKI   = `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sts:GetAccessKeyInfo","Resource":"*"}}`
	denyAll     = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"NoWay","Effect":"Deny","Action":"*","Resource":"*"}]}`
	readBucket  = "arn:aws:iam::111122223333:policy/ReadDemoBucket"
	msgRoot     = "Roles may not be assumed by root accounts."
	msgChain    = "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
	msgRoleMax  = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
	msgARMFA    = "MultiFactorAuthentication failed with invalid MFA one time pass code."
	msgARMFAOne = "MultiFactorAuthentication failed, must provide both MFA serial number and one time pass code."
)

// assumeParams is the parameters of an AssumeRole of role, session s1.
func assumeParams(role string, extra ...string) string {
	return "&RoleArn=" + url.QueryEscape(role) + "&RoleSessionName=s1" + strings.Join(extra, "")
}

// q is one encoded parameter.
func q(name, value string) string { return "&" + name + "=" + url.QueryEscape(value) }

// tags is Tags.member.N for key, value pairs.
func tags(kv ...string) string {
	var b strings.Builder
	for i := 0; i < len(kv); i += 2 {
		n := strconv.Itoa(i/2 + 1)
		b.WriteString(q("Tags.member."+n+".Key", kv[i]) + q("Tags.member."+n+".Value", kv[i+1]))
	}
	return b.String()
}

// noise is n characters of letters and digits that do not compress,
// derived from seed.
func noise(seed, n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	r := rand.New(rand.NewPCG(uint64(seed), 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// call sends action with params, signed by c.
func (h *harness) call(c creds, action, params string) result {
	h.t.Helper()
	return h.send(h.sign(h.request("POST", "/", "Action="+action+"&Version=2011-06-15"+params), c, "us-east-1"))
}

// assumed is an AssumeRole that must succeed; it returns the role
// session's credentials.
func (h *harness) assumed(id string, c creds, params string) (result, creds) {
	h.t.Helper()
	r := h.call(c, "AssumeRole", params)
	h.assertOK(id, r)
	if !strings.HasPrefix(r.creds.id, "ASIA") || r.creds.secret == "" || r.creds.token == "" {
		h.t.Fatalf("%s: no credentials in %s", id, r.body)
	}
	return r, r.creds
}

// gaki is the follow-up call that needs a permission: GetAccessKeyInfo,
// allowed to alice and to role Demo by SelfService.
func (h *harness) gaki(c creds) result {
	h.t.Helper()
	return h.call(c, "GetAccessKeyInfo", "&AccessKeyId="+alice.id)
}

// arnOf returns the caller ARN GetCallerIdentity reports for c.
func (h *harness) arnOf(id string, c creds) string {
	h.t.Helper()
	r, who := h.identity(c)
	h.assertOK(id+" GetCallerIdentity", r)
	return who.Arn
}

// Section 3.B: AssumeRole, the shape and authorization refusals.
func TestAssumeRole(t *testing.T) {
	h := newHarnessWith(t, "roles.yaml")
	// A Demo session carrying a source identity and a transitive tag, for
	// the rows about chained calls (to Auditor, which trusts Demo).
	_, demo := h.assumed("setup", alice, assumeParams(demoARN, q("SourceIdentity", "alice"), tags("Dept", "eng"), q("TransitiveTagKeys.member.1", "Dept")))
	rootSess := h.session(root, "")
	fed := h.call(alice, "GetFederationToken", q("Name", "fed"))
	h.assertOK("setup federation token", fed)

	long := func(n int) string { return strings.Repeat("a", n) }
	many := func(n int, f func(i int) string) string {
		var b strings.Builder
		for i := 1; i <= n; i++ {
			b.WriteString(f(i))
		}
		return b.String()
	}
	rows := []struct {
		id     string
		c      creds
		params string
		status int
		code   string
		msg    string // exact message, when known
	}{
		// AR-02: malformed role ARNs. Those that pass the shape get
		// AWS's "… is invalid".
		{"AR-02 account of 2 digits", alice, assumeParams("arn:aws:iam::12:role/x"), 400, "ValidationError", "arn:aws:iam::12:role/x is invalid"},
		{"AR-02 wrong partition", alice, assumeParams("arn:aws-cn:iam::111122223333:role/Demo"), 400, "ValidationError", "arn:aws-cn:iam::111122223333:role/Demo is invalid"},
		{"AR-02 user ARN", alice, assumeParams("arn:aws:iam::111122223333:user/alice"), 400, "ValidationError", "arn:aws:iam::111122223333:user/alice is invalid"},
		{"AR-02 path traversal", alice, assumeParams("arn:aws:iam::111122223333:role/../Admin"), 400, "ValidationError", "arn:aws:iam::111122223333:role/../Admin is invalid"},
		{"AR-02 trailing space", alice, assumeParams(demoARN + " "), 400, "ValidationError", demoARN + "  is invalid"},
		{"AR-02 2049 characters", alice, assumeParams(demoARN + long(2049-len(demoARN))), 400, "ValidationError", ""},
		{"AR-02 NUL", alice, assumeParams("arn:aws:iam::111122223333:role/De\x00mo"), 400, "ValidationError", ""},
		{"AR-02 missing", alice, "&RoleSessionName=s1", 400, "ValidationError", ""},

		// AR-03: RoleSessionName is [\w+=,.@-]{2,64}.
		{"AR-03 1 character", alice, "&RoleArn=" + demoARN + "&RoleSessionName=a", 400, "ValidationError", ""},
		{"AR-03 65 characters", alice, "&RoleArn=" + demoARN + "&RoleSessionName=" + long(65), 400, "ValidationError", ""},
		{"AR-03 colon", alice, "&RoleArn=" + demoARN + q("RoleSessionName", "a:b"), 400, "ValidationError", ""},
		{"AR-03 slash", alice, "&RoleArn=" + demoARN + q("RoleSessionName", "a/b"), 400, "ValidationError", ""},
		{"AR-03 space", alice, "&RoleArn=" + demoARN + q("RoleSessionName", "a b"), 400, "ValidationError", ""},
		{"AR-03 newline", alice, "&RoleArn=" + demoARN + q("RoleSessionName", "ab\n"), 400, "ValidationError", ""},
		{"AR-03 Unicode", alice, "&RoleArn=" + demoARN + q("RoleSessionName", "alicé"), 400, "ValidationError", ""},
		{"AR-03 missing", alice, "&RoleArn=" + demoARN, 400, "ValidationError", ""},

		// AR-04: DurationSeconds is an integer in [900, 43200] and at most
		// the role's MaxSessionDuration (Demo 4h, Partner the default 1h).
		{"AR-04 899", alice, assumeParams(demoARN, "&DurationSeconds=899"), 400, "ValidationError", ""},
		{"AR-04 43201", alice, assumeParams(demoARN, "&DurationSeconds=43201"), 400, "ValidationError", ""},
		{"AR-04 negative", alice, assumeParams(demoARN, "&DurationSeconds=-1"), 400, "ValidationError", ""},
		{"AR-04 exponent", alice, assumeParams(demoARN, "&DurationSeconds=1e3"), 400, "ValidationError", ""},
		{"AR-04 hex", alice, assumeParams(demoARN, "&DurationSeconds=0x384"), 400, "ValidationError", ""},
		{"AR-04 leading space", alice, assumeParams(demoARN, "&DurationSeconds=%20900"), 400, "ValidationError", ""},
		{"AR-04 over Demo's 4h", alice, assumeParams(demoARN, "&DurationSeconds=14401"), 400, "ValidationError", msgRoleMax},
		{"AR-04 over Partner's 1h", alice, assumeParams(partnerARN, q("ExternalId", partnerXID), "&DurationSeconds=3601"), 400, "ValidationError", msgRoleMax},

		// AR-05: role chaining caps a session at one hour.
		{"AR-05 chained 3601", demo, assumeParams(auditorARN, "&DurationSeconds=3601"), 400, "ValidationError", msgChain},

		// AR-06: malformed session policies.
		{"AR-06 not JSON", alice, assumeParams(demoARN, q("Policy", "not json")), 400, "MalformedPolicyDocument", ""},
		{"AR-06 duplicate keys", alice, assumeParams(demoARN, q("Policy", `{"Version":"2012-10-17","Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}`)), 400, "MalformedPolicyDocument", ""},
		{"AR-06 trailing garbage", alice, assumeParams(demoARN, q("Policy", allowAll+" x")), 400, "MalformedPolicyDocument", ""},
		{"AR-06 unknown version", alice, assumeParams(demoARN, q("Policy", strings.Replace(allowAll, "2012-10-17", "2012-10-18", 1))), 400, "MalformedPolicyDocument", ""},
		{"AR-06 unknown element", alice, assumeParams(demoARN, q("Policy", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*","Bogus":1}}`)), 400, "MalformedPolicyDocument", ""},
		{"AR-06 Principal", alice, assumeParams(demoARN, q("Policy", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}`)), 400, "MalformedPolicyDocument", ""},
		{"AR-06 NotPrincipal", alice, assumeParams(demoARN, q("Policy", `{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotPrincipal":{"AWS":"*"},"Action":"*","Resource":"*"}}`)), 400, "MalformedPolicyDocument", ""},

		// AR-07: session policy characters and sizes, policy ARNs, the
		// packed limit.
		{"AR-07 character above U+00FF", alice, assumeParams(demoARN, q("Policy", strings.Replace(allowAll, `"*"}`, `"Ā"}`, 1))), 400, "ValidationError", ""},
		{"AR-07 control character", alice, assumeParams(demoARN, q("Policy", strings.Replace(allowAll, `"*"}`, "\"\x01\"}", 1))), 400, "ValidationError", ""},
		{"AR-07 2049 characters", alice, assumeParams(demoARN, q("Policy", allowAll+strings.Repeat(" ", 2049-len(allowAll)))), 400, "ValidationError", ""},
		{"AR-07 11 PolicyArns", alice, assumeParams(demoARN, many(11, func(i int) string { return q("PolicyArns.member."+strconv.Itoa(i)+".arn", readBucket) })), 400, "ValidationError", ""},
		{"AR-07 PolicyArns not an ARN", alice, assumeParams(demoARN, q("PolicyArns.member.1.arn", "ReadDemoBucket")), 400, "ValidationError", ""},
		{"AR-07 PolicyArns a role ARN", alice, assumeParams(demoARN, q("PolicyArns.member.1.arn", demoARN)), 400, "InvalidParameterValue", ""},
		{"AR-07 PolicyArns unknown policy", alice, assumeParams(demoARN, q("PolicyArns.member.1.arn", "arn:aws:iam::111122223333:policy/Missing")), 400, "InvalidParameterValue", ""},
		{"AR-07 packed over the limit", alice, assumeParams(demoARN, many(50, func(i int) string {
			n := strconv.Itoa(i)
			return q("Tags.member."+n+".Key", "k"+n) + q("Tags.member."+n+".Value", noise(i, 64))
		})), 400, "PackedPolicyTooLarge", ""},

		// AR-10: tags.
		{"AR-10 51 tags", alice, assumeParams(demoARN, many(51, func(i int) string {
			n := strconv.Itoa(i)
			return q("Tags.member."+n+".Key", "k"+n) + q("Tags.member."+n+".Value", "v")
		})), 400, "ValidationError", ""},
		{"AR-10 key of 129", alice, assumeParams(demoARN, tags(long(129), "v")), 400, "ValidationError", ""},
		{"AR-10 value of 257", alice, assumeParams(demoARN, tags("k", long(257))), 400, "ValidationError", ""},
		{"AR-10 aws: prefix", alice, assumeParams(demoARN, tags("aws:foo", "v")), 400, "InvalidParameterValue", ""},
		{"AR-10 AWS: prefix", alice, assumeParams(demoARN, tags("AWS:foo", "v")), 400, "InvalidParameterValue", ""},
		{"AR-10 Dept and dept", alice, assumeParams(demoARN, tags("Dept", "a", "dept", "b")), 400, "InvalidParameterValue",
			"Duplicate tag keys found. Please note that Tag keys are case insensitive."},
		{"AR-10 key with newline", alice, assumeParams(demoARN, tags("De\npt", "v")), 400, "ValidationError", ""},
		{"AR-10 key with <", alice, assumeParams(demoARN, tags("<Dept>", "v")), 400, "ValidationError", ""},
		{"AR-10 value with <", alice, assumeParams(demoARN, tags("Dept", "<script>")), 400, "ValidationError", ""},

		// AR-11: transitive keys must be among the tags, and may not
		// override a transitive tag of the calling session.
		{"AR-11 transitive key not tagged", alice, assumeParams(demoARN, tags("Dept", "eng"), q("TransitiveTagKeys.member.1", "Other")), 400, "InvalidParameterValue",
			"The specified transitive tag key must be included in the requested tags."},
		{"AR-11 transitive key without tags", alice, assumeParams(demoARN, q("TransitiveTagKeys.member.1", "Dept")), 400, "InvalidParameterValue", ""},
		{"AR-11 chained tag over a transitive one", demo, assumeParams(auditorARN, tags("dept", "ops")), 400, "InvalidParameterValue",
			"One of the specified transitive tag keys can't be set because it conflicts with a transitive tag key from the calling session."},

		// AR-13: Partner's trust policy does not grant sts:TagSession.
		{"AR-13 tags without sts:TagSession", alice, assumeParams(partnerARN, q("ExternalId", partnerXID), tags("Dept", "eng")), 403, "AccessDenied", ""},

		// AR-15: ExternalId is [\w+=,.@:/-]{2,1224}; a wrong or missing one
		// is refused by Partner's trust policy.
		{"AR-15 1 character", alice, assumeParams(partnerARN, q("ExternalId", "a")), 400, "ValidationError", ""},
		{"AR-15 1225 characters", alice, assumeParams(partnerARN, q("ExternalId", long(1225))), 400, "ValidationError", ""},
		{"AR-15 #", alice, assumeParams(partnerARN, q("ExternalId", "quickstart#7f3a")), 400, "ValidationError", ""},
		{"AR-15 space", alice, assumeParams(partnerARN, q("ExternalId", "quickstart 7f3a")), 400, "ValidationError", ""},
		{"AR-15 newline", alice, assumeParams(partnerARN, q("ExternalId", partnerXID+"\n")), 400, "ValidationError", ""},
		{"AR-15 wrong external id", alice, assumeParams(partnerARN, q("ExternalId", "quickstart-partner-0000")), 403, "AccessDenied", ""},
		{"AR-15 no external id", alice, assumeParams(partnerARN), 403, "AccessDenied", ""},

		// AR-16: SourceIdentity shape, and no change once set.
		{"AR-16 aws: prefix", alice, assumeParams(demoARN, q("SourceIdentity", "aws:alice")), 400, "ValidationError", ""},
		{"AR-16 65 characters", alice, assumeParams(demoARN, q("SourceIdentity", long(65))), 400, "ValidationError", ""},
		{"AR-16 1 character", alice, assumeParams(demoARN, q("SourceIdentity", "a")), 400, "ValidationError", ""},
		{"AR-16 changed in a chained call", demo, assumeParams(auditorARN, q("SourceIdentity", "mallory")), 403, "AccessDenied",
			"The source identity of the calling session cannot be changed."},
		{"AR-16 Partner does not grant sts:SetSourceIdentity", alice, assumeParams(partnerARN, q("ExternalId", partnerXID), q("SourceIdentity", "alice")), 403, "AccessDenied", ""},

		// AR-17: Admin requires MFA (bob's device, fresh, unused code).
		{"AR-17 no MFA", bob, assumeParams(adminARN), 403, "AccessDenied", ""},
		{"AR-17 wrong code", bob, assumeParams(adminARN, q("SerialNumber", bobSerial), q("TokenCode", "000000")), 403, "AccessDenied", msgARMFA},
		{"AR-17 serial without code", bob, assumeParams(adminARN, q("SerialNumber", bobSerial)), 403, "AccessDenied", msgARMFAOne},
		{"AR-17 code without serial", bob, assumeParams(adminARN, q("TokenCode", "123456")), 403, "AccessDenied", msgARMFAOne},
		{"AR-17 another user's device and code", bob, assumeParams(adminARN, q("SerialNumber", carolSerial), q("TokenCode", h.code(carolSeed, 0))), 403, "AccessDenied", msgARMFA},
		{"AR-17 unknown device", bob, assumeParams(adminARN, q("SerialNumber", "arn:aws:iam::111122223333:mfa/nobody"), q("TokenCode", h.code(bobSeed, 0))), 403, "AccessDenied", msgARMFA},
		{"AR-17 code of 5 digits", bob, assumeParams(adminARN, q("SerialNumber", bobSerial), q("TokenCode", "12345")), 400, "ValidationError", ""},

		// AR-19: root, directly or through a GetSessionToken session, and
		// GetFederationToken credentials.
		{"AR-19 root", root, assumeParams(demoARN), 403, "AccessDenied", msgRoot},
		{"AR-19 root session", rootSess, assumeParams(demoARN), 403, "AccessDenied", msgRoot},
		{"AR-19 federated user", fed.creds, assumeParams(demoARN), 403, "AccessDenied", ""},
	}
	for _, row := range rows {
		t.Run(row.id, func(t *testing.T) {
			h.t = t
			r := h.call(row.c, "AssumeRole", row.params)
			h.assertDenied(row.id, r, row.status, row.code)
			if row.msg != "" && r.message != row.msg {
				t.Errorf("%s: message %q, want %q", row.id, r.message, row.msg)
			}
			if strings.Contains(row.params, "TokenCode=") && regexp.MustCompile(`\d{6}`).MatchString(r.message) {
				t.Errorf("%s: a token code was echoed: %s", row.id, r.message)
			}
		})
	}
	h.t = t

	// The controls: the same roles, asked properly, answer.
	_, aud := h.assumed("AR-05 chained 3600", demo, assumeParams(auditorARN, "&DurationSeconds=3600", q("SourceIdentity", "alice")))
	if got := h.arnOf("AR-05", aud); got != "arn:aws:sts::111122223333:assumed-role/Auditor/s1" {
		t.Errorf("chained session ARN %s", got)
	}
	h.assumed("AR-04 Demo's 4h", alice, assumeParams(demoARN, "&DurationSeconds=14400"))
	h.assumed("AR-13 Demo grants sts:TagSession", alice, assumeParams(demoARN, tags("Dept", "eng", "Cost", "1")))
	h.assumed("AR-15 right external id", alice, assumeParams(partnerARN, q("ExternalId", partnerXID)))

	// AR-17: MFA, from the request or from the calling session, and each
	// code once.
	bobPlain := h.session(bob, "")
	bobMFA := h.session(bob, "&SerialNumber="+bobSerial+"&TokenCode="+h.code(bobSeed, 0))
	h.assertDenied("AR-17 session without MFA", h.call(bobPlain, "AssumeRole", assumeParams(adminARN)), 403, "AccessDenied")
	h.assumed("AR-17 session with MFA", bobMFA, assumeParams(adminARN))
	r := h.call(bob, "AssumeRole", assumeParams(adminARN, q("SerialNumber", bobSerial), q("TokenCode", h.code(bobSeed, 0))))
	h.assertDenied("AR-17 code already used for GetSessionToken", r, 403, "AccessDenied")
	h.assumed("AR-17 bob with his next code", bob, assumeParams(adminARN, q("SerialNumber", bobSerial), q("TokenCode", h.code(bobSeed, 1))))
	r = h.call(bob, "AssumeRole", assumeParams(adminARN, q("SerialNumber", bobSerial), q("TokenCode", h.code(bobSeed, 1))))
	h.assertDenied("AR-17 replayed code", r, 403, "AccessDenied")
	if r.message != msgARMFA {
		t.Errorf("AR-17 replayed code: message %q", r.message)
	}
	// Admin wants MFA less than an hour old.
	h.clock.Advance(time.Hour)
	h.assertDenied("AR-17 MFA an hour old", h.call(bobMFA, "AssumeRole", assumeParams(adminARN)), 403, "AccessDenied")
}

// AR-01: a role that does not exist and a role whose trust policy does not
// name the caller are refused alike: same code, and the same message but
// for the role ARN and the encoded authorization message, which is sealed
// with a fresh nonce for every refusal. (Tests never assert timings.)
func TestAssumeRoleExistenceOracle(t *testing.T) {
	h := newHarnessWith(t, "roles.yaml")
	message := func(r result, role string) string {
		m, _, _ := strings.Cut(r.message, " Encoded authorization failure message: ")
		return strings.ReplaceAll(m, role, "<role>")
	}
	for _, pair := range []struct {
		id            string
		c             creds
		exists, other string // role ARNs of the same length
		// sameLength: the whole messages, encoded part included, have
		// the same length. A tagged role (Demo) once gave itself away
		// here: its encoded message carried aws:ResourceTag/project,
		// which a caller of another account could decode. The tags are
		// now left out of AssumeRole refusals; this row is the
		// regression test.
		sameLength bool
	}{
		{"AR-01 untrusting role vs none", bob, demoARN, "arn:aws:iam::111122223333:role/Dem0", true},
		{"AR-01 condition-guarded role vs none", alice, partnerARN, "arn:aws:iam::111122223333:role/Partnex", true},
		{"AR-01 MFA-guarded role vs none", bob, adminARN, "arn:aws:iam::111122223333:role/Admix", true},
		{"AR-01 existing role vs a path that does not exist", bob, demoARN, "arn:aws:iam::111122223333:role/x/Demo", false},
		{"AR-01 existing role vs another account", bob, demoARN, "arn:aws:iam::444455556666:role/Demo", false},
		{"AR-01 cross-account caller, condition-guarded role vs none", eve, partnerARN, "arn:aws:iam::111122223333:role/Partnex", true},
		{"AR-01 cross-account caller, untrusting role vs none", eve, demoARN, "arn:aws:iam::111122223333:role/Dem0", true},
	} {
		t.Run(pair.id, func(t *testing.T) {
			h.t = t
			a := h.call(pair.c, "AssumeRole", assumeParams(pair.exists))
			b := h.call(pair.c, "AssumeRole", assumeParams(pair.other))
			h.assertDenied(pair.id+" existing", a, 403, "AccessDenied")
			h.assertDenied(pair.id+" missing", b, 403, "AccessDenied")
			ma, mb := message(a, pair.exists), message(b, pair.other)
			if ma != mb {
				t.Errorf("%s: messages differ:\n%s\n%s", pair.id, ma, mb)
			}
			if !strings.Contains(a.message, pair.exists) || !strings.Contains(b.message, pair.other) {
				t.Errorf("%s: the messages do not name the role: %q, %q", pair.id, a.message, b.message)
			}
			if strings.Contains(ma, "because") || strings.Contains(ma, "policy") {
				t.Errorf("%s: the message says why: %s", pair.id, ma)
			}
			if pair.sameLength && len(pair.exists) == len(pair.other) && len(a.message) != len(b.message) {
				t.Errorf("%s: message lengths %d and %d", pair.id, len(a.message), len(b.message))
			}
		})
	}
}

// AR-08 and AR-09: session policies only narrow, and Deny * leaves only
// GetCallerIdentity, checked with follow-up calls made with the issued
// credentials.
func TestAssumeRoleSessionPolicies(t *testing.T) {
	h := newHarnessWith(t, "roles.yaml")
	policyOf := func(p string) string { return q("Policy", p) }

	// Without a session policy Demo may call GetAccessKeyInfo (SelfService).
	_, plain := h.assumed("plain Demo session", alice, assumeParams(demoARN))
	h.assertOK("AR-08 Demo's own permission", h.gaki(plain))

	// AR-08: Allow *:* grants nothing the role lacks. Auditor has only
	// ReadDemoBucket (s3:GetObject, s3:ListBucket).
	_, broadDemo := h.assumed("AR-08 Demo with Allow *", alice, assumeParams(demoARN, policyOf(allowAll)))
	h.assertOK("AR-08 Allow * keeps what Demo allows", h.gaki(broadDemo))
	_, broadAud := h.assumed("AR-08 Auditor with Allow *", plain, assumeParams(auditorARN, policyOf(allowAll)))
	r := h.gaki(broadAud)
	h.assertDenied("AR-08 Allow * on a role that allows only s3", r, 403, "AccessDenied")
	if !strings.Contains(r.message, "because no identity-based policy allows the sts:GetAccessKeyInfo action") {
		t.Errorf("AR-08: %s", r.message)
	}
	// ... and narrows what the role allows.
	_, narrow := h.assumed("AR-08 Demo with ReadDemoBucket as session policy", alice, assumeParams(demoARN, q("PolicyArns.member.1.arn", readBucket)))
	r = h.gaki(narrow)
	h.assertDenied("AR-08 managed session policy without the action", r, 403, "AccessDenied")
	if !strings.Contains(r.message, "because no session policy allows the sts:GetAccessKeyInfo action") {
		t.Errorf("AR-08 narrow: %s", r.message)
	}
	_, only := h.assumed("AR-08 Demo with only GetAccessKeyInfo", alice, assumeParams(demoARN, policyOf(allowGAKI)))
	h.assertOK("AR-08 inside both", h.gaki(only))
	r = h.call(only, "DecodeAuthorizationMessage", q("EncodedMessage", "x"))
	h.assertDenied("AR-08 outside the session policy", r, 403, "AccessDenied")
	if !strings.Contains(r.message, "because no session policy allows the sts:DecodeAuthorizationMessage action") {
		t.Errorf("AR-08 outside: %s", r.message)
	}
	// AR-06's "Version 2008": a 2008-10-17 session policy is accepted, as
	// IAM accepts it, and narrows the same way.
	_, v2008 := h.assumed("AR-06 Version 2008-10-17", alice, assumeParams(demoARN, policyOf(strings.Replace(allowGAKI, "2012-10-17", "2008-10-17", 1))))
	h.assertOK("AR-06 2008 inside both", h.gaki(v2008))
	h.assertDenied("AR-06 2008 outside the session policy", h.call(v2008, "DecodeAuthorizationMessage", q("EncodedMessage", "x")), 403, "AccessDenied")

	// AR-09: Deny * refuses every action but GetCallerIdentity.
	_, denied := h.assumed("AR-09 Demo with Deny *", alice, assumeParams(demoARN, policyOf(denyAll)))
	if got := h.arnOf("AR-09", denied); got != "arn:aws:sts::111122223333:assumed-role/Demo/s1" {
		t.Errorf("AR-09 identity %s", got)
	}
	r = h.gaki(denied)
	h.assertDenied("AR-09 GetAccessKeyInfo", r, 403, "AccessDenied")
	if !strings.Contains(r.message, "with an explicit deny in a session policy") {
		t.Errorf("AR-09: %s", r.message)
	}
	for _, c := range []struct{ id, action, params string }{
		{"AR-09 DecodeAuthorizationMessage", "DecodeAuthorizationMessage", q("EncodedMessage", "x")},
		{"AR-09 AssumeRole (chaining)", "AssumeRole", assumeParams(auditorARN)},
		{"AR-09 GetSessionToken", "GetSessionToken", ""},
		{"AR-09 GetFederationToken", "GetFederationToken", q("Name", "fed")},
	} {
		h.assertDenied(c.id, h.call(denied, c.action, c.params), 403, "AccessDenied")
	}
}

// AR-18: a role deleted and re-created under the same name is a new
// principal. Sessions of the old role are refused (as GCI-06 pins it,
// InvalidClientTokenId), including for chaining to a role that trusts
// "role/Demo"; sessions of the new role are trusted, because the
// configuration names it.
func TestAssumeRoleRecreatedRole(t *testing.T) {
	h := newHarnessWith(t, "roles.yaml")
	_, old := h.assumed("AR-18 old Demo session", alice, assumeParams(demoARN))
	_, oldID := h.identity(old)
	h.assumed("AR-18 old session chains before", old, assumeParams(auditorARN))

	// Delete Demo (and Auditor, whose trust policy names it), then add
	// both back.
	h.boot(func(c string) string {
		i := strings.Index(c, "      - name: Demo\n")
		j := strings.Index(c, "      - name: Partner\n")
		return c[:i] + c[j:]
	})
	r := h.call(alice, "AssumeRole", assumeParams(demoARN))
	h.assertDenied("AR-18 deleted role", r, 403, "AccessDenied")
	h.boot(nil)

	r = h.call(old, "AssumeRole", assumeParams(auditorARN))
	h.assertDenied("AR-18 old session after re-creation", r, 403, "InvalidClientTokenId")
	rid, _ := h.identity(old)
	h.assertDenied("AR-18 old session's identity", rid, 403, "InvalidClientTokenId")

	_, fresh := h.assumed("AR-18 new Demo session", alice, assumeParams(demoARN))
	_, freshID := h.identity(fresh)
	if freshID.UserID == oldID.UserID || !strings.HasPrefix(freshID.UserID, "AROA") {
		t.Errorf("AR-18: the re-created role kept its id: %s, %s", oldID.UserID, freshID.UserID)
	}
	h.assumed("AR-18 new session chains", fresh, assumeParams(auditorARN))
}

// AR-20: a trust policy that trusts everyone, or every principal of
// another account, without a condition is refused when the configuration
// is loaded (the configuration is keyless's only way to write a trust
// policy), unless the role says broad_trust_intended: true.
func TestAssumeRoleBroadTrust(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "keyless")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/keyless").CombinedOutput(); err != nil {
		t.Fatalf("building keyless: %v\n%s", err, out)
	}
	base, err := os.ReadFile("testdata/roles.yaml")
	if err != nil {
		t.Fatal(err)
	}
	validate := func(extra string) (string, int) {
		t.Helper()
		cfg := strings.Replace(string(base), "    roles:\n", "    roles:\n"+extra, 1)
		path := filepath.Join(dir, "config.yaml")
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, "config", "validate", path).CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	role := func(principal, condition, intended string) string {
		if condition != "" {
			condition = `, "Condition": ` + condition
		}
		return "      - name: Open\n" + intended +
			"        trust_policy: '{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", \"Principal\": " + principal +
			", \"Action\": \"sts:AssumeRole\"" + condition + "}]}'\n"
	}
	const intended = "        broad_trust_intended: true\n"
	out, code := validate("")
	if code != 0 || !strings.Contains(out, "OK") {
		t.Fatalf("the base configuration: exit %d\n%s", code, out)
	}
	for _, c := range []struct{ id, principal, want string }{
		{"AR-20 Principal *", `"*"`, "trusts every principal"},
		{"AR-20 Principal AWS *", `{"AWS": "*"}`, "trusts every principal"},
		{"AR-20 another account's root", `{"AWS": "arn:aws:iam::444455556666:root"}`, "trusts every principal of account 444455556666"},
		{"AR-20 another account's id", `{"AWS": "444455556666"}`, "trusts every principal of account 444455556666"},
	} {
		t.Run(c.id, func(t *testing.T) {
			out, code := validate(role(c.principal, "", ""))
			if code != 1 || !strings.Contains(out, c.want) || !strings.Contains(out, "broad_trust_intended") || !strings.Contains(out, "roles[") {
				t.Errorf("%s refused? exit %d\n%s", c.id, code, out)
			}
			if out, code := validate(role(c.principal, "", intended)); code != 0 || !strings.Contains(out, "OK") {
				t.Errorf("%s with broad_trust_intended: exit %d\n%s", c.id, code, out)
			}
			cond := `{"StringEquals": {"sts:ExternalId": "partner-1234"}}`
			if out, code := validate(role(c.principal, cond, "")); code != 0 || !strings.Contains(out, "OK") {
				t.Errorf("%s with a condition: exit %d\n%s", c.id, code, out)
			}
		})
	}
}

// The audit events of AssumeRole, in CloudTrail's shape: the issued key by
// id only, the role session as the identity of its later calls, refusals
// with their reason and without the encoded authorization message or the
// token code.
func TestAssumeRoleAudit(t *testing.T) {
	h := newHarnessWith(t, "roles.yaml")
	last := func() (audit.Event, string) {
		evs := h.events()
		raw, _ := json.Marshal(evs[len(evs)-1])
		return evs[len(evs)-1], string(raw)
	}
	r, demo := h.assumed("issue", alice, assumeParams(demoARN, q("SourceIdentity", "alice"), tags("Dept", "eng")))
	ev, raw := last()
	for _, want := range []string{`"eventName":"AssumeRole"`, `"roleArn":"` + demoARN + `"`, `"roleSessionName":"s1"`, `"sourceIdentity":"alice"`,
		`"tags":[{"key":"Dept","value":"eng"}]`, `"assumedRoleUser":{"arn":"arn:aws:sts::111122223333:assumed-role/Demo/s1"`,
		`"credentials":{"accessKeyId":"` + demo.id + `"`} {
		if !strings.Contains(raw, want) {
			t.Errorf("issuance event lacks %s: %s", want, raw)
		}
	}
	if ev.RequestID != r.requestID || strings.Contains(raw, "sessionToken") || strings.Contains(raw, demo.secret) {
		t.Errorf("issuance event: %s", raw)
	}

	h.assertOK("follow-up", h.gaki(demo))
	ev, raw = last()
	sc := ev.UserIdentity.SessionContext
	if ev.UserIdentity.Type != "AssumedRole" || ev.UserIdentity.ARN != "arn:aws:sts::111122223333:assumed-role/Demo/s1" || ev.UserIdentity.AccessKeyID != demo.id ||
		sc == nil || sc.SessionIssuer == nil || sc.SessionIssuer.ARN != demoARN || sc.SourceIdentity != "alice" {
		t.Errorf("a role session's audit identity: %s", raw)
	}

	for _, c := range []struct {
		id     string
		c      creds
		params string
		reason string
	}{
		{"untrusted", bob, assumeParams(demoARN), "policy_no_resource_policy_allow"},
		{"missing role", bob, assumeParams("arn:aws:iam::111122223333:role/Nobody"), "policy_no_resource_policy_allow"},
		{"wrong MFA code", bob, assumeParams(adminARN, q("SerialNumber", bobSerial), q("TokenCode", "097531")), "mfa_code_invalid"},
		{"root", root, assumeParams(demoARN), "root_caller"},
	} {
		h.assertDenied(c.id, h.call(c.c, "AssumeRole", c.params), 403, "AccessDenied")
		ev, raw := last()
		if ev.AdditionalEventData["reason"] != c.reason || strings.Contains(raw, "Encoded authorization") || strings.Contains(raw, "097531") {
			t.Errorf("%s: refusal event %s", c.id, raw)
		}
	}
}
