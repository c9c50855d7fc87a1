package awsproof

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/awsproof/awsprooftest"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/exchange"
)

// challenges accepts only "good-challenge" for testAudience, once.
type challenges struct {
	mu    sync.Mutex
	calls [][2]string
	used  bool
}

func (c *challenges) CheckChallenge(_ context.Context, value, audience string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, [2]string{value, audience})
	if value != "good-challenge" || audience != testAudience || c.used {
		return errors.New("challenge not valid")
	}
	c.used = true
	return nil
}

type hostileCase struct {
	id, name string
	env      []byte
	reason   string
	opt      func(*Options)
	audience *string
}

func hostileCases(t testing.TB) []hostileCase {
	q := signEnv(t, spec{})                 // query form
	b := signEnv(t, spec{bodyForm: true})   // body form
	noAud := signEnv(t, spec{audName: "-"}) // no audience header
	auth := q.Get("authorization")
	withURL := func(e env, u string) []byte { e.URL = u; return e.Bytes() }
	withAuth := func(a string) []byte { return q.Set("authorization", a).Bytes() }
	withMethod := func(m string) []byte { e := q; e.Method = m; return e.Bytes() }
	const base = "https://sts.amazonaws.com"
	requireChallenge := func(o *Options) { o.RequireChallenge, o.Challenges = true, &challenges{} }
	withChallenges := func(o *Options) { o.Challenges = &challenges{} }
	empty := ""
	sigStart := strings.Index(auth, "Signature=") + len("Signature=")
	cred := auth[strings.Index(auth, "Credential=")+len("Credential=") : strings.Index(auth, ",")]

	cases := []hostileCase{
		// Scheme, port, userinfo.
		{id: "GCIX-02", name: "http", env: withURL(q, "http://sts.amazonaws.com/?"+Body), reason: "scheme_not_allowed"},
		{id: "GCIX-02", name: "ftp", env: withURL(q, "ftp://sts.amazonaws.com/?"+Body), reason: "scheme_not_allowed"},
		{id: "GCIX-02", name: "file", env: withURL(q, "file:///etc/passwd"), reason: "scheme_not_allowed"},
		{id: "GCIX-02", name: "scheme-relative", env: withURL(q, "//sts.amazonaws.com/?"+Body), reason: "scheme_not_allowed"},
		{id: "GCIX-02", name: "upper-case scheme", env: withURL(q, "HTTPS://sts.amazonaws.com/?"+Body), reason: "scheme_not_allowed"},
		{id: "GCIX-02", name: "port 443", env: withURL(q.Set("host", "sts.amazonaws.com:443"), base+":443/?"+Body), reason: "port_not_allowed"},
		{id: "GCIX-02", name: "port 8443", env: withURL(q.Set("host", "sts.amazonaws.com:8443"), base+":8443/?"+Body), reason: "port_not_allowed"},
		{id: "GCIX-02", name: "empty port", env: withURL(q, base+":/?"+Body), reason: "port_not_allowed"},
		{id: "GCIX-02", name: "userinfo", env: withURL(q, "https://user:pass@sts.amazonaws.com/?"+Body), reason: "url_userinfo"},
		{id: "GCIX-02", name: "userinfo to another host", env: withURL(q, "https://sts.amazonaws.com@evil.example/?"+Body), reason: "url_userinfo"},
		{id: "GCIX-02", name: "IP literal", env: withURL(q, "https://52.94.0.1/?"+Body), reason: "host_not_allowed"},
		{id: "GCIX-02", name: "escaped host", env: withURL(q, "https://sts%2eamazonaws.com/?"+Body), reason: "url_malformed"},
		{id: "GCIX-02", name: "space", env: withURL(q, "https://sts.amazonaws.com /?"+Body), reason: "url_malformed"},
		{id: "GCIX-02", name: "too long", env: withURL(q, base+"/?"+Body+strings.Repeat("&a=b", 600)), reason: "url_malformed"},

		// Hosts (V-07; Consul TestValidateSTSHostname; partitions, V-06).
		{id: "GCIX-02", name: "spoof suffix", env: withURL(q, "https://sts.amazonaws.com.spoof/?"+Body), reason: "host_not_allowed"},
		{id: "GCIX-02", name: "subdomain", env: withURL(q, "https://xyz.sts.amazonaws.com/?"+Body), reason: "host_not_allowed"},
		{id: "GCIX-02", name: "no dot", env: withURL(q, "https://stsamazonaws.com/?"+Body), reason: "host_not_allowed"},
		{id: "GCIX-02", name: "other domain", env: withURL(q, "https://sts.notamazonaws.com/?"+Body), reason: "host_not_allowed"},
		{id: "GCIX-02", name: "trailing dot", env: withURL(q.Set("host", "sts.amazonaws.com."), "https://sts.amazonaws.com./?"+Body), reason: "host_not_allowed"},
		// Exact: the client's host is never lower-cased, nor stripped of
		// a trailing dot or a default port, to make it match.
		{id: "GCIX-02", name: "upper-case host", env: withURL(q.Set("host", "STS.AMAZONAWS.COM"), "https://STS.AMAZONAWS.COM/?"+Body), reason: "host_not_allowed"},
		{id: "GCIX-02", name: "one upper-case letter", env: withURL(q.Set("host", "Sts.amazonaws.com"), "https://Sts.amazonaws.com/?"+Body), reason: "host_not_allowed"},
		{id: "GCIX-02", name: "upper-case regional host, signed so", env: sign(t, spec{host: "STS.EU-WEST-1.amazonaws.com", region: "eu-west-1"}), reason: "host_not_allowed"},
		{id: "GCIX-02", name: "trailing dot and port", env: withURL(q.Set("host", "sts.amazonaws.com.:443"), "https://sts.amazonaws.com.:443/?"+Body), reason: "host_not_allowed"},
		{id: "GCIX-02", name: "port 443, signed so", env: sign(t, spec{host: "sts.amazonaws.com:443"}), reason: "port_not_allowed"},
		{id: "GCIX-02", name: "other service", env: withURL(q, "https://iam.amazonaws.com/?"+Body), reason: "host_not_allowed"},
		{id: "GCIX-02", name: "fips outside the list", env: withURL(q, "https://sts-fips.eu-west-1.amazonaws.com/?"+Body), reason: "host_not_allowed"},

		// Path, query, fragment.
		{id: "GCIX-03", name: "path /x", env: withURL(q, base+"/x?"+Body), reason: "path_not_root"},
		{id: "GCIX-03", name: "path //", env: withURL(q, base+"//?"+Body), reason: "path_not_root"},
		{id: "GCIX-03", name: "path dot-dot", env: withURL(q, base+"/%2e%2e/?"+Body), reason: "path_not_root"},
		{id: "GCIX-03", name: "extra parameter", env: withURL(q, base+"/?"+Body+"&X=1"), reason: "query_not_allowed"},
		{id: "GCIX-03", name: "reordered", env: withURL(q, base+"/?Version=2011-06-15&Action=GetCallerIdentity"), reason: "query_not_allowed"},
		{id: "GCIX-03", name: "lower-case", env: withURL(q, base+"/?action=getcalleridentity&version=2011-06-15"), reason: "query_not_allowed"},
		{id: "GCIX-03", name: "other action", env: withURL(q, base+"/?Action=AssumeRole&Version=2011-06-15"), reason: "query_not_allowed"},
		{id: "GCIX-03", name: "empty query on body form", env: withURL(b, base+"/?"), reason: "query_not_allowed"},
		{id: "GCIX-03", name: "fragment", env: withURL(q, base+"/?"+Body+"#x"), reason: "url_fragment"},
		{id: "GCIX-03", name: "empty fragment", env: withURL(b, base+"/#"), reason: "url_fragment"},

		// Method.
		{id: "GCIX-04", name: "GET", env: withMethod("GET"), reason: "method_not_post"},
		{id: "GCIX-04", name: "lower-case post", env: withMethod("post"), reason: "method_not_post"},
		{id: "GCIX-04", name: "trailing space", env: withMethod("POST "), reason: "method_not_post"},
		{id: "GCIX-04", name: "PUT", env: withMethod("PUT"), reason: "method_not_post"},

		// Body.
		{id: "GCIX-05", name: "other action", env: b.WithBody("Action=AssumeRole&Version=2011-06-15").Bytes(), reason: "body_not_allowed"},
		{id: "GCIX-05", name: "extra parameter", env: b.WithBody(Body + "&RoleArn=x").Bytes(), reason: "body_not_allowed"},
		{id: "GCIX-05", name: "duplicate Action", env: b.WithBody(Body + "&Action=AssumeRole").Bytes(), reason: "body_not_allowed"},
		{id: "GCIX-05", name: "two actions", env: b.WithBody("Action=GetCallerIdentity&Action=AssumeRole").Bytes(), reason: "body_not_allowed"},
		{id: "GCIX-05", name: "leading &", env: b.WithBody("&" + Body).Bytes(), reason: "body_not_allowed"},
		{id: "GCIX-05", name: "reordered", env: b.WithBody("Version=2011-06-15&Action=GetCallerIdentity").Bytes(), reason: "body_not_allowed"},
		{id: "GCIX-05", name: "trailing newline", env: b.WithBody(Body + "\n").Bytes(), reason: "body_not_allowed"},
		{id: "GCIX-05", name: "absent in body form", env: env{URL: b.URL, Method: b.Method, Headers: b.Headers}.Bytes(), reason: "body_not_allowed"},
		{id: "GCIX-05", name: "body with query form", env: q.WithBody(Body).Bytes(), reason: "body_not_allowed"},

		// Header allow-list.
		{id: "GCIX-06", name: "Accept", env: q.Add("Accept", "application/json").Bytes(), reason: "header_not_allowed"},
		{id: "GCIX-06", name: "signed Accept", env: signEnv(t, spec{extra: map[string]string{"Accept": "application/json"}}).Bytes(), reason: "header_not_allowed"},
		{id: "GCIX-06", name: "TE", env: q.Add("TE", "trailers").Bytes(), reason: "header_not_allowed"},
		{id: "GCIX-06", name: "Content-Encoding", env: b.Add("Content-Encoding", "gzip").Bytes(), reason: "header_not_allowed"},
		{id: "GCIX-06", name: "Transfer-Encoding", env: b.Add("Transfer-Encoding", "chunked").Bytes(), reason: "header_not_allowed"},
		{id: "GCIX-06", name: "Content-Length", env: b.Add("Content-Length", "5").Bytes(), reason: "header_not_allowed"},
		{id: "GCIX-06", name: "X-Forwarded-For", env: q.Add("X-Forwarded-For", "10.0.0.1").Bytes(), reason: "header_not_allowed"},
		{id: "GCIX-06", name: "X-Forwarded-Host", env: q.Add("X-Forwarded-Host", "evil.example").Bytes(), reason: "header_not_allowed"},
		{id: "GCIX-06", name: "X-Amz-Target", env: q.Add("X-Amz-Target", "AWSSecurityTokenServiceV20110615.AssumeRole").Bytes(), reason: "header_not_allowed"},
		{id: "GCIX-06", name: "Connection", env: q.Add("Connection", "close, X-Amz-Date").Bytes(), reason: "header_not_allowed"},
		{id: "GCIX-06", name: "X-Amz-Content-Sha256", env: q.Add("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD").Bytes(), reason: "header_not_allowed"},
		{id: "GCIX-06", name: "X-Amz-User-Agent", env: q.Add("X-Amz-User-Agent", "x").Bytes(), reason: "header_not_allowed"},
		{id: "GCIX-06", name: "User-Agent", env: q.Add("User-Agent", "x").Bytes(), reason: "header_not_allowed"},
		{id: "GCIX-06", name: "Content-Type in query form", env: q.Add("Content-Type", "application/x-www-form-urlencoded").Bytes(), reason: "content_type_not_allowed"},
		{id: "GCIX-06", name: "Content-Type JSON", env: b.Set("content-type", "application/json").Bytes(), reason: "content_type_not_allowed"},
		{id: "GCIX-06", name: "Content-Type other charset", env: b.Set("content-type", "application/x-www-form-urlencoded; charset=latin1").Bytes(), reason: "content_type_not_allowed"},
		{id: "GCIX-06", name: "nonce not signed", env: q.Add(NonceHeader, "bm9uY2Utbm90LXNpZ25lZA").Bytes(), reason: "nonce_unsigned"},
		{id: "GCIX-06", name: "nonce of 65 characters", env: sign(t, spec{extra: map[string]string{NonceHeader: strings.Repeat("a", 65)}}), reason: "nonce_malformed"},
		{id: "GCIX-06", name: "nonce of 8 KiB", env: q.Add(NonceHeader, strings.Repeat("a", 8<<10)).Bytes(), reason: "nonce_malformed"},
		{id: "GCIX-06", name: "nonce with padding", env: sign(t, spec{extra: map[string]string{NonceHeader: "bm9uY2U="}}), reason: "nonce_malformed"},
		{id: "GCIX-06", name: "nonce in standard base64", env: sign(t, spec{extra: map[string]string{NonceHeader: "a+b/c"}}), reason: "nonce_malformed"},
		{id: "GCIX-06", name: "nonce with a space", env: sign(t, spec{extra: map[string]string{NonceHeader: "a b"}}), reason: "nonce_malformed"},
		{id: "GCIX-06", name: "nonce with CRLF", env: q.Add(NonceHeader, "abc\r\nX-Evil: 1").Bytes(), reason: "nonce_malformed"},
		{id: "GCIX-06", name: "nonce empty", env: q.Add(NonceHeader, "").Bytes(), reason: "nonce_malformed"},
		{id: "GCIX-06", name: "nonce twice", env: signEnv(t, spec{extra: map[string]string{NonceHeader: "abc"}}).Add("x-keyless-nonce", "abc").Bytes(), reason: "header_duplicate"},
		{id: "GCIX-06", name: "signed nonce removed", env: signEnv(t, spec{extra: map[string]string{NonceHeader: "abc"}}).Del(NonceHeader).Bytes(), reason: "signed_header_missing"},

		// Header names and values.
		{id: "GCIX-07", name: "Authorization twice, two cases", env: q.Add("Authorization", auth).Bytes(), reason: "header_duplicate"},
		{id: "GCIX-07", name: "host and HOST", env: q.Add("HOST", "sts.amazonaws.com").Bytes(), reason: "header_duplicate"},
		{id: "GCIX-07", name: "X-Amz-Date twice", env: q.Add("x-amz-date", "20240101T000000Z").Bytes(), reason: "header_duplicate"},
		{id: "GCIX-07", name: "CRLF", env: q.Set("x-amz-security-token", testToken+"\r\nX-Evil: 1").Bytes(), reason: "header_malformed"},
		{id: "GCIX-07", name: "LF", env: q.Set("x-amz-security-token", testToken+"\nX-Evil: 1").Bytes(), reason: "header_malformed"},
		{id: "GCIX-07", name: "NUL", env: q.Set("x-amz-security-token", testToken+"\x00").Bytes(), reason: "header_malformed"},
		{id: "GCIX-07", name: "TAB", env: q.Set("x-amz-security-token", "a\tb").Bytes(), reason: "header_malformed"},
		{id: "GCIX-07", name: "DEL", env: q.Set("x-amz-security-token", "a\x7fb").Bytes(), reason: "header_malformed"},
		{id: "GCIX-07", name: "C1 NEL", env: q.Set("x-amz-security-token", "a\u0085b").Bytes(), reason: "header_malformed"},
		{id: "GCIX-07", name: "leading space", env: q.Set("x-amz-date", " 20240101T000000Z").Bytes(), reason: "header_malformed"},
		{id: "GCIX-07", name: "empty value", env: q.Set("x-amz-security-token", "").Bytes(), reason: "header_malformed"},
		{id: "GCIX-07", name: "name with colon", env: q.Add("x-amz-date:", "x").Bytes(), reason: "header_malformed"},
		{id: "GCIX-07", name: "name with CRLF", env: q.Add("X-Evil\r\nHost", "x").Bytes(), reason: "header_malformed"},
		{id: "GCIX-07", name: "value over 8 KiB", env: q.Set("x-amz-security-token", strings.Repeat("A", 8<<10+1)).Bytes(), reason: "header_malformed"},
		{id: "GCIX-07", name: "17 headers", env: func() []byte {
			e := q
			for len(e.Headers) < 17 {
				e = e.Add("accept", "x")
			}
			return e.Bytes()
		}(), reason: "too_many_headers"},
		{id: "GCIX-07", name: "host header differs", env: q.Set("host", "sts.us-east-2.amazonaws.com").Bytes(), reason: "host_header_mismatch"},
		{id: "GCIX-07", name: "host header other case", env: q.Set("host", "STS.amazonaws.com").Bytes(), reason: "host_header_mismatch"},
		{id: "GCIX-07", name: "host header missing", env: q.Del("host").Bytes(), reason: "host_header_missing"},

		// Authorization.
		{id: "GCIX-08", name: "two SignedHeaders", env: withAuth(auth + ", SignedHeaders=host;x-amz-date"), reason: "authorization_malformed"},
		{id: "GCIX-08", name: "two Credential", env: withAuth(auth + ", Credential=" + cred), reason: "authorization_malformed"},
		{id: "GCIX-08", name: "two Signature", env: withAuth(auth + ", Signature=" + auth[sigStart:]), reason: "authorization_malformed"},
		{id: "GCIX-08", name: "SHA512", env: withAuth(strings.Replace(auth, "SHA256", "SHA512", 1)), reason: "authorization_malformed"},
		{id: "GCIX-08", name: "SigV4a", env: withAuth(strings.Replace(auth, "AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256", 1)), reason: "authorization_malformed"},
		{id: "GCIX-08", name: "two spaces", env: withAuth(strings.Replace(auth, " ", "  ", 1)), reason: "authorization_malformed"},
		{id: "GCIX-08", name: "lower-case algorithm", env: withAuth(strings.Replace(auth, "AWS4-HMAC-SHA256", "aws4-hmac-sha256", 1)), reason: "authorization_malformed"},
		{id: "GCIX-08", name: "unknown component", env: withAuth(auth + ", Foo=bar"), reason: "authorization_malformed"},
		{id: "GCIX-08", name: "no Signature", env: withAuth(auth[:strings.Index(auth, ", Signature=")]), reason: "authorization_malformed"},
		{id: "GCIX-08", name: "empty Signature", env: withAuth(auth[:sigStart]), reason: "authorization_malformed"},
		{id: "GCIX-08", name: "upper-case signature", env: withAuth(auth[:sigStart] + strings.ToUpper(auth[sigStart:])), reason: "authorization_malformed"},
		{id: "GCIX-08", name: "short signature", env: withAuth(auth[:len(auth)-1]), reason: "authorization_malformed"},
		{id: "GCIX-08", name: "lower-case key id", env: withAuth(strings.Replace(auth, testAKID, strings.ToLower(testAKID), 1)), reason: "credential_malformed"},
		{id: "GCIX-08", name: "short key id", env: withAuth(strings.Replace(auth, testAKID, testAKID[:15], 1)), reason: "credential_malformed"},
		{id: "GCIX-08", name: "bad terminator", env: withAuth(strings.Replace(auth, "aws4_request", "aws4_requesx", 1)), reason: "authorization_malformed"},
		{id: "GCIX-08", name: "six scope parts", env: withAuth(strings.Replace(auth, "/sts/", "/sts/x/", 1)), reason: "authorization_malformed"},
		{id: "GCIX-08", name: "unsorted SignedHeaders", env: withAuth(strings.Replace(auth, "host;x-amz-date", "x-amz-date;host", 1)), reason: "authorization_malformed"},
		{id: "GCIX-08", name: "repeated SignedHeaders entry", env: withAuth(strings.Replace(auth, "host;", "host;host;", 1)), reason: "authorization_malformed"},
		{id: "GCIX-08", name: "upper-case SignedHeaders", env: withAuth(strings.Replace(auth, "host;", "Host;", 1)), reason: "authorization_malformed"},
		{id: "GCIX-08", name: "authorization signed", env: withAuth(strings.Replace(auth, "SignedHeaders=host", "SignedHeaders=authorization;host", 1)), reason: "signed_headers_malformed"},
		{id: "GCIX-08", name: "missing", env: q.Del("authorization").Bytes(), reason: "authorization_missing"},

		// Scope: service, region, partition (Infisical #7546).
		{id: "GCIX-09", name: "service iam", env: sign(t, spec{service: "iam"}), reason: "credential_service"},
		{id: "GCIX-09", name: "other region on the global endpoint", env: sign(t, spec{region: "eu-west-1"}), reason: "region_mismatch"},
		{id: "GCIX-09", name: "other region on a regional endpoint", env: sign(t, spec{host: "sts.eu-west-1.amazonaws.com", region: "us-east-1"}), reason: "region_mismatch"},
		{id: "GCIX-09", name: "GovCloud region on the global endpoint", env: sign(t, spec{region: "us-gov-west-1"}), reason: "region_mismatch"},
		{id: "GCIX-09", name: "GovCloud host, partition not enabled", env: sign(t, spec{host: "sts.us-gov-west-1.amazonaws.com", region: "us-gov-west-1"}), reason: "host_not_allowed"},
		{id: "GCIX-09", name: "China host, partition not enabled", env: sign(t, spec{host: "sts.cn-north-1.amazonaws.com.cn", region: "cn-north-1"}), reason: "host_not_allowed"},
		{id: "GCIX-09", name: "GovCloud region as a commercial host", env: sign(t, spec{host: "sts.us-gov-west-1.amazonaws.com", region: "us-gov-west-1"}), reason: "host_not_allowed",
			opt: func(o *Options) { o.Partitions = []string{"aws", "aws-cn"} }},
		{id: "GCIX-09", name: "commercial host, only GovCloud enabled", env: q.Bytes(), reason: "host_not_allowed",
			opt: func(o *Options) { o.Partitions = []string{"aws-us-gov"} }},
		{id: "GCIX-09", name: "scope date differs", env: q.Set("x-amz-date", "20240102T000000Z").Bytes(), reason: "credential_date_mismatch"},

		// Audience (V-08).
		{id: "GCIX-10", name: "missing", env: noAud.Bytes(), reason: "audience_missing"},
		{id: "GCIX-10", name: "not signed", env: noAud.Add(AudienceHeader, testAudience).Bytes(), reason: "header_unsigned"},
		{id: "GCIX-10", name: "Google header not signed", env: noAud.Add("X-Goog-Cloud-Target-Resource", testAudience).Bytes(), reason: "header_unsigned"},
		{id: "GCIX-10", name: "wrong value", env: sign(t, spec{aud: "https://other.example/exchange"}), reason: "audience_mismatch"},
		{id: "GCIX-10", name: "prefix of the value", env: sign(t, spec{aud: testAudience[:len(testAudience)-1]}), reason: "audience_mismatch"},
		{id: "GCIX-10", name: "wrong Google value", env: sign(t, spec{audName: "X-Goog-Cloud-Target-Resource", aud: "//iam.googleapis.com/x"}), reason: "audience_mismatch"},
		{id: "GCIX-10", name: "two values", env: q.Add("x-keyless-audience", "https://other.example/exchange").Bytes(), reason: "header_duplicate"},
		{id: "GCIX-10", name: "trailing space", env: q.Set(AudienceHeader, testAudience+" ").Bytes(), reason: "header_malformed"},
		{id: "GCIX-10", name: "both audience headers", env: sign(t, spec{extra: map[string]string{"X-Goog-Cloud-Target-Resource": testAudience}}), reason: "audience_ambiguous"},
		{id: "GCIX-10", name: "empty expected audience", env: q.Bytes(), reason: "audience_mismatch", audience: &empty},
		{id: "GCIX-10", name: "signed header removed", env: q.Del("x-amz-security-token").Bytes(), reason: "signed_header_missing"},
		{id: "GCIX-10", name: "audience in query", env: withURL(q, base+"/?"+Body+"&X-Amz-SignedHeaders=host%3Bx-keyless-audience"), reason: "query_not_allowed"},

		// Challenge.
		{id: "GCIX-11", name: "missing", env: q.Bytes(), reason: "challenge_missing", opt: requireChallenge},
		{id: "GCIX-11", name: "expired or foreign", env: sign(t, spec{extra: map[string]string{ChallengeHeader: "expired-challenge"}}), reason: "challenge_invalid", opt: requireChallenge},
		{id: "GCIX-11", name: "optional but invalid", env: sign(t, spec{extra: map[string]string{ChallengeHeader: "expired-challenge"}}), reason: "challenge_invalid", opt: withChallenges},
		{id: "GCIX-11", name: "not signed", env: q.Add(ChallengeHeader, "good-challenge").Bytes(), reason: "header_unsigned", opt: requireChallenge},
		{id: "GCIX-11", name: "not enabled", env: sign(t, spec{extra: map[string]string{ChallengeHeader: "good-challenge"}}), reason: "challenge_not_enabled"},

		// Freshness (our 5 min / 1 min window).
		{id: "GCIX-12", name: "older than 5 min", env: sign(t, spec{at: signTime.Add(-5*time.Minute - time.Second)}), reason: "date_stale"},
		{id: "GCIX-12", name: "14 min old", env: sign(t, spec{at: signTime.Add(-14 * time.Minute)}), reason: "date_stale"},
		{id: "GCIX-12", name: "more than 1 min ahead", env: sign(t, spec{at: signTime.Add(time.Minute + time.Second)}), reason: "date_future"},
		{id: "GCIX-12", name: "no Z", env: q.Set("x-amz-date", "20240101T000000").Bytes(), reason: "date_malformed"},
		{id: "GCIX-12", name: "extended format", env: q.Set("x-amz-date", "2024-01-01T00:00:00Z").Bytes(), reason: "date_malformed"},
		{id: "GCIX-12", name: "impossible date", env: q.Set("x-amz-date", "20240231T000000Z").Bytes(), reason: "date_malformed"},
		{id: "GCIX-12", name: "missing", env: q.Del("x-amz-date").Bytes(), reason: "date_missing"},

		// Presigned (query) forms (CVE-2022-2385).
		{id: "GCIX-19", name: "presigned GET", env: withMethod("GET"), reason: "method_not_post"},
		{id: "GCIX-19", name: "presigned parameters", env: withURL(q, base+"/?"+Body+"&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a&X-Amz-Signature=b"), reason: "query_not_allowed"},
		{id: "GCIX-19", name: "case-variant parameters", env: withURL(q, base+"/?"+Body+"&X-Amz-Credential=a&x-amz-credential=b"), reason: "query_not_allowed"},
		{id: "GCIX-19", name: "negative expiry", env: withURL(q, base+"/?"+Body+"&X-Amz-Expires=-1"), reason: "query_not_allowed"},
		{id: "GCIX-19", name: "long expiry", env: withURL(q, base+"/?"+Body+"&X-Amz-Expires=901"), reason: "query_not_allowed"},
		{id: "GCIX-19", name: "Action twice", env: withURL(q, base+"/?Action=GetCallerIdentity&Action=AssumeRole&Version=2011-06-15"), reason: "query_not_allowed"},
	}

	// Envelope JSON.
	quoted := string(q.Bytes())
	headersJSON := quoted[strings.Index(quoted, `"headers":`)+len(`"headers":`) : strings.LastIndex(quoted, "]")+1]
	obj := func(members string) []byte { return []byte("{" + members + "}") }
	u := `"url":"` + base + `/?` + Body + `"`
	m := `"method":"POST"`
	h := `"headers":` + headersJSON
	for _, c := range []struct {
		name, reason string
		env          []byte
	}{
		{"unknown key", "envelope_unknown_key", obj(u + "," + m + "," + h + `,"extra":1`)},
		{"duplicate key", "envelope_malformed", obj(u + "," + u + "," + m + "," + h)},
		{"case-variant key alone", "envelope_unknown_key", obj(strings.Replace(u, `"url"`, `"URL"`, 1) + "," + m + "," + h)},
		{"case-variant duplicate", "envelope_malformed", obj(u + "," + strings.Replace(u, `"url"`, `"URL"`, 1) + "," + m + "," + h)},
		{"fold-variant duplicate", "envelope_malformed", obj(u + "," + m + "," + h + `,"body":"","bod\u0059":""`)},
		{"headers as map", "envelope_malformed", obj(u + "," + m + `,"headers":{"authorization":"x","host":"sts.amazonaws.com"}`)},
		{"headers as map of arrays", "envelope_malformed", obj(u + "," + m + `,"headers":{"authorization":["x"],"host":["sts.amazonaws.com"]}`)},
		{"header value array", "envelope_malformed", obj(u + "," + m + `,"headers":[{"key":"host","value":["sts.amazonaws.com"]}]`)},
		{"header element extra key", "envelope_malformed", obj(u + "," + m + `,"headers":[{"key":"host","value":"sts.amazonaws.com","x":1}]`)},
		{"header element missing value", "envelope_malformed", obj(u + "," + m + `,"headers":[{"key":"host"}]`)},
		{"header element number", "envelope_malformed", obj(u + "," + m + `,"headers":[{"key":"host","value":1}]`)},
		{"header element duplicate key", "envelope_malformed", obj(u + "," + m + `,"headers":[{"key":"host","key":"accept","value":"x"}]`)},
		{"header element string", "envelope_malformed", obj(u + "," + m + `,"headers":["host: sts.amazonaws.com"]`)},
		{"headers missing", "envelope_malformed", obj(u + "," + m)},
		{"url missing", "envelope_malformed", obj(m + "," + h)},
		{"method missing", "envelope_malformed", obj(u + "," + h)},
		{"url null", "envelope_malformed", obj(`"url":null,` + m + "," + h)},
		{"body null", "envelope_malformed", obj(u + "," + m + "," + h + `,"body":null`)},
		{"body number", "envelope_malformed", obj(u + "," + m + "," + h + `,"body":0`)},
		{"body base64", "body_not_allowed", b.WithBody("QWN0aW9uPUdldENhbGxlcklkZW50aXR5JlZlcnNpb249MjAxMS0wNi0xNQ==").Bytes()},
		{"non-UTF-8", "envelope_malformed", []byte(strings.Replace(quoted, "POST", "PO\xffST", 1))},
		{"lone surrogate", "header_malformed", []byte(strings.Replace(quoted, testToken, testToken+`\ud800`, 1))},
		{"escaped NUL", "header_malformed", []byte(strings.Replace(quoted, testToken, testToken+`\u0000`, 1))},
		{"over 64 KiB", "envelope_too_large", obj(u + "," + m + "," + h + `,"body":"` + strings.Repeat("a", 64<<10) + `"`)},
		{"trailing garbage", "envelope_malformed", []byte(quoted + "x")},
		{"two objects", "envelope_malformed", []byte(quoted + quoted)},
		{"array", "envelope_malformed", []byte("[" + quoted + "]")},
		{"empty", "envelope_malformed", nil},
	} {
		cases = append(cases, hostileCase{id: "GCIX-23", name: c.name, env: c.env, reason: c.reason})
	}
	return cases
}

// TestHostileEnvelopes: every hostile envelope is refused with its reason,
// before any connection and before the signature is consumed.
func TestHostileEnvelopes(t *testing.T) {
	shared := newHarness(t, nil, nil)
	for _, c := range hostileCases(t) {
		t.Run(c.id+"/"+c.name, func(t *testing.T) {
			h := shared
			if c.opt != nil {
				h = newHarness(t, nil, c.opt)
			}
			aud := testAudience
			if c.audience != nil {
				aud = *c.audience
			}
			id, err := h.v.VerifyAWS(t.Context(), c.env, aud)
			wantReason(t, err, c.reason, false)
			if id != (exchange.AWSIdentity{}) {
				t.Errorf("identity %+v returned with an error", id)
			}
			if n, d, u := h.sts.conns(), h.dials.Load(), h.usedKeys(); n != 0 || d != 0 || u != 0 {
				t.Fatalf("connections %d, dials %d, signatures consumed %d; want 0", n, d, u)
			}
		})
	}
	// The shared mock is reachable: a valid envelope makes one connection.
	if _, err := shared.v.VerifyAWS(t.Context(), sign(t, spec{}), testAudience); err != nil {
		t.Fatal(err)
	}
	if n := shared.sts.conns(); n != 1 {
		t.Fatalf("connections = %d, want 1", n)
	}
}

// TestValidEnvelopes: envelopes signed for real with aws-sdk-go-v2 pass,
// and the mock STS, which checks the signature again, sees exactly the
// signed request and our User-Agent, nothing else from the client.
// Google's client libraries leave the path empty; the canonical URI is "/"
// either way, so the signature holds and the rebuilt request is the same.
func TestGoogleEmptyPath(t *testing.T) {
	h := newHarness(t, func(m *mockSTS, w http.ResponseWriter, r *http.Request) {
		if !verifySignature(r) {
			writeXML(w, 403, "<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code></Error></ErrorResponse>")
			return
		}
		writeXML(w, 200, awsprooftest.IdentityXML(testARN, testUserID, testAccount))
	}, nil)
	e := signEnv(t, spec{audName: "X-Goog-Cloud-Target-Resource"})
	e.URL = strings.Replace(e.URL, ".com/?", ".com?", 1)
	if !strings.HasSuffix(strings.SplitN(e.URL, "?", 2)[0], ".com") {
		t.Fatalf("URL %q still has a path", e.URL)
	}
	if _, err := h.v.VerifyAWS(t.Context(), e.Bytes(), testAudience); err != nil {
		t.Fatal(err)
	}
}

func TestValidEnvelopes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		s        spec
		opt      func(*Options)
		endpoint string
		arn      string
	}{
		{name: "query form", s: spec{}, endpoint: "sts.amazonaws.com"},
		{name: "body form", s: spec{bodyForm: true}, endpoint: "sts.amazonaws.com"},
		{name: "long-term key", s: spec{noToken: true}, endpoint: "sts.amazonaws.com"},
		{name: "Google audience header", s: spec{audName: "X-Goog-Cloud-Target-Resource"}, endpoint: "sts.amazonaws.com"},
		{name: "regional", s: spec{host: "sts.us-east-2.amazonaws.com", region: "us-east-2"}, endpoint: "sts.us-east-2.amazonaws.com"},
		{name: "FIPS", s: spec{host: "sts-fips.us-east-1.amazonaws.com", bodyForm: true}, endpoint: "sts-fips.us-east-1.amazonaws.com"},
		{name: "GovCloud", s: spec{host: "sts.us-gov-west-1.amazonaws.com", region: "us-gov-west-1"}, endpoint: "sts.us-gov-west-1.amazonaws.com",
			opt: func(o *Options) { o.Partitions = []string{"aws-us-gov"} }, arn: "arn:aws-us-gov:iam::123456789012:user/Alice"},
		{name: "China", s: spec{host: "sts.cn-north-1.amazonaws.com.cn", region: "cn-north-1"}, endpoint: "sts.cn-north-1.amazonaws.com.cn",
			opt: func(o *Options) { o.Partitions = []string{"aws", "aws-cn"} }, arn: "arn:aws-cn:iam::123456789012:user/Alice"},
		{name: "challenge", s: spec{extra: map[string]string{ChallengeHeader: "good-challenge"}}, endpoint: "sts.amazonaws.com",
			opt: func(o *Options) { o.RequireChallenge, o.Challenges = true, &challenges{} }},
		{name: "nonce", s: spec{extra: map[string]string{NonceHeader: "3q2-7wAAAAD_____AAAAAA"}}, endpoint: "sts.amazonaws.com"},
		{name: "nonce of 64 hex digits", s: spec{bodyForm: true, extra: map[string]string{NonceHeader: strings.Repeat("0123456789abcdef", 4)}},
			endpoint: "sts.amazonaws.com"},
		{name: "nonce and challenge", s: spec{extra: map[string]string{NonceHeader: "n", ChallengeHeader: "good-challenge"}}, endpoint: "sts.amazonaws.com",
			opt: func(o *Options) { o.Challenges = &challenges{} }},
		{name: "boundary: 5 min old", s: spec{at: signTime.Add(-5 * time.Minute)}, endpoint: "sts.amazonaws.com"},
		{name: "boundary: 1 min ahead", s: spec{at: signTime.Add(time.Minute)}, endpoint: "sts.amazonaws.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			arn := testARN
			if tc.arn != "" {
				arn = tc.arn
			}
			h := newHarness(t, func(m *mockSTS, w http.ResponseWriter, r *http.Request) {
				if !verifySignature(r) {
					writeXML(w, 403, "<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code></Error></ErrorResponse>")
					return
				}
				m.valid.Add(1)
				writeXML(w, 200, awsprooftest.IdentityXML(arn, testUserID, testAccount))
			}, tc.opt)
			e := signEnv(t, tc.s)
			id, err := h.v.VerifyAWS(t.Context(), e.Bytes(), testAudience)
			if err != nil {
				t.Fatal(err)
			}
			at := tc.s.at
			if at.IsZero() {
				at = signTime
			}
			want := exchange.AWSIdentity{ARN: arn, Account: testAccount, UserID: testUserID, AccessKeyID: testAKID, Endpoint: tc.endpoint, SignedAt: at}
			if id != want {
				t.Fatalf("identity = %+v\nwant       %+v", id, want)
			}
			if h.sts.valid.Load() != 1 {
				t.Fatalf("mock STS verified %d signatures, want 1", h.sts.valid.Load())
			}
			reqs := h.sts.requests()
			if len(reqs) != 1 || h.sts.conns() != 1 {
				t.Fatalf("requests %d, connections %d; want 1, 1", len(reqs), h.sts.conns())
			}
			r := reqs[0]
			wantURI, wantBody := "/?"+Body, ""
			if tc.s.bodyForm {
				wantURI, wantBody = "/", Body
			}
			host := strings.TrimPrefix(strings.SplitN(e.URL, "/", 4)[2], "")
			if r.method != http.MethodPost || r.requestURI != wantURI || r.body != wantBody || r.host != host {
				t.Errorf("STS saw %s %s host %q body %q", r.method, r.requestURI, r.host, r.body)
			}
			// Exactly the envelope's headers (less Host, which Go moves to
			// r.Host) plus our User-Agent and Accept and the transport's
			// Content-Length (connections are kept alive).
			var got, wantNames []string
			for k := range r.header {
				got = append(got, strings.ToLower(k))
			}
			for _, kv := range e.Headers {
				if kv[0] != "host" {
					wantNames = append(wantNames, kv[0])
				}
				if kv[0] != "host" && r.header.Get(kv[0]) != kv[1] {
					t.Errorf("header %s forwarded as %q, want %q", kv[0], r.header.Get(kv[0]), kv[1])
				}
			}
			wantNames = append(wantNames, "user-agent", "accept", "content-length")
			slices.Sort(got)
			slices.Sort(wantNames)
			if !slices.Equal(got, wantNames) {
				t.Errorf("STS saw headers %q, want %q", got, wantNames)
			}
			if r.header.Get("User-Agent") != "keyless" || r.header.Get("Accept") != "text/xml" {
				t.Errorf("User-Agent = %q, Accept = %q", r.header.Get("User-Agent"), r.header.Get("Accept"))
			}
			if h.usedKeys() != 1 {
				t.Errorf("signatures consumed = %d, want 1", h.usedKeys())
			}
		})
	}
}

// TestReplay (GCIX-13): a signature is used once; the replay makes no
// connection. The key is the signature's hash, kept until X-Amz-Date +
// 15 min + MaxFuture.
func TestReplay(t *testing.T) {
	h := newHarness(t, nil, nil)
	e := sign(t, spec{})
	if _, err := h.v.VerifyAWS(t.Context(), e, testAudience); err != nil {
		t.Fatal(err)
	}
	if n := h.sts.conns(); n != 1 {
		t.Fatalf("connections = %d, want 1", n)
	}
	for range 2 {
		_, err := h.v.VerifyAWS(t.Context(), e, testAudience)
		wantReason(t, err, "replayed", false)
	}
	// A different spelling of the same Authorization is the same signature.
	d := decodeEnv(t, e)
	auth := d.Get("authorization")
	_, err := h.v.VerifyAWS(t.Context(), d.Set("authorization", strings.ReplaceAll(auth, ", ", ",")).Bytes(), testAudience)
	wantReason(t, err, "replayed", false)
	if n := h.sts.conns(); n != 1 {
		t.Fatalf("connections after replays = %d, want 1", n)
	}

	h.mu.Lock()
	keys, untils := slices.Clone(h.keys), slices.Clone(h.untils)
	h.mu.Unlock()
	if len(keys) != 4 || keys[1] != keys[0] || keys[3] != keys[0] {
		t.Fatalf("keys = %q, want one key four times", keys)
	}
	if !strings.HasPrefix(keys[0], "aws-sigv4:") || len(keys[0]) != len("aws-sigv4:")+64 || !hex64.MatchString(keys[0]) {
		t.Fatalf("key = %q, want aws-sigv4:<sha256 hex>", keys[0])
	}
	if sig := auth[len(auth)-64:]; strings.Contains(keys[0], sig) {
		t.Fatal("key holds the signature itself")
	}
	if want := signTime.Add(15*time.Minute + time.Minute); !untils[0].Equal(want) {
		t.Fatalf("until = %v, want X-Amz-Date + 15 min + MaxFuture = %v", untils[0], want)
	}
}

// TestReplayStoreFailure: a store error other than a conflict is a
// temporary failure, still before any connection.
func TestReplayStoreFailure(t *testing.T) {
	h := newHarness(t, nil, func(o *Options) {
		o.UseOnce = func(context.Context, string, time.Time) error { return errors.New("database is locked") }
	})
	_, err := h.v.VerifyAWS(t.Context(), sign(t, spec{}), testAudience)
	wantReason(t, err, "replay_store_unavailable", true)
	if h.sts.conns() != 0 || h.dials.Load() != 0 {
		t.Fatalf("connections %d, dials %d; want 0", h.sts.conns(), h.dials.Load())
	}
}

// TestChallengeReuse (GCIX-11): the checker sees value and audience, and
// a used challenge fails in a new envelope.
func TestChallengeReuse(t *testing.T) {
	ch := &challenges{}
	h := newHarness(t, nil, func(o *Options) { o.RequireChallenge, o.Challenges = true, ch })
	s := spec{extra: map[string]string{ChallengeHeader: "good-challenge"}}
	if _, err := h.v.VerifyAWS(t.Context(), sign(t, s), testAudience); err != nil {
		t.Fatal(err)
	}
	s.at = signTime.Add(time.Second) // a new signature
	_, err := h.v.VerifyAWS(t.Context(), sign(t, s), testAudience)
	wantReason(t, err, "challenge_invalid", false)
	if !slices.Equal(ch.calls, [][2]string{{"good-challenge", testAudience}, {"good-challenge", testAudience}}) {
		t.Fatalf("calls = %q", ch.calls)
	}
	if h.sts.conns() != 1 {
		t.Fatalf("connections = %d, want 1", h.sts.conns())
	}
}

type unavailableErr struct{}

func (unavailableErr) Error() string     { return "challenge store down" }
func (unavailableErr) Unavailable() bool { return true }

type downChecker struct{}

func (downChecker) CheckChallenge(context.Context, string, string) error { return unavailableErr{} }

func TestChallengeStoreDown(t *testing.T) {
	h := newHarness(t, nil, func(o *Options) { o.Challenges = downChecker{} })
	_, err := h.v.VerifyAWS(t.Context(), sign(t, spec{extra: map[string]string{ChallengeHeader: "x"}}), testAudience)
	wantReason(t, err, "challenge_unavailable", true)
	if h.sts.conns() != 0 || h.usedKeys() != 0 {
		t.Fatal("reached the upstream or consumed the signature")
	}
}

// TestUpstreams: an operator-configured STS on loopback, plain http as
// moto_server runs, and https; the envelope must name it exactly.
func TestUpstreams(t *testing.T) {
	moto := newMockSTS(t, false, func(m *mockSTS, w http.ResponseWriter, r *http.Request) {
		if !verifySignature(r) {
			writeXML(w, 403, "<ErrorResponse><Error><Code>SignatureDoesNotMatch</Code></Error></ErrorResponse>")
			return
		}
		writeXML(w, 200, awsprooftest.IdentityXML("arn:aws:sts::123456789012:user/moto", "AKIAIOSFODNN7EXAMPLE", testAccount))
	})
	motoHost := moto.addr()
	h := newHarness(t, nil, func(o *Options) {
		o.Upstreams = []Upstream{
			{URL: "http://" + motoHost, Region: "us-east-1", AllowHTTPLoopback: true},
		}
	})
	id, err := h.v.VerifyAWS(t.Context(), sign(t, spec{scheme: "http", host: motoHost}), testAudience)
	if err != nil {
		t.Fatal(err)
	}
	if id.ARN != "arn:aws:sts::123456789012:user/moto" || id.Endpoint != motoHost {
		t.Fatalf("identity = %+v", id)
	}
	if moto.conns() != 1 {
		t.Fatalf("moto connections = %d, want 1", moto.conns())
	}

	port := motoHost[strings.LastIndex(motoHost, ":")+1:]
	for _, c := range []struct {
		name, reason string
		s            spec
	}{
		{"https to an http upstream", "scheme_not_allowed", spec{scheme: "https", host: motoHost}},
		{"other port", "host_not_allowed", spec{scheme: "http", host: "127.0.0.1:1"}},
		{"no port", "host_not_allowed", spec{scheme: "http", host: "127.0.0.1"}},
		{"localhost for 127.0.0.1", "host_not_allowed", spec{scheme: "http", host: "localhost:" + port}},
		{"other region", "region_mismatch", spec{scheme: "http", host: motoHost, region: "us-west-2"}},
		{"plain http to AWS", "scheme_not_allowed", spec{scheme: "http"}},
	} {
		_, err := h.v.VerifyAWS(t.Context(), sign(t, c.s), testAudience)
		wantReason(t, err, c.reason, false)
	}
	if moto.conns() != 1 || h.sts.conns() != 0 {
		t.Fatalf("refused envelopes connected: moto %d, sts %d", moto.conns(), h.sts.conns())
	}

	// Configured hosts match exactly too: the configuration is
	// canonicalised at load (lower-case), the client's host never is.
	named := newHarness(t, nil, func(o *Options) {
		o.Upstreams = []Upstream{
			{URL: "https://STS.Internal.example", Region: "us-east-1"},
			{URL: "http://localhost:" + port, Region: "us-east-1", AllowHTTPLoopback: true},
		}
	})
	for _, c := range []struct {
		name string
		s    spec
	}{
		{"upper-case upstream host", spec{host: "STS.Internal.example"}},
		{"upper-case upstream host, as configured", spec{host: "STS.INTERNAL.EXAMPLE"}},
		{"upstream default port spelled out", spec{host: "sts.internal.example:443"}},
		{"upstream trailing dot", spec{host: "sts.internal.example."}},
		{"upper-case localhost", spec{scheme: "http", host: "LOCALHOST:" + port}},
		{"localhost with a trailing dot", spec{scheme: "http", host: "localhost.:" + port}},
		{"upstream port with a leading zero", spec{scheme: "http", host: "localhost:0" + port}},
	} {
		_, err := named.v.VerifyAWS(t.Context(), sign(t, c.s), testAudience)
		wantReason(t, err, "host_not_allowed", false)
	}
	if n, u := named.dials.Load(), named.usedKeys(); n != 0 || u != 0 {
		t.Fatalf("refused hosts: %d dials, %d signatures consumed", n, u)
	}

	// Without the upstream, the same host is not allowed at all.
	h2 := newHarness(t, nil, nil)
	_, err = h2.v.VerifyAWS(t.Context(), sign(t, spec{scheme: "http", host: motoHost, at: signTime.Add(time.Second)}), testAudience)
	wantReason(t, err, "host_not_allowed", false)
	_, err = h2.v.VerifyAWS(t.Context(), sign(t, spec{scheme: "https", host: motoHost}), testAudience)
	wantReason(t, err, "host_not_allowed", false)
}

// TestHTTPSUpstream: an https upstream on loopback needs AllowHTTPLoopback
// for its address, and answers for its declared partition.
func TestHTTPSUpstream(t *testing.T) {
	gov := newMockSTS(t, true, func(m *mockSTS, w http.ResponseWriter, r *http.Request) {
		writeXML(w, 200, awsprooftest.IdentityXML("arn:aws-us-gov:iam::123456789012:user/Gov", testUserID, testAccount))
	})
	host := gov.addr()
	mk := func(allow bool) *Verifier {
		v, err := New(Options{
			UseOnce: func(context.Context, string, time.Time) error { return nil },
			Clock:   clock.NewFake(signTime),
			RootCAs: gov.pool(),
			Upstreams: []Upstream{{URL: "https://" + host + "/", Region: "us-gov-west-1", Partition: "aws-us-gov",
				AllowHTTPLoopback: allow}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	env := sign(t, spec{host: host, region: "us-gov-west-1"})
	id, err := mk(true).VerifyAWS(t.Context(), env, testAudience)
	if err != nil {
		t.Fatal(err)
	}
	if id.ARN != "arn:aws-us-gov:iam::123456789012:user/Gov" || id.Endpoint != host {
		t.Fatalf("identity = %+v", id)
	}
	// Loopback not allowed: refused at dial, a temporary failure.
	_, err = mk(false).VerifyAWS(t.Context(), env, testAudience)
	wantReason(t, err, "outbound_refused", true)
	if gov.conns() != 1 {
		t.Fatalf("connections = %d, want 1", gov.conns())
	}
}

func TestNewValidates(t *testing.T) {
	ok := func(context.Context, string, time.Time) error { return nil }
	for name, o := range map[string]Options{
		"no UseOnce":                   {},
		"challenge without checker":    {UseOnce: ok, RequireChallenge: true},
		"negative MaxAge":              {UseOnce: ok, MaxAge: -1},
		"MaxAge over 15 min":           {UseOnce: ok, MaxAge: 16 * time.Minute},
		"MaxFuture over 15 min":        {UseOnce: ok, MaxFuture: 16 * time.Minute},
		"negative Timeout":             {UseOnce: ok, Timeout: -1},
		"unknown partition":            {UseOnce: ok, Partitions: []string{"aws-iso"}},
		"upstream ftp":                 {UseOnce: ok, Upstreams: []Upstream{{URL: "ftp://127.0.0.1", Region: "us-east-1"}}},
		"upstream path":                {UseOnce: ok, Upstreams: []Upstream{{URL: "https://sts.example/x", Region: "us-east-1"}}},
		"upstream query":               {UseOnce: ok, Upstreams: []Upstream{{URL: "https://sts.example/?a=b", Region: "us-east-1"}}},
		"upstream empty query":         {UseOnce: ok, Upstreams: []Upstream{{URL: "https://sts.example/?", Region: "us-east-1"}}},
		"upstream fragment":            {UseOnce: ok, Upstreams: []Upstream{{URL: "https://sts.example/#", Region: "us-east-1"}}},
		"upstream userinfo":            {UseOnce: ok, Upstreams: []Upstream{{URL: "https://a@sts.example", Region: "us-east-1"}}},
		"upstream no host":             {UseOnce: ok, Upstreams: []Upstream{{URL: "https:///", Region: "us-east-1"}}},
		"upstream empty port":          {UseOnce: ok, Upstreams: []Upstream{{URL: "https://sts.example:", Region: "us-east-1"}}},
		"upstream port 0":              {UseOnce: ok, Upstreams: []Upstream{{URL: "https://sts.example:0", Region: "us-east-1"}}},
		"upstream port 65536":          {UseOnce: ok, Upstreams: []Upstream{{URL: "https://sts.example:65536", Region: "us-east-1"}}},
		"upstream no region":           {UseOnce: ok, Upstreams: []Upstream{{URL: "https://sts.example"}}},
		"upstream bad partition":       {UseOnce: ok, Upstreams: []Upstream{{URL: "https://sts.example", Region: "us-east-1", Partition: "gcp"}}},
		"upstream http not loopback":   {UseOnce: ok, Upstreams: []Upstream{{URL: "http://sts.example", Region: "us-east-1", AllowHTTPLoopback: true}}},
		"upstream http not allowed":    {UseOnce: ok, Upstreams: []Upstream{{URL: "http://127.0.0.1:5000", Region: "us-east-1"}}},
		"upstream twice":               {UseOnce: ok, Upstreams: []Upstream{{URL: "https://STS.example", Region: "us-east-1"}, {URL: "https://sts.example/", Region: "us-west-2"}}},
		"upstream non-ASCII host":      {UseOnce: ok, Upstreams: []Upstream{{URL: "https://stſ.example", Region: "us-east-1"}}},
		"upstream host with backslash": {UseOnce: ok, Upstreams: []Upstream{{URL: "https://sts.example\\@evil", Region: "us-east-1"}}},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: New accepted %+v", name, o)
		}
	}
	for name, o := range map[string]Options{
		"defaults":        {UseOnce: ok},
		"partitions":      {UseOnce: ok, Partitions: []string{"aws", "aws-us-gov", "aws-cn", "aws"}},
		"no partitions":   {UseOnce: ok, Partitions: []string{}},
		"moto":            {UseOnce: ok, Upstreams: []Upstream{{URL: "http://127.0.0.1:5000", Region: "us-east-1", AllowHTTPLoopback: true}}},
		"localhost":       {UseOnce: ok, Upstreams: []Upstream{{URL: "http://localhost:5000/", Region: "us-east-1", AllowHTTPLoopback: true}}},
		"private https":   {UseOnce: ok, Upstreams: []Upstream{{URL: "https://10.0.0.5:8443", Region: "eu-west-1", AllowPrivateNetwork: true}}},
		"iso partition":   {UseOnce: ok, Upstreams: []Upstream{{URL: "https://sts.example", Region: "us-iso-east-1", Partition: "aws-iso"}}},
		"challenge":       {UseOnce: ok, RequireChallenge: true, Challenges: &challenges{}},
		"max windows":     {UseOnce: ok, MaxAge: 15 * time.Minute, MaxFuture: 15 * time.Minute},
		"IPv6 upstream":   {UseOnce: ok, Upstreams: []Upstream{{URL: "http://[::1]:5000", Region: "us-east-1", AllowHTTPLoopback: true}}},
		"upper-case host": {UseOnce: ok, Upstreams: []Upstream{{URL: "https://STS.Example:8443", Region: "us-east-1"}}},
	} {
		if _, err := New(o); err != nil {
			t.Errorf("%s: New: %v", name, err)
		}
	}
}

// TestNoPartitions: an empty, non-nil Partitions allows no public host.
func TestNoPartitions(t *testing.T) {
	h := newHarness(t, nil, func(o *Options) { o.Partitions = []string{} })
	_, err := h.v.VerifyAWS(t.Context(), sign(t, spec{}), testAudience)
	wantReason(t, err, "host_not_allowed", false)
}

func TestAWSEndpoint(t *testing.T) {
	all := []string{"aws", "aws-us-gov", "aws-cn"}
	for _, c := range []struct {
		host, region, partition string
	}{
		{"sts.amazonaws.com", "us-east-1", "aws"},
		{"sts.us-east-1.amazonaws.com", "us-east-1", "aws"},
		{"sts.ap-southeast-2.amazonaws.com", "ap-southeast-2", "aws"},
		{"sts.il-central-1.amazonaws.com", "il-central-1", "aws"},
		{"sts-fips.us-west-2.amazonaws.com", "us-west-2", "aws"},
		{"sts-fips.ca-west-1.amazonaws.com", "ca-west-1", "aws"},
		{"sts.us-gov-west-1.amazonaws.com", "us-gov-west-1", "aws-us-gov"},
		{"sts.us-gov-east-1.amazonaws.com", "us-gov-east-1", "aws-us-gov"},
		{"sts.cn-north-1.amazonaws.com.cn", "cn-north-1", "aws-cn"},
		{"sts.cn-northwest-1.amazonaws.com.cn", "cn-northwest-1", "aws-cn"},
	} {
		r, p, ok := awsEndpoint(c.host, all)
		if !ok || r != c.region || p != c.partition {
			t.Errorf("%s: %q %q %v, want %q %q", c.host, r, p, ok, c.region, c.partition)
		}
	}
	for _, host := range []string{
		// Consul TestValidateSTSHostname.
		"sts.amazonaws.com.spoof", "xyz.sts.amazonaws.com", "stsamazonaws.com", "sts.notamazonaws.com", "sts.amazonaws.com.",
		// More.
		"", "amazonaws.com", ".amazonaws.com", "sts..amazonaws.com", "sts.us-east-1..amazonaws.com",
		"sts.us-east-1.amazonaws.com.", "sts.us-east-1.amazonaws.com.cn", "sts.amazonaws.com.cn",
		"sts.us-gov-west-1.amazonaws.com.cn", "sts.cn-north-1.amazonaws.com", "sts.us-gov-west-2.amazonaws.com",
		"sts.cn-south-9.amazonaws.com.cn", "sts-fips.eu-west-1.amazonaws.com", "sts-fips.amazonaws.com",
		"sts-fips.us-gov-west-1.amazonaws.com", "sts.us-east-100.amazonaws.com", "sts.US-EAST-1.amazonaws.com",
		"sts.us_east-1.amazonaws.com", "sts.useast1.amazonaws.com", "sts.a.us-east-1.amazonaws.com",
		"sts.us-east-1.a.amazonaws.com", "iam.amazonaws.com", "sts.x-1.amazonaws.com", "ec2.us-east-1.amazonaws.com",
		"sts.us-east-1.api.aws", "sts.us-east-1.amazonaws.com:443",
	} {
		if r, p, ok := awsEndpoint(host, all); ok {
			t.Errorf("%q allowed as %s %s", host, r, p)
		}
	}
	if _, _, ok := awsEndpoint("sts.amazonaws.com", []string{"aws-us-gov", "aws-cn"}); ok {
		t.Error("commercial host allowed without the aws partition")
	}
	if _, _, ok := awsEndpoint("sts.us-gov-west-1.amazonaws.com", []string{"aws"}); ok {
		t.Error("GovCloud host allowed by the aws partition")
	}
}

func TestMarshal(t *testing.T) {
	h := http.Header{}
	h.Set("X-Amz-Date", "20240101T000000Z")
	h.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x")
	b, err := Marshal("POST", "https://sts.amazonaws.com/?"+Body, h, "")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"url":"https://sts.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15","method":"POST","headers":[` +
		`{"key":"authorization","value":"AWS4-HMAC-SHA256 Credential=x"},{"key":"host","value":"sts.amazonaws.com"},` +
		`{"key":"x-amz-date","value":"20240101T000000Z"}]}`
	if string(b) != want {
		t.Fatalf("Marshal =\n%s\nwant\n%s", b, want)
	}
	if _, err := parseEnvelope(b); err != nil {
		t.Fatalf("parseEnvelope(Marshal(...)) = %v", err)
	}
	b, err = Marshal("POST", "https://sts.amazonaws.com/", http.Header{"Host": {"sts.amazonaws.com"}}, Body)
	if err != nil || !strings.HasSuffix(string(b), `"headers":[{"key":"host","value":"sts.amazonaws.com"}],"body":"`+Body+`"}`) {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	for name, c := range map[string]struct {
		url string
		h   http.Header
	}{
		"two values":    {"https://sts.amazonaws.com/", http.Header{"X-Amz-Date": {"a", "b"}}},
		"no value":      {"https://sts.amazonaws.com/", http.Header{"X-Amz-Date": {}}},
		"two spellings": {"https://sts.amazonaws.com/", http.Header{"X-Amz-Date": {"a"}, "x-amz-date": {"b"}}},
		"bad UTF-8":     {"https://sts.amazonaws.com/", http.Header{"X-Amz-Date": {"\xff"}}},
		"no host":       {"/relative", nil},
		"bad URL":       {"https://[::1", nil},
		"too large":     {"https://sts.amazonaws.com/", http.Header{"X-A": {strings.Repeat("a", 64<<10)}}},
	} {
		if _, err := Marshal("POST", c.url, c.h, ""); err == nil {
			t.Errorf("%s: Marshal accepted", name)
		}
	}
}

// TestPrettyEnvelope: white space between JSON tokens is fine.
func TestPrettyEnvelope(t *testing.T) {
	h := newHarness(t, nil, nil)
	var buf bytes.Buffer
	if err := json.Indent(&buf, sign(t, spec{bodyForm: true}), " ", "\t"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.v.VerifyAWS(t.Context(), append([]byte("\n "), buf.Bytes()...), testAudience); err != nil {
		t.Fatal(err)
	}
}

// TestErrorMethods: the methods exchange.AWSVerifier's contract names.
func TestErrorMethods(t *testing.T) {
	var err error = &Error{reason: "upstream_refused", upstream: "ExpiredToken"}
	r, ok1 := err.(interface{ Reason() string })
	u, ok2 := err.(interface{ Unavailable() bool })
	if !ok1 || !ok2 || r.Reason() != "upstream_refused" || u.Unavailable() {
		t.Fatalf("%T lacks Reason/Unavailable", err)
	}
	if s := err.Error(); s != "awsproof: upstream_refused (upstream code ExpiredToken)" {
		t.Fatalf("Error() = %q", s)
	}
	cause := errors.New("dial tcp: refused")
	err = unavailable("upstream_unavailable", cause)
	if !errors.Is(err, cause) || err.Error() != "awsproof: upstream_unavailable: dial tcp: refused" {
		t.Fatalf("unavailable error = %q", err)
	}
}
