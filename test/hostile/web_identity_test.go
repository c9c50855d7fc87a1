package hostile

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"fmt"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/config"
	"github.com/keyless-dev/keyless/internal/idtoken"
	"github.com/keyless-dev/keyless/internal/idtoken/idtokentest"
	"github.com/keyless-dev/keyless/internal/outbound/outboundtest"
	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/memory"
	"github.com/keyless-dev/keyless/test/internal/proc"
)

// Section 3.F: AssumeRoleWithWebIdentity with hostile OpenID Connect
// tokens, unsigned, through the real HTTP handler. The providers of these
// tests give their key sets in the configuration (jwks:), generated at test
// time; the rows about fetching keys (JWT-07, JWT-08, JWT-31..33, F-05..F-10)
// are in internal/jwks/remote_test.go, with end-to-end checks of the codes
// they map to in TestWebIdentityRemoteProvider below.

const (
	wiAccount  = "111122223333"
	wiIssuer   = "https://idp.example.com" // id_tokens_only; RS256+ES256 (default)
	wiClient   = "keyless-app"
	wiSingle   = "https://single.example.com" // one key; algorithms [RS256]
	wiSecond   = "https://second.example.com" // publishes a key with wiIssuer's kid
	wiWeak     = "https://weak.example.com"   // key set full of keys to ignore
	wiGitHub   = "https://token.actions.githubusercontent.com"
	wiGHHost   = "token.actions.githubusercontent.com"
	wiGHAud    = "sts.amazonaws.com"
	wiMainSub  = "repo:org/app:ref:refs/heads/main"
	wiProvider = "arn:aws:iam::" + wiAccount + ":oidc-provider/"
	wiRole     = "arn:aws:iam::" + wiAccount + ":role/"
	wiApp      = wiRole + "WebApp"
	wiDeploy   = wiRole + "Deploy"     // StringEquals sub main
	wiLike     = wiRole + "DeployLike" // StringLike sub main (no wildcard)
	wiWild     = wiRole + "DeployWild" // StringLike sub repo:org/app:*
	wiLiteral  = wiRole + "Literal"    // StringLike sub repo:org/app${*}
	wiBroad    = wiRole + "Broad"      // aud only, broad_trust_intended
)

// wiKeys are the providers' signing keys and the keys a verifier must not
// use. They are generated once per run.
type wiKeys struct {
	rsa1, rsa2, ec1, ed1 *idtokentest.Signer // wiIssuer
	single               *idtokentest.Signer // wiSingle, kid "only"
	second               *idtokentest.Signer // wiSecond, kid "rsa-1" like wiIssuer's
	gh                   *idtokentest.Signer
	weakGood             *idtokentest.Signer
	weak                 []wiWeakKey
	attacker             *idtokentest.Signer // registered nowhere; kid "rsa-1"
	attackerEC           *idtokentest.Signer
}

// wiWeakKey is an entry of wiWeak's key set that the loader must leave out
// (JWT-12, JWT-13), with a way to sign tokens that it would verify if it
// were used.
type wiWeakKey struct {
	row, label string
	jwk        map[string]any
	alg        string
	sign       func(input string) []byte
}

var (
	wiKeysOnce sync.Once
	wiKeySet   *wiKeys
)

func wiB64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func wiJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// wiRSASign is RSASSA-PKCS1-v1_5 with SHA-256 done by hand (RFC 8017
// section 8.2.1), so that keys crypto/rsa refuses (1024 bits, e=3) can
// sign. It checks its own result with the public exponent.
func wiRSASign(n, d *big.Int, e int, input string) []byte {
	sum := sha256.Sum256([]byte(input))
	t := append([]byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}, sum[:]...)
	k := (n.BitLen() + 7) / 8
	em := make([]byte, k)
	em[1] = 1
	for i := 2; i < k-len(t)-1; i++ {
		em[i] = 0xff
	}
	copy(em[k-len(t):], t)
	m := new(big.Int).SetBytes(em)
	s := new(big.Int).Exp(m, d, n)
	if new(big.Int).Exp(s, big.NewInt(int64(e)), n).Cmp(m) != 0 {
		panic("wiRSASign: the signature does not verify")
	}
	return s.FillBytes(make([]byte, k))
}

// wiKeyE3 is a 2048-bit RSA key with public exponent 3.
func wiKeyE3() (n, d *big.Int) {
	one, three := big.NewInt(1), big.NewInt(3)
	for {
		p, err1 := rand.Prime(rand.Reader, 1024)
		q, err2 := rand.Prime(rand.Reader, 1024)
		if err1 != nil || err2 != nil {
			panic("rand.Prime")
		}
		n = new(big.Int).Mul(p, q)
		phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
		if n.BitLen() != 2048 || new(big.Int).Mod(phi, three).Sign() == 0 {
			continue
		}
		return n, new(big.Int).ModInverse(three, phi)
	}
}

// wiGenerate returns the run's keys, generating them on first use.
func wiGenerate() *wiKeys {
	wiKeysOnce.Do(func() {
		k := &wiKeys{
			rsa1: idtokentest.NewRSA("rsa-1"), rsa2: idtokentest.NewRSA("rsa-2"),
			ec1: idtokentest.NewEC("ec-1"), ed1: idtokentest.NewEd25519("ed-1"),
			single: idtokentest.NewRSA("only"), second: idtokentest.NewRSA("rsa-1"),
			gh: idtokentest.NewRSA("gh-1"), weakGood: idtokentest.NewRSA("weak-good"),
			attacker: idtokentest.NewRSA("rsa-1"), attackerEC: idtokentest.NewEC("ec-1"),
		}
		sig := func(s *idtokentest.Signer) func(string) []byte {
			return func(input string) []byte {
				// Raw signs b64(header).b64(payload): split the input back.
				h, p, _ := strings.Cut(input, ".")
				hb, _ := base64.RawURLEncoding.DecodeString(h)
				pb, _ := base64.RawURLEncoding.DecodeString(p)
				t := s.Raw(hb, pb)
				sb, _ := base64.RawURLEncoding.DecodeString(t[strings.LastIndexByte(t, '.')+1:])
				return sb
			}
		}
		with := func(s *idtokentest.Signer, extra map[string]any) map[string]any {
			j := s.JWK()
			for name, v := range extra {
				j[name] = v
			}
			return j
		}
		random := func(n int) string {
			b := make([]byte, n)
			_, _ = rand.Read(b)
			return wiB64(b)
		}

		k1024, err := rsa.GenerateKey(rand.Reader, 1024)
		if err != nil {
			panic(err)
		}
		n3, d3 := wiKeyE3()
		lead0 := idtokentest.NewRSA("lead-zero")
		n0, _ := base64.RawURLEncoding.DecodeString(lead0.JWK()["n"].(string))
		evenE := idtokentest.NewRSA("even-e")
		big16k := make([]byte, 2048)
		_, _ = rand.Read(big16k)
		big16k[0] |= 0x80
		big16k[len(big16k)-1] |= 1
		withD, withP, ecWithD := idtokentest.NewRSA("with-d"), idtokentest.NewRSA("with-p"), idtokentest.NewEC("ec-with-d")
		useEnc := idtokentest.NewRSA("use-enc")
		k.weak = []wiWeakKey{
			{"JWT-12", "1024-bit RSA", map[string]any{"kty": "RSA", "kid": "rsa-1024", "n": wiB64(k1024.N.Bytes()), "e": "AQAB"}, "RS256",
				func(in string) []byte { return wiRSASign(k1024.N, k1024.D, 65537, in) }},
			{"JWT-12", "16384-bit RSA", map[string]any{"kty": "RSA", "kid": "rsa-16384", "n": wiB64(big16k), "e": "AQAB"}, "RS256",
				sig(k.attacker)},
			{"JWT-12", "e=1", map[string]any{"kty": "RSA", "kid": "rsa-e1", "n": lead0.JWK()["n"], "e": "AQ"}, "RS256",
				// With e=1 a "signature" is the encoded message itself.
				func(in string) []byte { return wiRSASign(new(big.Int).SetBytes(n0), big.NewInt(1), 1, in) }},
			{"JWT-12", "e=3", map[string]any{"kty": "RSA", "kid": "rsa-e3", "n": wiB64(n3.Bytes()), "e": "Aw"}, "RS256",
				func(in string) []byte { return wiRSASign(n3, d3, 3, in) }},
			{"JWT-12", "even e", with(evenE, map[string]any{"e": "AQAA"}), "RS256", sig(evenE)},
			{"JWT-12", "n with a leading zero", with(lead0, map[string]any{"n": wiB64(append([]byte{0}, n0...))}), "RS256", sig(lead0)},
			{"JWT-13", "RSA with d", with(withD, map[string]any{"d": random(256)}), "RS256", sig(withD)},
			{"JWT-13", "RSA with p", with(withP, map[string]any{"p": random(128)}), "RS256", sig(withP)},
			{"JWT-13", "EC with d", with(ecWithD, map[string]any{"d": random(32)}), "ES256", sig(ecWithD)},
			{"JWT-13", "kty oct", map[string]any{"kty": "oct", "kid": "oct", "k": wiB64([]byte(wiClient))}, "RS256", sig(k.attacker)},
			{"JWT-13", "use enc", with(useEnc, map[string]any{"use": "enc"}), "RS256", sig(useEnc)},
		}
		wiKeySet = k
	})
	return wiKeySet
}

// wiProviders is the oidc_providers section of the test account.
func wiProviders(k *wiKeys) string {
	weak := []any{k.weakGood.JWK()}
	for _, w := range k.weak {
		weak = append(weak, w.jwk)
	}
	set := func(v []byte) string { return "'" + string(v) + "'" }
	return "    oidc_providers:\n" +
		"      - url: " + wiIssuer + "\n        client_ids: [" + wiClient + ", second-app]\n        id_tokens_only: true\n" +
		"        jwks: " + set(idtokentest.JWKS(k.rsa1, k.rsa2, k.ec1, k.ed1)) + "\n" +
		"      - url: " + wiSingle + "\n        client_ids: [" + wiClient + "]\n        algorithms: [RS256]\n" +
		"        jwks: " + set(idtokentest.JWKS(k.single)) + "\n" +
		"      - url: " + wiSecond + "\n        client_ids: [" + wiClient + "]\n" +
		"        jwks: " + set(idtokentest.JWKS(k.second)) + "\n" +
		"      - url: " + wiWeak + "\n        client_ids: [" + wiClient + "]\n" +
		"        jwks: " + set(wiJSON(map[string]any{"keys": weak})) + "\n" +
		"      - url: " + wiGitHub + "\n        client_ids: [" + wiGHAud + "]\n        multi_tenant: true\n" +
		"        jwks: " + set(idtokentest.JWKS(k.gh)) + "\n"
}

// wiTrust is a trust policy of statements allowing
// AssumeRoleWithWebIdentity under conditions.
func wiTrust(statements ...string) string {
	return `{"Version": "2012-10-17", "Statement": [` + strings.Join(statements, ", ") + `]}`
}

func wiStatement(host, conditions string) string {
	return `{"Effect": "Allow", "Principal": {"Federated": "` + wiProvider + host + `"}, "Action": "sts:AssumeRoleWithWebIdentity", "Condition": ` + conditions + `}`
}

func wiRoleYAML(name, trust string, broad bool) string {
	s := "      - name: " + name + "\n        trust_policy: '" + trust + "'\n"
	if broad {
		s += "        broad_trust_intended: true\n"
	}
	return s
}

// wiGHCond is a condition block on the GitHub provider: aud, plus more.
func wiGHCond(more string) string {
	return `{"StringEquals": {"` + wiGHHost + `:aud": "` + wiGHAud + `"}` + more + `}`
}

// wiRoles are the roles that trust the test providers.
func wiRoles() string {
	aud := func(host string) string {
		return wiStatement(host, `{"StringEquals": {"`+host+`:aud": "`+wiClient+`"}}`)
	}
	return wiRoleYAML("WebApp", wiTrust(aud("idp.example.com"), aud("single.example.com"), aud("second.example.com"), aud("weak.example.com")), false) +
		wiRoleYAML("Deploy", wiTrust(wiStatement(wiGHHost, `{"StringEquals": {"`+wiGHHost+`:aud": "`+wiGHAud+`", "`+wiGHHost+`:sub": "`+wiMainSub+`"}}`)), false) +
		wiRoleYAML("DeployLike", wiTrust(wiStatement(wiGHHost, wiGHCond(`, "StringLike": {"`+wiGHHost+`:sub": "`+wiMainSub+`"}`))), false) +
		wiRoleYAML("DeployWild", wiTrust(wiStatement(wiGHHost, wiGHCond(`, "StringLike": {"`+wiGHHost+`:sub": "repo:org/app:*"}`))), false) +
		wiRoleYAML("Literal", wiTrust(wiStatement(wiGHHost, wiGHCond(`, "StringLike": {"`+wiGHHost+`:sub": "repo:org/app${*}"}`))), false) +
		wiRoleYAML("Broad", wiTrust(wiStatement(wiGHHost, wiGHCond(""))), true)
}

// wiEdit inserts providers and roles into testdata/roles.yaml's first
// account.
func wiEdit(providers, roles string) func(string) string {
	return func(text string) string {
		text = strings.Replace(text, "    roles:\n", providers+"    roles:\n"+roles, 1)
		return text
	}
}

// wiEnv is a harness serving the test providers.
type wiEnv struct {
	*harness
	k *wiKeys
}

func newWIHarness(t *testing.T) *wiEnv {
	t.Helper()
	k := wiGenerate()
	h := &harness{t: t, config: "roles.yaml", clock: clock.NewFake(start), store: &faultyStore{Store: memory.New()}, logs: &proc.Logs{}}
	h.boot(wiEdit(wiProviders(k), wiRoles()))
	return &wiEnv{harness: h, k: k}
}

// sub returns the environment reporting to a subtest.
func (w *wiEnv) sub(t *testing.T) *wiEnv {
	c := *w.harness
	c.t = t
	return &wiEnv{harness: &c, k: w.k}
}

// wiAbsent removes a claim from the defaults.
type wiAbsent struct{}

// claims are valid claims of iss for aud, changed by extra.
func (w *wiEnv) claims(iss, aud string, extra map[string]any) map[string]any {
	now := w.clock.Now()
	c := map[string]any{"iss": iss, "sub": "alice", "aud": aud, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
	if iss == wiGitHub {
		c["sub"], c["repository"], c["repository_owner"] = wiMainSub, "org/app", "org"
	}
	for name, v := range extra {
		if _, ok := v.(wiAbsent); ok {
			delete(c, name)
			continue
		}
		c[name] = v
	}
	return c
}

// idp is a valid token of wiIssuer changed by extra.
func (w *wiEnv) idp(extra map[string]any) string {
	return w.k.rsa1.Sign(w.claims(wiIssuer, wiClient, extra))
}

// wiHeader signs payload under an explicit header with s.
func wiHeader(s *idtokentest.Signer, h map[string]any, claims map[string]any) string {
	return s.Raw(wiJSON(h), wiJSON(claims))
}

// wiHS256 is an HMAC-SHA-256 token under header h keyed with key.
func wiHS256(h map[string]any, claims map[string]any, key []byte) string {
	input := wiB64(wiJSON(h)) + "." + wiB64(wiJSON(claims))
	m := hmac.New(sha256.New, key)
	m.Write([]byte(input))
	return input + "." + wiB64(m.Sum(nil))
}

// wiWithSig replaces a token's signature segment.
func wiWithSig(tok string, sig []byte) string {
	return tok[:strings.LastIndexByte(tok, '.')+1] + wiB64(sig)
}

// wiSigOf decodes a token's signature segment.
func wiSigOf(tok string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(tok[strings.LastIndexByte(tok, '.')+1:])
	if err != nil {
		panic(err)
	}
	return b
}

// wiResult is a response and the audit event it produced.
type wiResult struct {
	result
	ev  audit.Event
	raw string
}

// assume sends an unsigned AssumeRoleWithWebIdentity and checks what every
// answer must satisfy: one audit event for it (send), and the token nowhere
// in the audit event, the answer or the server log.
func (w *wiEnv) assume(role, session, token, extra string) wiResult {
	w.t.Helper()
	body := "Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
	if role != "" {
		body += q("RoleArn", role)
	}
	if session != "" {
		body += q("RoleSessionName", session)
	}
	if token != "" {
		body += q("WebIdentityToken", token)
	}
	return w.post(body+extra, token)
}

func (w *wiEnv) post(body, token string) wiResult {
	w.t.Helper()
	secrets := wiSecretParts(token)
	noteSecret(secrets...)
	r := wiResult{result: w.send(w.request("POST", "/", body))}
	evs := w.events()
	r.ev = evs[len(evs)-1]
	b, _ := json.Marshal(r.ev)
	r.raw = string(b)
	if r.status == 200 {
		var doc struct {
			C issuedCredentials `xml:"AssumeRoleWithWebIdentityResult>Credentials"`
		}
		if err := xml.Unmarshal([]byte(r.body), &doc); err != nil {
			w.t.Fatalf("answer is not XML: %v", err)
		}
		r.creds = creds{doc.C.AccessKeyID, doc.C.SecretAccessKey, doc.C.SessionToken}
		noteSecret(r.creds.secret, r.creds.token)
	}
	logs := w.logs.String()
	for _, s := range secrets {
		if strings.Contains(r.raw, s) || strings.Contains(logs, s) || strings.Contains(r.body, s) {
			w.t.Errorf("the token (or its signature) reached the audit event, the server log or the answer")
		}
	}
	return r
}

// wiSecretParts are the parts of a token that must never be written: the
// token, and its signature segment when it is long enough to be unique.
func wiSecretParts(token string) []string {
	out := []string{}
	if len(token) >= 16 {
		out = append(out, token)
	}
	if i := strings.LastIndexByte(token, '.'); i >= 0 && len(token)-i > 24 {
		out = append(out, token[i+1:])
	}
	return out
}

// wiRow is one hostile input.
type wiRow struct {
	id     string
	role   string // wiApp when empty
	token  string
	status int
	code   string
	reason string // the audit event's reason; "" for any non-empty reason
}

const (
	wiInvalid = "InvalidIdentityToken"
	wiExpired = "ExpiredTokenException"
)

// run runs each row as a subtest named by its id.
func (w *wiEnv) run(t *testing.T, rows []wiRow) {
	t.Helper()
	for _, row := range rows {
		t.Run(row.id, func(t *testing.T) {
			w.sub(t).deny(row)
		})
	}
}

// deny sends a row's token and applies assertDenied and the audit reason
// check.
func (w *wiEnv) deny(row wiRow) wiResult {
	w.t.Helper()
	role := row.role
	if role == "" {
		role = wiApp
	}
	r := w.assume(role, "s1", row.token, "")
	if r.status == 200 {
		w.t.Errorf("%s: accepted (200 with credentials), want %d %s", row.id, row.status, row.code)
		return r
	}
	w.assertDenied(row.id, r.result, row.status, row.code)
	reason := r.ev.AdditionalEventData["reason"]
	if row.reason != "" && reason != row.reason || reason == "" {
		w.t.Errorf("%s: audit reason %q, want %q", row.id, reason, row.reason)
	}
	if r.ev.ErrorCode != row.code {
		w.t.Errorf("%s: audit error code %q", row.id, r.ev.ErrorCode)
	}
	return r
}

// accept sends a token that must be exchanged for credentials.
func (w *wiEnv) accept(id, role, token string) wiResult {
	w.t.Helper()
	r := w.assume(role, "s1", token, "")
	if r.status != 200 || !strings.HasPrefix(r.creds.id, "ASIA") || r.creds.secret == "" || r.creds.token == "" {
		w.t.Errorf("%s: got %d %s (%s), want credentials", id, r.status, r.code, r.message)
	}
	return r
}

// TestWebIdentity is the positive control the rows below are measured
// against: a valid token of each provider is exchanged.
func TestWebIdentity(t *testing.T) {
	w := newWIHarness(t)
	k := w.k
	r := w.accept("valid", wiApp, w.idp(nil))
	for _, want := range []string{"<SubjectFromWebIdentityToken>alice</SubjectFromWebIdentityToken>", "<Audience>" + wiClient + "</Audience>",
		"<Provider>" + wiProvider + "idp.example.com</Provider>", "<Arn>arn:aws:sts::" + wiAccount + ":assumed-role/WebApp/s1</Arn>"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("answer lacks %s", want)
		}
	}
	if r.ev.EventName != "AssumeRoleWithWebIdentity" || r.ev.UserIdentity.Type != "WebIdentityUser" ||
		r.ev.UserIdentity.PrincipalID != "idp.example.com:"+wiClient+":alice" {
		t.Errorf("audit event %s", r.raw)
	}
	w.accept("ES256", wiApp, k.ec1.Sign(w.claims(wiIssuer, wiClient, nil)))
	w.accept("single", wiApp, k.single.Sign(w.claims(wiSingle, wiClient, nil)))
	w.accept("second", wiApp, k.second.Sign(w.claims(wiSecond, wiClient, nil)))
	w.accept("weak provider's good key", wiApp, k.weakGood.Sign(w.claims(wiWeak, wiClient, nil)))
	w.accept("GitHub", wiDeploy, k.gh.Sign(w.claims(wiGitHub, wiGHAud, nil)))
	// The session works: GetCallerIdentity names the role session.
	gci := w.send(w.sign(w.request("POST", "/", gciBody), r.creds, "us-east-1"))
	if gci.status != 200 || !strings.Contains(gci.body, "assumed-role/WebApp/s1") {
		t.Errorf("GetCallerIdentity with the session: %d %s", gci.status, gci.body)
	}
}

// JWT-01, 03, 04, 05: algorithms and keys the token chooses.
func TestWebIdentityAlgorithms(t *testing.T) {
	w := newWIHarness(t)
	k := w.k
	cl := w.claims(wiIssuer, wiClient, nil)
	valid := w.idp(nil)
	p64 := strings.Split(valid, ".")[1]
	unsigned := func(alg string) string {
		return wiB64(wiJSON(map[string]any{"alg": alg, "kid": "rsa-1", "typ": "JWT"})) + "." + p64 + "."
	}
	var rows []wiRow
	for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
		rows = append(rows,
			wiRow{"JWT-01/" + alg + " empty signature", "", unsigned(alg), 400, wiInvalid, "not_base64url"},
			wiRow{"JWT-01/" + alg + " with signature", "", unsigned(alg) + valid[strings.LastIndexByte(valid, '.')+1:], 400, wiInvalid, "alg_none"})
	}

	// JWT-03: HS256 keyed by what an attacker knows. keyless has no
	// client secrets; the client id and the provider's public key are the
	// values a confused verifier would use (MinIO CVE-2026-33322, V-11 a).
	pub := k.rsa1.JWK()
	nb, _ := base64.RawURLEncoding.DecodeString(pub["n"].(string))
	eb, _ := base64.RawURLEncoding.DecodeString(pub["e"].(string))
	rsaPub := &rsa.PublicKey{N: new(big.Int).SetBytes(nb), E: int(new(big.Int).SetBytes(eb).Int64())}
	pkix, _ := x509.MarshalPKIXPublicKey(rsaPub)
	pkcs1 := x509.MarshalPKCS1PublicKey(rsaPub)
	pemPKIX := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkix})
	pemPKCS1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: pkcs1})
	hmacKeys := []struct {
		name string
		key  []byte
	}{
		{"client id", []byte(wiClient)},
		{"PEM PKIX", pemPKIX},
		{"PEM PKCS1", pemPKCS1},
		{"PEM with leading whitespace", append([]byte(" \n"), pemPKIX...)},
		{"DER PKIX", pkix},
		{"DER PKCS1", pkcs1},
		{"JWK JSON", wiJSON(pub)},
		{"n||e", append(append([]byte{}, nb...), eb...)},
	}
	for _, hk := range hmacKeys {
		rows = append(rows, wiRow{"JWT-03/HS256 kid=client id keyed with " + hk.name, "",
			wiHS256(map[string]any{"alg": "HS256", "kid": wiClient, "typ": "JWT"}, cl, hk.key), 400, wiInvalid, "alg_hmac"})
		rows = append(rows, wiRow{"JWT-03/HS256 kid=rsa-1 keyed with " + hk.name, "",
			wiHS256(map[string]any{"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}, cl, hk.key), 400, wiInvalid, "alg_hmac"})
	}
	for _, alg := range []string{"HS384", "HS512", "hs256", "Hs256"} {
		rows = append(rows, wiRow{"JWT-03/" + alg, "", wiHS256(map[string]any{"alg": alg, "kid": wiClient}, cl, []byte(wiClient)), 400, wiInvalid, "alg_hmac"})
	}

	// JWT-04: algorithms outside the allow-list, signed with a key of the
	// provider's set where one exists.
	ps := *k.rsa1
	ps.Alg = "PS256"
	psSingle := *k.single
	psSingle.Alg = "PS256"
	rows = append(rows,
		wiRow{"JWT-04/PS256 (allow-list RS256, ES256)", "", ps.Sign(cl), 400, wiInvalid, "alg_not_allowed"},
		wiRow{"JWT-04/PS256 (allow-list RS256)", "", psSingle.Sign(w.claims(wiSingle, wiClient, nil)), 400, wiInvalid, "alg_not_allowed"},
		wiRow{"JWT-04/ES256 (allow-list RS256)", "", wiHeader(k.ec1, map[string]any{"alg": "ES256", "kid": "only"}, w.claims(wiSingle, wiClient, nil)), 400, wiInvalid, "alg_not_allowed"},
		wiRow{"JWT-04/EdDSA with a key of the set", "", k.ed1.Sign(cl), 400, wiInvalid, "alg_not_allowed"},
		wiRow{"JWT-04/ES256K", "", wiHeader(k.ec1, map[string]any{"alg": "ES256K", "kid": "ec-1"}, cl), 400, wiInvalid, "alg_not_allowed"},
		wiRow{"JWT-04/RS1", "", wiHeader(k.rsa1, map[string]any{"alg": "RS1", "kid": "rsa-1"}, cl), 400, wiInvalid, "alg_not_allowed"},
		wiRow{"JWT-04/rs256 lower case", "", wiHeader(k.rsa1, map[string]any{"alg": "rs256", "kid": "rsa-1"}, cl), 400, wiInvalid, "alg_not_allowed"},
		wiRow{"JWT-04/RS256 with a space", "", wiHeader(k.rsa1, map[string]any{"alg": "RS256 ", "kid": "rsa-1"}, cl), 400, wiInvalid, "alg_not_allowed"},
		wiRow{"JWT-04/alg a number", "", wiHeader(k.rsa1, map[string]any{"alg": 256, "kid": "rsa-1"}, cl), 400, wiInvalid, "header_invalid"},
		wiRow{"JWT-04/alg missing", "", wiHeader(k.rsa1, map[string]any{"kid": "rsa-1"}, cl), 400, wiInvalid, "header_invalid"},
	)

	// JWT-05: keys the token carries or points at. The canary is what
	// jku and x5u name; nothing may connect to it.
	cn := outboundtest.NewCanary(t)
	attackerJWK := k.attacker.JWK()
	x5cKey, cert := wiSelfSigned(t)
	rows = append(rows,
		wiRow{"JWT-05/jwk wiHeader with the signing key", "", wiHeader(k.attacker, map[string]any{"alg": "RS256", "jwk": attackerJWK}, cl), 400, wiInvalid, "header_jwk_refused"},
		wiRow{"JWT-05/jwk wiHeader and kid of the set", "", wiHeader(k.attacker, map[string]any{"alg": "RS256", "kid": "rsa-1", "jwk": attackerJWK}, cl), 400, wiInvalid, "header_jwk_refused"},
		wiRow{"JWT-05/x5c chain", "", wiES256(x5cKey, map[string]any{"alg": "ES256", "x5c": []string{base64.StdEncoding.EncodeToString(cert)}}, cl), 400, wiInvalid, "header_x5c_refused"},
		wiRow{"JWT-05/x5c chain and kid of the set", "", wiES256(x5cKey, map[string]any{"alg": "ES256", "kid": "ec-1", "x5c": []string{base64.StdEncoding.EncodeToString(cert)}}, cl), 400, wiInvalid, "header_x5c_refused"},
		wiRow{"JWT-05/jku at the canary", "", wiHeader(k.attacker, map[string]any{"alg": "RS256", "kid": "rsa-1", "jku": cn.URL + "/jwks"}, cl), 400, wiInvalid, "header_jku_refused"},
		wiRow{"JWT-05/x5u at the canary", "", wiHeader(k.attacker, map[string]any{"alg": "RS256", "x5u": cn.URL + "/cert.pem"}, cl), 400, wiInvalid, "header_x5u_refused"},
		wiRow{"JWT-05/jku at the canary, signed by the provider", "", wiHeader(k.rsa1, map[string]any{"alg": "RS256", "kid": "rsa-1", "jku": cn.URL}, cl), 400, wiInvalid, "header_jku_refused"},
		wiRow{"JWT-05/attacker key with the provider's kid", "", k.attacker.Sign(cl), 400, wiInvalid, "signature_invalid"},
	)
	w.run(t, rows)
	expectNone(t, cn, "JWT-05")
}

// expectNone reports a connection that reached the canary.
func expectNone(t *testing.T, c *outboundtest.Canary, id string) {
	t.Helper()
	if n := c.Conns(); n != 0 {
		t.Errorf("%s: the canary listener received %d connections", id, n)
	}
}

// wiSelfSigned is an attacker's P-256 key and a self-signed certificate for
// it naming the provider's host.
func wiSelfSigned(t *testing.T) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "idp.example.com"},
		DNSNames: []string{"idp.example.com"}, NotBefore: start.Add(-time.Hour), NotAfter: start.Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return key, der
}

// wiES256 signs claims under header h with key.
func wiES256(key *ecdsa.PrivateKey, h, claims map[string]any) string {
	input := wiB64(wiJSON(h)) + "." + wiB64(wiJSON(claims))
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		panic(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + wiB64(sig)
}

// wiReadTestdata reads a file of testdata.
func wiReadTestdata(name string) (string, error) {
	b, err := os.ReadFile("testdata/" + name)
	return string(b), err
}

// JWT-06, 07, 09, 10, 11, 19: key ids and signatures.
func TestWebIdentitySignatures(t *testing.T) {
	w := newWIHarness(t)
	k := w.k
	cl := w.claims(wiIssuer, wiClient, nil)
	kid := func(id string) string {
		return wiHeader(k.rsa1, map[string]any{"alg": "RS256", "kid": id, "typ": "JWT"}, cl)
	}
	rows := []wiRow{
		{"JWT-06/path", "", kid("../../../dev/null"), 400, wiInvalid, "key_unknown"},
		{"JWT-06/path to the key", "", kid("../rsa-1"), 400, wiInvalid, "key_unknown"},
		{"JWT-06/SQL", "", kid("' OR '1'='1"), 400, wiInvalid, "kid_invalid"},
		{"JWT-06/SQL without spaces", "", kid("'OR'1'='1'--"), 400, wiInvalid, "key_unknown"},
		{"JWT-06/10 KB", "", kid(strings.Repeat("k", 10<<10)), 400, wiInvalid, "kid_invalid"},
		{"JWT-06/NUL after the real kid", "", kid("rsa-1\x00junk"), 400, wiInvalid, "kid_invalid"},
		{"JWT-06/newline after the real kid", "", kid("rsa-1\nx"), 400, wiInvalid, "kid_invalid"},
		{"JWT-06/%00 after the real kid", "", kid("rsa-1%00"), 400, wiInvalid, "key_unknown"},
		{"JWT-06/empty", "", kid(""), 400, wiInvalid, "kid_invalid"},
		{"JWT-06/bidi", "", kid("rsa-1\u202e"), 400, wiInvalid, "kid_invalid"},
		{"JWT-06/kid a number", "", wiHeader(k.rsa1, map[string]any{"alg": "RS256", "kid": 1}, cl), 400, wiInvalid, "header_invalid"},
		{"JWT-07/unknown kid", "", kid("nope"), 400, wiInvalid, "key_unknown"},
		{"JWT-07/kid of another provider's key", "", kid("only"), 400, wiInvalid, "key_unknown"},
		{"JWT-09/kid wiAbsent, two RSA keys", "", wiHeader(k.rsa1, map[string]any{"alg": "RS256", "typ": "JWT"}, cl), 400, wiInvalid, "kid_absent_ambiguous"},
		{"JWT-09/kid wiAbsent, two RSA keys, signed by the second", "", wiHeader(k.rsa2, map[string]any{"alg": "RS256"}, cl), 400, wiInvalid, "kid_absent_ambiguous"},
		{"JWT-19/expired and forged", "", k.attacker.Sign(w.claims(wiIssuer, wiClient, map[string]any{
			"iat": start.Add(-2 * time.Hour).Unix(), "exp": start.Add(-time.Hour).Unix()})), 400, wiInvalid, "signature_invalid"},
		{"JWT-19/expired and bit-flipped", "", wiFlipSig(w.idp(map[string]any{"iat": start.Add(-2 * time.Hour).Unix(), "exp": start.Add(-time.Hour).Unix()}), 7), 400, wiInvalid, "signature_invalid"},
		{"JWT-19/expired, not yet valid and forged", "", k.attacker.Sign(w.claims(wiIssuer, wiClient, map[string]any{
			"nbf": start.Add(time.Hour).Unix(), "exp": start.Add(-time.Hour).Unix()})), 400, wiInvalid, "signature_invalid"},
	}

	// JWT-10: one bit flipped in each part of a valid token, chosen places
	// first, then random ones; the signature covers every bit.
	valid := w.idp(nil)
	parts := strings.Split(valid, ".")
	flip := func(part, byteIndex int, bit uint) string {
		b, _ := base64.RawURLEncoding.DecodeString(parts[part])
		b[byteIndex] ^= 1 << bit
		p := append([]string{}, parts...)
		p[part] = wiB64(b)
		return strings.Join(p, ".")
	}
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	pb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	rows = append(rows,
		wiRow{"JWT-10/wiHeader typ JWT to JWU", "", flip(0, bytes.Index(hb, []byte(`"JWT"`))+3, 0), 400, wiInvalid, "signature_invalid"},
		wiRow{"JWT-10/payload sub alice to alicd", "", flip(1, bytes.Index(pb, []byte(`"alice"`))+5, 0), 400, wiInvalid, "signature_invalid"},
		wiRow{"JWT-10/signature first bit", "", flip(2, 0, 7), 400, wiInvalid, "signature_invalid"},
		wiRow{"JWT-10/signature last bit", "", flip(2, 255, 0), 400, wiInvalid, "signature_invalid"},
		wiRow{"JWT-10/signature removed", "", parts[0] + "." + parts[1] + ".", 400, wiInvalid, "not_base64url"},
		wiRow{"JWT-10/signature segment removed", "", parts[0] + "." + parts[1], 400, wiInvalid, "not_compact_jws"},
		wiRow{"JWT-10/extra segment", "", valid + ".", 400, wiInvalid, "not_compact_jws"},
		wiRow{"JWT-10/extra segment with data", "", valid + "." + parts[2], 400, wiInvalid, "not_compact_jws"},
		wiRow{"JWT-10/signature of another token", "", parts[0] + "." + parts[1] + "." + strings.Split(w.idp(map[string]any{"sub": "bob"}), ".")[2], 400, wiInvalid, "signature_invalid"},
		wiRow{"JWT-10/signature doubled", "", valid + parts[2], 400, wiInvalid, "signature_invalid"},
	)
	rng := mrand.New(mrand.NewPCG(10, 10))
	for i := range 30 {
		part := rng.IntN(3)
		b, _ := base64.RawURLEncoding.DecodeString(parts[part])
		at, bit := rng.IntN(len(b)), uint(rng.IntN(8))
		rows = append(rows, wiRow{fmt.Sprintf("JWT-10/random flip %d (part %d byte %d bit %d)", i, part, at, bit), "", flip(part, at, bit), 400, wiInvalid, ""})
	}

	// JWT-11: ES256 signatures that are not 64 bytes of r||s in [1, n-1].
	ec := k.ec1.Sign(cl)
	sig := wiSigOf(ec)
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	n := elliptic.P256().Params().N
	rs := func(r, s *big.Int) []byte {
		out := make([]byte, 64)
		r.FillBytes(out[:32])
		s.FillBytes(out[32:])
		return out
	}
	der, _ := asn1.Marshal(struct{ R, S *big.Int }{r, s})
	rows = append(rows,
		wiRow{"JWT-11/r=s=0", "", wiWithSig(ec, make([]byte, 64)), 400, wiInvalid, "signature_invalid"},
		wiRow{"JWT-11/r=0", "", wiWithSig(ec, rs(big.NewInt(0), s)), 400, wiInvalid, "signature_invalid"},
		wiRow{"JWT-11/s=0", "", wiWithSig(ec, rs(r, big.NewInt(0))), 400, wiInvalid, "signature_invalid"},
		wiRow{"JWT-11/r=n", "", wiWithSig(ec, rs(n, s)), 400, wiInvalid, "signature_invalid"},
		wiRow{"JWT-11/s=n", "", wiWithSig(ec, rs(r, n)), 400, wiInvalid, "signature_invalid"},
		wiRow{"JWT-11/r=s=n", "", wiWithSig(ec, rs(n, n)), 400, wiInvalid, "signature_invalid"},
		wiRow{"JWT-11/r=1 s=1", "", wiWithSig(ec, rs(big.NewInt(1), big.NewInt(1))), 400, wiInvalid, "signature_invalid"},
		wiRow{"JWT-11/r=s=n-1", "", wiWithSig(ec, rs(new(big.Int).Sub(n, big.NewInt(1)), new(big.Int).Sub(n, big.NewInt(1)))), 400, wiInvalid, "signature_invalid"},
		wiRow{"JWT-11/DER encoding of the valid signature", "", wiWithSig(ec, der), 400, wiInvalid, "signature_invalid"},
		wiRow{"JWT-11/63 bytes", "", wiWithSig(ec, sig[:63]), 400, wiInvalid, "signature_invalid"},
		wiRow{"JWT-11/65 bytes (appended zero)", "", wiWithSig(ec, append(append([]byte{}, sig...), 0)), 400, wiInvalid, "signature_invalid"},
		wiRow{"JWT-11/65 bytes (leading zero)", "", wiWithSig(ec, append([]byte{0}, sig...)), 400, wiInvalid, "signature_invalid"},
		wiRow{"JWT-11/32 bytes", "", wiWithSig(ec, sig[:32]), 400, wiInvalid, "signature_invalid"},
		wiRow{"JWT-11/ES256 signed by another P-256 key", "", k.attackerEC.Sign(cl), 400, wiInvalid, "signature_invalid"},
	)
	w.run(t, rows)

	// JWT-09 controls: without kid, a single key of the token's type is
	// unambiguous (OpenID Connect Core 10.1).
	w.accept("JWT-09/kid wiAbsent, single EC key among RSA keys", wiApp, wiHeader(k.ec1, map[string]any{"alg": "ES256", "typ": "JWT"}, cl))
	w.accept("JWT-09/kid wiAbsent, provider with one key", wiApp, wiHeader(k.single, map[string]any{"alg": "RS256"}, w.claims(wiSingle, wiClient, nil)))
	w.accept("JWT-11/control: the valid ES256 token", wiApp, ec)
	w.escaped(t, "JWT-06")
}

// wiFlipSig flips one bit of a token's signature.
func wiFlipSig(tok string, bit int) string {
	s := wiSigOf(tok)
	s[bit/8] ^= 1 << (bit % 8)
	return wiWithSig(tok, s)
}

// JWT-12, 13: keys the loader must leave out of a configured key set; a
// token they would verify is refused as signed by an unknown key.
func TestWebIdentityIgnoredKeys(t *testing.T) {
	w := newWIHarness(t)
	var rows []wiRow
	for _, wk := range w.k.weak {
		h := map[string]any{"alg": wk.alg, "kid": wk.jwk["kid"], "typ": "JWT"}
		input := wiB64(wiJSON(h)) + "." + wiB64(wiJSON(w.claims(wiWeak, wiClient, nil)))
		rows = append(rows, wiRow{wk.row + "/" + wk.label, "", input + "." + wiB64(wk.sign(input)), 400, wiInvalid, "key_unknown"})
	}
	// The symmetric key, used as one: refused before any key is looked up.
	rows = append(rows, wiRow{"JWT-13/HS256 with the oct key", "", wiHS256(map[string]any{"alg": "HS256", "kid": "oct"}, w.claims(wiWeak, wiClient, nil), []byte(wiClient)), 400, wiInvalid, "alg_hmac"})
	w.run(t, rows)

	// The loader tells which keys it left out, and why (JWT-13). The
	// configured set is parsed by the idtoken package; check it skips each.
	k := wiGenerate()
	for _, wk := range k.weak {
		set := wiJSON(map[string]any{"keys": []any{wk.jwk}})
		got, skipped, err := idtoken.ParseKeySet(set)
		if err != nil || len(got) != 0 || len(skipped) != 1 {
			t.Errorf("%s/%s: ParseKeySet kept %d keys, skipped %q, err %v", wk.row, wk.label, len(got), skipped, err)
		}
	}
	w.accept("control: the weak provider's good key", wiApp, k.weakGood.Sign(w.claims(wiWeak, wiClient, nil)))
}

// JWT-14: the issuer is matched exactly, and each issuer's keys verify only
// its own tokens (V-19).
func TestWebIdentityIssuer(t *testing.T) {
	w := newWIHarness(t)
	k := w.k
	iss := func(v string) string { return w.idp(map[string]any{"iss": v}) }
	rows := []wiRow{
		{"JWT-14/unregistered issuer", "", iss("https://evil.example.com"), 400, wiInvalid, "provider_unknown"},
		{"JWT-14/trailing slash", "", iss(wiIssuer + "/"), 400, wiInvalid, "provider_unknown"},
		{"JWT-14/upper-case host", "", iss("https://IDP.example.com"), 400, wiInvalid, "provider_unknown"},
		{"JWT-14/explicit :443", "", iss("https://idp.example.com:443"), 400, wiInvalid, "provider_unknown"},
		{"JWT-14/http", "", iss("http://idp.example.com"), 400, wiInvalid, "provider_unknown"},
		{"JWT-14/extra path", "", iss(wiIssuer + "/tenant"), 400, wiInvalid, "provider_unknown"},
		{"JWT-14/trailing dot", "", iss("https://idp.example.com."), 400, wiInvalid, "provider_unknown"},
		{"JWT-14/userinfo", "", iss("https://idp.example.com@evil.example.com"), 400, wiInvalid, "provider_unknown"},
		{"JWT-14/issuer with NUL", "", iss(wiIssuer + "\x00"), 400, wiInvalid, "provider_unknown"},
		{"JWT-14/iss missing", "", w.idp(map[string]any{"iss": wiAbsent{}}), 400, wiInvalid, "iss_missing"},
		{"JWT-14/iss a list", "", w.idp(map[string]any{"iss": []string{wiIssuer}}), 400, wiInvalid, "iss_missing"},
		{"JWT-14/issuer of another account", "arn:aws:iam::444455556666:role/WebApp", w.idp(nil), 400, wiInvalid, "provider_unknown"},
		// V-19: the same kid at two providers.
		{"JWT-14/iss A signed with B's key of the same kid", "", k.second.Sign(w.claims(wiIssuer, wiClient, nil)), 400, wiInvalid, "signature_invalid"},
		{"JWT-14/iss B signed with A's key of the same kid", "", k.rsa1.Sign(w.claims(wiSecond, wiClient, nil)), 400, wiInvalid, "signature_invalid"},
		{"JWT-14/iss B with a kid only A has", "", k.rsa2.Sign(w.claims(wiSecond, wiClient, nil)), 400, wiInvalid, "key_unknown"},
	}
	w.run(t, rows)
	// The refusal names the issuer as AWS does, and only a safe one.
	r := w.assume(wiApp, "s1", iss("https://evil.example.com"), "")
	if r.message != "No OpenIDConnect provider found in your account for https://evil.example.com" {
		t.Errorf("JWT-14 message %q", r.message)
	}
	r = w.assume(wiApp, "s1", iss("https://evil.example.com/\u202e<x>"), "")
	if strings.Contains(r.message, "\u202e") || strings.Contains(r.body, "<x>") {
		t.Errorf("JWT-14: hostile issuer echoed: %q", r.message)
	}
}

// JWT-16: the audience rule (one aud that is a client id, or azp that is
// one), repeated to catch map-order nondeterminism.
func TestWebIdentityAudience(t *testing.T) {
	w := newWIHarness(t)
	rows := []wiRow{
		{"JWT-16/aud missing", "", w.idp(map[string]any{"aud": wiAbsent{}}), 400, wiInvalid, "aud_missing"},
		{"JWT-16/aud []", "", w.idp(map[string]any{"aud": []string{}}), 400, wiInvalid, "aud_invalid"},
		{"JWT-16/aud empty string", "", w.idp(map[string]any{"aud": ""}), 400, wiInvalid, "aud_invalid"},
		{"JWT-16/aud 123", "", w.idp(map[string]any{"aud": 123}), 400, wiInvalid, "aud_invalid"},
		{"JWT-16/aud {}", "", w.idp(map[string]any{"aud": map[string]any{}}), 400, wiInvalid, "aud_invalid"},
		{"JWT-16/aud object naming the client", "", w.idp(map[string]any{"aud": map[string]any{wiClient: true}}), 400, wiInvalid, "aud_invalid"},
		{"JWT-16/aud null", "", w.idp(map[string]any{"aud": nil}), 400, wiInvalid, "aud_invalid"},
		{"JWT-16/aud [null]", "", w.idp(map[string]any{"aud": []any{nil}}), 400, wiInvalid, "aud_invalid"},
		{"JWT-16/aud [\"\"] and client", "", w.idp(map[string]any{"aud": []string{"", wiClient}}), 400, wiInvalid, "aud_invalid"},
		{"JWT-16/aud [other]", "", w.idp(map[string]any{"aud": []string{"other"}}), 400, wiInvalid, "aud_not_client"},
		{"JWT-16/aud other", "", w.idp(map[string]any{"aud": "other"}), 400, wiInvalid, "aud_not_client"},
		{"JWT-16/aud [ours, other] without azp", "", w.idp(map[string]any{"aud": []string{wiClient, "other"}}), 400, wiInvalid, "azp_missing"},
		{"JWT-16/aud [other, ours] without azp", "", w.idp(map[string]any{"aud": []string{"other", wiClient}}), 400, wiInvalid, "azp_missing"},
		{"JWT-16/aud [ours, ours] without azp", "", w.idp(map[string]any{"aud": []string{wiClient, wiClient}}), 400, wiInvalid, "azp_missing"},
		{"JWT-16/aud other, azp ours (another API's access token)", "", w.idp(map[string]any{"aud": "https://other-api.example", "azp": wiClient}), 400, wiInvalid, "aud_not_client"},
		{"JWT-16/aud [ours, other], azp other", "", w.idp(map[string]any{"aud": []string{wiClient, "other"}, "azp": "other"}), 400, wiInvalid, "azp_not_client"},
		{"JWT-16/azp a number", "", w.idp(map[string]any{"azp": 1}), 400, wiInvalid, "azp_invalid"},
		{"JWT-16/aud case variant", "", w.idp(map[string]any{"aud": strings.ToUpper(wiClient)}), 400, wiInvalid, "aud_not_client"},
		{"JWT-16/aud with a trailing space", "", w.idp(map[string]any{"aud": wiClient + " "}), 400, wiInvalid, "aud_not_client"},
		{"JWT-16/aud of another provider", "", w.idp(map[string]any{"aud": wiGHAud}), 400, wiInvalid, "aud_not_client"},
	}
	// The first pass checks everything (audit, reason); the other 49 the
	// answer, which is what map order could change (security.md V-14:
	// "-count=50").
	w.run(t, rows)
	controls := []struct{ id, token string }{
		{"JWT-16/control aud ours", w.idp(nil)},
		{"JWT-16/control aud [ours]", w.idp(map[string]any{"aud": []string{wiClient}})},
		{"JWT-16/control aud [ours, other], azp ours", w.idp(map[string]any{"aud": []string{wiClient, "other"}, "azp": wiClient})},
		{"JWT-16/control aud [other, ours], azp ours", w.idp(map[string]any{"aud": []string{"other", wiClient}, "azp": wiClient})},
		// azp names who asked for the token (Entra ID v2's calling
		// application); only Google's azp stands for the audience.
		{"JWT-16/control aud ours, azp another application", w.idp(map[string]any{"azp": "other"})},
	}
	for _, c := range controls {
		w.accept(c.id, wiApp, c.token)
	}
	for i := 2; i <= 50; i++ {
		for _, row := range rows {
			r := w.do(w.request("POST", "/", "Action=AssumeRoleWithWebIdentity&Version=2011-06-15"+q("RoleArn", wiApp)+q("RoleSessionName", "s1")+q("WebIdentityToken", row.token)))
			if r.status != 400 || r.code != wiInvalid || strings.Contains(r.body, "<Credentials>") {
				t.Fatalf("%s, iteration %d: %d %s", row.id, i, r.status, r.code)
			}
		}
		for _, c := range controls {
			r := w.do(w.request("POST", "/", "Action=AssumeRoleWithWebIdentity&Version=2011-06-15"+q("RoleArn", wiApp)+q("RoleSessionName", "s1")+q("WebIdentityToken", c.token)))
			if r.status != 200 {
				t.Fatalf("%s, iteration %d: %d %s", c.id, i, r.status, r.code)
			}
			var doc struct {
				C issuedCredentials `xml:"AssumeRoleWithWebIdentityResult>Credentials"`
			}
			_ = xml.Unmarshal([]byte(r.body), &doc)
			noteSecret(doc.C.SecretAccessKey, doc.C.SessionToken)
		}
	}
}

// JWT-17, 18: time claims.
func TestWebIdentityTimes(t *testing.T) {
	w := newWIHarness(t)
	now := w.clock.Now()
	num := func(s string) json.Number { return json.Number(s) }
	at := func(d time.Duration) int64 { return now.Add(d).Unix() }
	rows := []wiRow{
		{"JWT-17/exp missing", "", w.idp(map[string]any{"exp": wiAbsent{}}), 400, wiInvalid, "exp_invalid"},
		{"JWT-17/exp past by leeway + 1 s", "", w.idp(map[string]any{"iat": at(-time.Hour), "exp": at(-31 * time.Second)}), 400, wiExpired, "token_expired"},
		{"JWT-17/exp long past", "", w.idp(map[string]any{"iat": at(-48 * time.Hour), "exp": at(-47 * time.Hour)}), 400, wiExpired, "token_expired"},
		{"JWT-17/exp string", "", w.idp(map[string]any{"exp": strconv.FormatInt(at(time.Minute), 10)}), 400, wiInvalid, "exp_invalid"},
		{"JWT-17/exp float", "", w.idp(map[string]any{"exp": num(strconv.FormatInt(at(time.Minute), 10) + ".5")}), 400, wiInvalid, "exp_invalid"},
		{"JWT-17/exp float .0", "", w.idp(map[string]any{"exp": num(strconv.FormatInt(at(time.Minute), 10) + ".0")}), 400, wiInvalid, "exp_invalid"},
		{"JWT-17/exp 1e10", "", w.idp(map[string]any{"exp": num("1e10")}), 400, wiInvalid, "exp_invalid"},
		{"JWT-17/exp exponent for a valid time", "", w.idp(map[string]any{"exp": num(strconv.FormatInt(at(time.Minute)/10, 10) + "e1")}), 400, wiInvalid, "exp_invalid"},
		{"JWT-17/exp negative", "", w.idp(map[string]any{"exp": num("-1")}), 400, wiInvalid, "exp_invalid"},
		{"JWT-17/exp 2^63", "", w.idp(map[string]any{"exp": num("9223372036854775808")}), 400, wiInvalid, "exp_invalid"},
		{"JWT-17/exp 2^63-1", "", w.idp(map[string]any{"exp": num("9223372036854775807")}), 400, wiInvalid, "exp_invalid"},
		{"JWT-17/exp in milliseconds", "", w.idp(map[string]any{"exp": num(strconv.FormatInt(at(time.Minute)*1000, 10))}), 400, wiInvalid, "exp_invalid"},
		{"JWT-17/exp null", "", w.idp(map[string]any{"exp": nil}), 400, wiInvalid, "exp_invalid"},
		{"JWT-17/exp true", "", w.idp(map[string]any{"exp": true}), 400, wiInvalid, "exp_invalid"},
		{"JWT-17/exp leading zero", "", w.idp(map[string]any{"exp": "0" + strconv.FormatInt(at(time.Minute), 10)}), 400, wiInvalid, "exp_invalid"},
		{"JWT-18/nbf beyond leeway", "", w.idp(map[string]any{"nbf": at(31 * time.Second)}), 400, wiInvalid, "nbf_invalid"},
		{"JWT-18/nbf string", "", w.idp(map[string]any{"nbf": strconv.FormatInt(at(-time.Minute), 10)}), 400, wiInvalid, "nbf_invalid"},
		{"JWT-18/iat beyond leeway", "", w.idp(map[string]any{"iat": at(31 * time.Second)}), 400, wiInvalid, "iat_invalid"},
		{"JWT-18/iat float", "", w.idp(map[string]any{"iat": num(strconv.FormatInt(at(0), 10) + ".5")}), 400, wiInvalid, "iat_invalid"},
		{"JWT-18/exp - iat over 24 h", "", w.idp(map[string]any{"iat": at(-23 * time.Hour), "exp": at(time.Hour + time.Second)}), 400, wiInvalid, "lifetime_too_long"},
		{"JWT-18/no iat, exp over 24 h away", "", w.idp(map[string]any{"iat": wiAbsent{}, "exp": at(24*time.Hour + time.Second)}), 400, wiInvalid, "lifetime_too_long"},
		{"JWT-18/exp 10 years away", "", w.idp(map[string]any{"exp": at(10 * 365 * 24 * time.Hour)}), 400, wiInvalid, "lifetime_too_long"},
	}
	// JWT-17: a future exp in the exponent form that equals a valid
	// integer must also be refused (AWS accepts integers only).
	w.run(t, rows)
	w.accept("JWT-17/control exp past by leeway - 1 s", wiApp, w.idp(map[string]any{"iat": at(-time.Hour), "exp": at(-29 * time.Second)}))
	w.accept("JWT-18/control nbf within leeway", wiApp, w.idp(map[string]any{"nbf": at(29 * time.Second)}))
	w.accept("JWT-18/control iat within leeway", wiApp, w.idp(map[string]any{"iat": at(29 * time.Second)}))
	w.accept("JWT-18/control exp - iat exactly 24 h", wiApp, w.idp(map[string]any{"iat": at(-23 * time.Hour), "exp": at(time.Hour)}))
}

// JWT-20, 21, 23, 24, 25, 26: encodings and structures a strict parser
// refuses, each signed correctly so that only strictness refuses it.
func TestWebIdentityEncoding(t *testing.T) {
	w := newWIHarness(t)
	k := w.k
	now := w.clock.Now()
	std := `"iss":"` + wiIssuer + `","aud":"` + wiClient + `","iat":` + strconv.FormatInt(now.Unix(), 10) + `,"exp":` + strconv.FormatInt(now.Add(5*time.Minute).Unix(), 10)
	h := []byte(`{"alg":"RS256","kid":"rsa-1","typ":"JWT"}`)
	raw := func(payload string) string { return k.rsa1.Raw(h, []byte(payload)) }
	rawH := func(wiHeader string) string { return k.rsa1.Raw([]byte(wiHeader), []byte("{"+std+`,"sub":"alice"}`)) }
	rows := []wiRow{
		{"JWT-20/duplicate sub", "", raw(`{"sub":"alice",` + std + `,"sub":"admin"}`), 400, wiInvalid, "claims_not_strict_json"},
		{"JWT-20/duplicate iss", "", raw(`{"sub":"alice",` + std + `,"iss":"https://evil.example.com"}`), 400, wiInvalid, "claims_not_strict_json"},
		{"JWT-20/duplicate aud", "", raw(`{"sub":"alice",` + std + `,"aud":"other"}`), 400, wiInvalid, "claims_not_strict_json"},
		{"JWT-20/duplicate exp", "", raw(`{"sub":"alice",` + std + `,"exp":1}`), 400, wiInvalid, "claims_not_strict_json"},
		{"JWT-20/Sub and sub", "", raw(`{"sub":"alice",` + std + `,"Sub":"admin"}`), 400, wiInvalid, "claims_not_strict_json"},
		{"JWT-20/Sub alone", "", raw(`{"Sub":"alice",` + std + `}`), 400, wiInvalid, "claim_case_variant"},
		{"JWT-20/SUB alone", "", raw(`{"SUB":"alice",` + std + `}`), 400, wiInvalid, "claim_case_variant"},
		{"JWT-20/ſub and sub", "", raw(`{"sub":"alice",` + std + `,"ſub":"admin"}`), 400, wiInvalid, "claims_not_strict_json"},
		{"JWT-20/ſub alone", "", raw(`{"ſub":"alice",` + std + `}`), 400, wiInvalid, "claim_case_variant"},
		{"JWT-20/escaped duplicate sub", "", raw(`{"sub":"alice",` + std + `,"s\u0075b":"admin"}`), 400, wiInvalid, "claims_not_strict_json"},
		{"JWT-20/duplicate member in a nested object", "", raw(`{"sub":"alice",` + std + `,"https://aws.amazon.com/tags":{"principal_tags":{"a":["b"]},"principal_tags":{"c":["d"]}}}`), 400, wiInvalid, "claims_not_strict_json"},
		{"JWT-20/trailing data after the claims", "", raw(`{"sub":"alice",` + std + `} {}`), 400, wiInvalid, "claims_not_strict_json"},
		{"JWT-20/claims an array", "", raw(`[{"sub":"alice",` + std + `}]`), 400, wiInvalid, "claims_not_strict_json"},
		{"JWT-20/invalid UTF-8 in sub (RFC 7519 section 7.2)", "", raw(`{"sub":"al` + "\xff" + `ice",` + std + `}`), 400, wiInvalid, ""},
		{"JWT-20/invalid UTF-8 in a member name", "", raw(`{"sub":"alice",` + std + `,"x` + "\xfe" + `":1}`), 400, wiInvalid, ""},
		{"JWT-20/invalid UTF-8 in the header", "", rawH(`{"alg":"RS256","kid":"rsa-1","typ":"J` + "\xff" + `"}`), 400, wiInvalid, ""},
		{"JWT-20/duplicate alg in the header", "", rawH(`{"alg":"RS256","kid":"rsa-1","alg":"none"}`), 400, wiInvalid, "header_not_strict_json"},
		{"JWT-20/duplicate kid in the header", "", rawH(`{"alg":"RS256","kid":"nope","kid":"rsa-1"}`), 400, wiInvalid, "header_not_strict_json"},
		{"JWT-20/Alg and alg in the header", "", rawH(`{"alg":"RS256","kid":"rsa-1","Alg":"none"}`), 400, wiInvalid, "header_not_strict_json"},

		{"JWT-23/JSON serialization, general, two signatures", "", wiJSONGeneral(w.idp(nil), k.attacker.Sign(w.claims(wiIssuer, wiClient, map[string]any{"sub": "admin"}))), 400, wiInvalid, "not_compact_jws"},
		{"JWT-23/JSON serialization, flattened", "", wiJSONFlattened(w.idp(nil)), 400, wiInvalid, "not_compact_jws"},

		{"JWT-24/JWE", "", wiJWE(`{"alg":"RSA-OAEP","enc":"A256GCM","kid":"rsa-1"}`, "ZW5jcnlwdGVka2V5"), 400, wiInvalid, "jwe_refused"},
		{"JWT-24/JWE with an empty encrypted_key (CVE-2026-34986)", "", wiJWE(`{"alg":"RSA-OAEP","enc":"A256GCM","kid":"rsa-1"}`, ""), 400, wiInvalid, "jwe_refused"},
		{"JWT-24/JWE dir", "", wiJWE(`{"alg":"dir","enc":"A128CBC-HS256"}`, ""), 400, wiInvalid, "jwe_refused"},
		{"JWT-24/JWE deflate bomb", "", wiJWE(`{"alg":"RSA-OAEP","enc":"A256GCM","zip":"DEF"}`, "ZW5jcnlwdGVka2V5"), 400, wiInvalid, "jwe_refused"},
		{"JWT-24/JWE PBES2 with a huge p2c", "", wiJWE(`{"alg":"PBES2-HS256+A128KW","enc":"A128GCM","p2c":2147483647,"p2s":"c2FsdA"}`, "ZW5jcnlwdGVka2V5"), 400, wiInvalid, "jwe_refused"},
		{"JWT-24/zip in a JWS header", "", rawH(`{"alg":"RS256","kid":"rsa-1","zip":"DEF"}`), 400, wiInvalid, "header_zip_refused"},
		{"JWT-24/enc in a JWS header", "", rawH(`{"alg":"RS256","kid":"rsa-1","enc":"A256GCM"}`), 400, wiInvalid, "header_enc_refused"},

		{"JWT-25/crit b64 with b64 false", "", rawH(`{"alg":"RS256","kid":"rsa-1","crit":["b64"],"b64":false}`), 400, wiInvalid, "header_crit_refused"},
		{"JWT-25/b64 false", "", rawH(`{"alg":"RS256","kid":"rsa-1","b64":false}`), 400, wiInvalid, "header_b64_refused"},
		{"JWT-25/b64 true", "", rawH(`{"alg":"RS256","kid":"rsa-1","b64":true}`), 400, wiInvalid, "header_b64_refused"},
		{"JWT-25/crit unknown", "", rawH(`{"alg":"RS256","kid":"rsa-1","crit":["x-unknown"],"x-unknown":1}`), 400, wiInvalid, "header_crit_refused"},
		{"JWT-25/crit exp", "", rawH(`{"alg":"RS256","kid":"rsa-1","crit":["exp"],"exp":1}`), 400, wiInvalid, "header_crit_refused"},
		{"JWT-25/crit empty", "", rawH(`{"alg":"RS256","kid":"rsa-1","crit":[]}`), 400, wiInvalid, "header_crit_refused"},

		{"JWT-26/cty JWT", "", rawH(`{"alg":"RS256","kid":"rsa-1","cty":"JWT"}`), 400, wiInvalid, "header_cty_refused"},
		{"JWT-26/nested token as the payload", "", k.rsa1.Raw(h, []byte(w.idp(nil))), 400, wiInvalid, "claims_not_strict_json"},
		{"JWT-26/nested token as a JSON string", "", k.rsa1.Raw(h, wiJSON(w.idp(nil))), 400, wiInvalid, "claims_not_strict_json"},
	}

	// JWT-21: non-canonical base64url in each segment of a valid token.
	valid := w.idp(nil)
	parts := strings.Split(valid, ".")
	names := []string{"header", "payload", "signature"}
	variant := func(i int, seg string) string {
		p := append([]string{}, parts...)
		p[i] = seg
		return strings.Join(p, ".")
	}
	for i, seg := range parts {
		b, _ := base64.RawURLEncoding.DecodeString(seg)
		padded := base64.URLEncoding.EncodeToString(b)
		if padded == seg {
			// No padding is due; a trailing "==" is still not canonical.
			padded = seg + "=="
		}
		rows = append(rows,
			wiRow{"JWT-21/" + names[i] + " padded", "", variant(i, padded), 400, wiInvalid, "not_base64url"},
			wiRow{"JWT-21/" + names[i] + " with a space", "", variant(i, seg[:8]+" "+seg[8:]), 400, wiInvalid, "not_base64url"},
			wiRow{"JWT-21/" + names[i] + " with a tab", "", variant(i, seg[:8]+"\t"+seg[8:]), 400, wiInvalid, "not_base64url"},
			wiRow{"JWT-21/" + names[i] + " with a newline", "", variant(i, seg[:8]+"\n"+seg[8:]), 400, wiInvalid, ""},
			wiRow{"JWT-21/" + names[i] + " with a carriage return", "", variant(i, seg[:8]+"\r"+seg[8:]), 400, wiInvalid, ""},
			wiRow{"JWT-21/" + names[i] + " ending in a newline", "", variant(i, seg+"\n"), 400, wiInvalid, ""},
		)
		if s := base64.StdEncoding.EncodeToString(b); strings.ContainsAny(s, "+/") {
			rows = append(rows, wiRow{"JWT-21/" + names[i] + " in the standard alphabet", "", variant(i, strings.TrimRight(s, "=")), 400, wiInvalid, "not_base64url"})
		}
		if len(seg)%4 != 0 {
			// Set the unused low bits of the last character.
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			last := strings.IndexByte(alphabet, seg[len(seg)-1])
			unused := 4 // 2 characters in the last group: 12 bits for 1 byte
			if len(seg)%4 == 3 {
				unused = 2
			}
			seg2 := seg[:len(seg)-1] + string(alphabet[last|(1<<unused-1)])
			rows = append(rows, wiRow{"JWT-21/" + names[i] + " with trailing bits set", "", variant(i, seg2), 400, wiInvalid, "not_base64url"})
		}
	}
	w.run(t, rows)
	w.accept("JWT-21/control: the valid token", wiApp, valid)
}

// wiJSONGeneral is the JWS JSON serialization (RFC 7515 section 7.2.1) of
// two compact tokens' signatures over the first's payload.
func wiJSONGeneral(a, b string) string {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	return string(wiJSON(map[string]any{"payload": pa[1], "signatures": []any{
		map[string]any{"protected": pa[0], "signature": pa[2]},
		map[string]any{"protected": pb[0], "signature": pb[2]},
	}}))
}

// wiJSONFlattened is the flattened JWS JSON serialization of a compact token.
func wiJSONFlattened(a string) string {
	p := strings.Split(a, ".")
	return string(wiJSON(map[string]any{"payload": p[1], "protected": p[0], "signature": p[2]}))
}

// wiJWE is a compact JWE (5 segments) with this header and encrypted key.
func wiJWE(hdr, key string) string {
	return wiB64([]byte(hdr)) + "." + key + ".aXZpdml2aXZpdml2." + wiB64(bytes.Repeat([]byte{0}, 64)) + ".dGFndGFndGFndGFndGFn"
}

// JWT-22, 34: request shape.
func TestWebIdentityShape(t *testing.T) {
	w := newWIHarness(t)
	valid := w.idp(nil)
	// A correctly signed token grown past MaxLen by a claim.
	big := w.idp(map[string]any{"pad": strings.Repeat("p", 12600)})
	if len(big) <= idtoken.MaxLen || len(big) > 20000 {
		t.Fatalf("padded token of %d characters", len(big))
	}
	type shapeRow struct {
		id, body, token string
		status          int
		code, reason    string
	}
	base := "Action=AssumeRoleWithWebIdentity&Version=2011-06-15" + q("RoleArn", wiApp)
	tok := func(s string) string { return q("WebIdentityToken", s) }
	rows := []shapeRow{
		{"JWT-22/20001 characters", base + q("RoleSessionName", "s1") + tok(strings.Repeat("a", 20001)), strings.Repeat("a", 20001), 400, "ValidationError", ""},
		{"JWT-22/10^5 dots", base + q("RoleSessionName", "s1") + tok(strings.Repeat(".", 100000)), strings.Repeat(".", 100000), 400, "ValidationError", ""},
		{"JWT-22/20000 characters", base + q("RoleSessionName", "s1") + tok(strings.Repeat("a", 20000)), strings.Repeat("a", 20000), 400, wiInvalid, "token_too_large"},
		{"JWT-22/16 KiB + 1", base + q("RoleSessionName", "s1") + tok(strings.Repeat("a", idtoken.MaxLen+1)), strings.Repeat("a", idtoken.MaxLen+1), 400, wiInvalid, "token_too_large"},
		{"JWT-22/16 KiB of dots", base + q("RoleSessionName", "s1") + tok(strings.Repeat(".", idtoken.MaxLen)), strings.Repeat(".", idtoken.MaxLen), 400, wiInvalid, "not_compact_jws"},
		{"JWT-22/signed token over 16 KiB", base + q("RoleSessionName", "s1") + tok(big), big, 400, wiInvalid, "token_too_large"},
		// The request body limit (192 KiB) applies before any parameter.
		{"JWT-22/1 MB", base + q("RoleSessionName", "s1") + tok(strings.Repeat("a", 1<<20)), strings.Repeat("a", 1<<20), 413, "RequestEntityTooLarge", "body_too_large"},

		{"JWT-34/RoleSessionName missing", base + tok(valid), valid, 400, "ValidationError", ""},
		{"JWT-34/RoleSessionName empty", base + q("RoleSessionName", "") + tok(valid), valid, 400, "ValidationError", ""},
		{"JWT-34/RoleSessionName 1 character", base + q("RoleSessionName", "a") + tok(valid), valid, 400, "ValidationError", ""},
		{"JWT-34/RoleSessionName 65 characters", base + q("RoleSessionName", strings.Repeat("a", 65)) + tok(valid), valid, 400, "ValidationError", ""},
		{"JWT-34/RoleSessionName with a space", base + q("RoleSessionName", "bad name") + tok(valid), valid, 400, "ValidationError", ""},
		{"JWT-34/RoleSessionName with a slash", base + q("RoleSessionName", "a/b") + tok(valid), valid, 400, "ValidationError", ""},
		{"JWT-34/RoleSessionName with a newline", base + q("RoleSessionName", "ab\ncd") + tok(valid), valid, 400, "ValidationError", ""},
		{"JWT-34/RoleSessionName twice", base + q("RoleSessionName", "s1") + q("RoleSessionName", "s2") + tok(valid), valid, 400, "", ""},
		{"JWT-34/ProviderId with an OIDC token", base + q("RoleSessionName", "s1") + q("ProviderId", "www.amazon.com") + tok(valid), valid, 400, "ValidationError", "provider_id_unsupported"},
		{"JWT-34/ProviderId graph.facebook.com", base + q("RoleSessionName", "s1") + q("ProviderId", "graph.facebook.com") + tok(valid), valid, 400, "ValidationError", "provider_id_unsupported"},
		{"JWT-34/WebIdentityToken missing", base + q("RoleSessionName", "s1"), "", 400, "ValidationError", ""},
		{"JWT-34/WebIdentityToken of 3 characters", base + q("RoleSessionName", "s1") + tok("a.b"), "", 400, "ValidationError", ""},
		{"JWT-34/RoleArn missing", "Action=AssumeRoleWithWebIdentity&Version=2011-06-15" + q("RoleSessionName", "s1") + tok(valid), valid, 400, "ValidationError", ""},
		{"JWT-34/RoleArn malformed", "Action=AssumeRoleWithWebIdentity&Version=2011-06-15" + q("RoleArn", "arn:aws:iam::111122223333:user/alice") + q("RoleSessionName", "s1") + tok(valid), valid, 400, "ValidationError", "role_arn_invalid"},
		{"JWT-34/DurationSeconds over the role's maximum", base + q("RoleSessionName", "s1") + q("DurationSeconds", "7200") + tok(valid), valid, 400, "ValidationError", "role_duration"},
	}
	for _, row := range rows {
		t.Run(row.id, func(t *testing.T) {
			w := w.sub(t)
			began := time.Now()
			r := w.post(row.body, row.token)
			if time.Since(began) > 5*time.Second {
				t.Errorf("%s: took %v", row.id, time.Since(began))
			}
			code := row.code
			if code == "" {
				code = r.code // a duplicate parameter: whichever 400 the decoder gives
			}
			w.assertDenied(row.id, r.result, row.status, code)
			if reason := r.ev.AdditionalEventData["reason"]; row.reason != "" && reason != row.reason || reason == "" {
				t.Errorf("%s: audit reason %q, want %q", row.id, reason, row.reason)
			}
			if row.token != "" && strings.Contains(r.message, "webIdentityToken") && !strings.Contains(r.message, "*** Sensitive Data Redacted ***") {
				t.Errorf("%s: the token's value is not redacted: %.200s", row.id, r.message)
			}
		})
	}
}

// JWT-27, 28: trust policies on sub, and a multi-tenant provider.
func TestWebIdentityTrust(t *testing.T) {
	w := newWIHarness(t)
	gh := func(sub string) string {
		return w.k.gh.Sign(w.claims(wiGitHub, wiGHAud, map[string]any{"sub": sub}))
	}
	accessDenied := func(id, role, sub string) wiRow {
		return wiRow{id, role, gh(sub), 403, "AccessDenied", "policy_no_resource_policy_allow"}
	}
	rows := []wiRow{
		accessDenied("JWT-27/StringEquals main-evil", wiDeploy, wiMainSub+"-evil"),
		accessDenied("JWT-27/StringEquals app*", wiDeploy, "repo:org/app*"),
		accessDenied("JWT-27/StringEquals ORG", wiDeploy, "repo:ORG/app:ref:refs/heads/main"),
		accessDenied("JWT-27/StringEquals prefix", wiDeploy, "repo:org/app:ref:refs/heads/mai"),
		accessDenied("JWT-27/StringEquals trailing space", wiDeploy, wiMainSub+" "),
		accessDenied("JWT-27/StringEquals trailing NUL", wiDeploy, wiMainSub+"\x00"),
		accessDenied("JWT-27/StringEquals trailing newline", wiDeploy, wiMainSub+"\n"),
		accessDenied("JWT-27/StringEquals fullwidth colon", wiDeploy, "repo\uff1aorg/app:ref:refs/heads/main"),
		accessDenied("JWT-27/StringLike main-evil", wiLike, wiMainSub+"-evil"),
		accessDenied("JWT-27/StringLike app*", wiLike, "repo:org/app*"),
		accessDenied("JWT-27/StringLike ORG", wiLike, "repo:ORG/app:ref:refs/heads/main"),
		accessDenied("JWT-27/StringLike * other repo", wiWild, "repo:org/app-evil:ref:refs/heads/main"),
		accessDenied("JWT-27/StringLike * other org", wiWild, "repo:evil/app:ref:refs/heads/main"),
		accessDenied("JWT-27/StringLike * ORG", wiWild, "repo:ORG/app:ref:refs/heads/main"),
		accessDenied("JWT-27/StringLike literal ${*} is not a wildcard", wiLiteral, wiMainSub),
		accessDenied("JWT-27/StringLike literal ${*} against app", wiLiteral, "repo:org/app"),
		{"JWT-27/another audience", wiDeploy, w.k.gh.Sign(w.claims(wiGitHub, wiGHAud, map[string]any{"aud": "other"})), 400, wiInvalid, "aud_not_client"},
	}
	w.run(t, rows)
	w.accept("JWT-27/control StringEquals main", wiDeploy, gh(wiMainSub))
	w.accept("JWT-27/control StringLike main", wiLike, gh(wiMainSub))
	w.accept("JWT-27/control StringLike *", wiWild, gh("repo:org/app:ref:refs/heads/feature"))
	w.accept("JWT-27/control StringLike literal *", wiLiteral, gh("repo:org/app*"))

	// JWT-28 at run time: a trust in the multi-tenant provider that tests
	// only the audience lets in any repository's workflow; loaded anyway
	// (broad_trust_intended), the statement must not match (security.md
	// V-21: "if present anyway, 403 AccessDenied at run time").
	t.Run("JWT-28/aud only, broad_trust_intended, another tenant", func(t *testing.T) {
		w.sub(t).deny(wiRow{"JWT-28/aud only, broad_trust_intended, another tenant", wiBroad, gh("repo:evil/anything:ref:refs/heads/main"), 403, "AccessDenied", ""})
	})
	t.Run("JWT-28/aud only, broad_trust_intended, our tenant", func(t *testing.T) {
		w.sub(t).deny(wiRow{"JWT-28/aud only, broad_trust_intended, our tenant", wiBroad, gh(wiMainSub), 403, "AccessDenied", ""})
	})
}

// JWT-28 at load time: keyless's configuration is its only way to write a
// trust policy, and one that trusts a multi-tenant provider without
// scoping it to a tenant is refused unless broad_trust_intended is set.
func TestWebIdentityTrustLoad(t *testing.T) {
	k := wiGenerate()
	base, err := wiReadTestdata("roles.yaml")
	if err != nil {
		t.Fatal(err)
	}
	load := func(role string) error {
		text := wiEdit(wiProviders(k), role)(base)
		_, err := config.Parse("roles.yaml", []byte(text), ".", func(string) (string, bool) { return "", false })
		return err
	}
	if err := load(wiRoles()); err != nil {
		t.Fatalf("the test configuration: %v", err)
	}
	cases := []struct {
		id, conditions string
	}{
		{"JWT-28/aud only", wiGHCond("")},
		{"JWT-28/sub only", `{"StringLike": {"` + wiGHHost + `:sub": "repo:org/app:*"}}`},
		{"JWT-28/repository only", `{"StringEquals": {"` + wiGHHost + `:repository": "org/app"}}`},
		{"JWT-28/aud of another provider", `{"StringEquals": {"idp.example.com:aud": "` + wiClient + `", "` + wiGHHost + `:sub": "` + wiMainSub + `"}}`},
		{"JWT-28/aud and ref (names no tenant)", wiGHCond(`, "StringLike": {"` + wiGHHost + `:ref": "refs/heads/main"}`)},
		{"JWT-28/aud and event_name (names no tenant)", `{"StringEquals": {"` + wiGHHost + `:aud": "` + wiGHAud + `", "` + wiGHHost + `:event_name": "push"}}`},
		// Review findings: conditions that name no tenant in spite of a
		// tenant key (regressions).
		{"JWT-28/aud and sub repo:* (any repository)", wiGHCond(`, "StringLike": {"` + wiGHHost + `:sub": "repo:*"}`)},
		{"JWT-28/aud and sub repo:org* (org, orgX, ...)", wiGHCond(`, "StringLike": {"` + wiGHHost + `:sub": "repo:org*"}`)},
		{"JWT-28/aud and repository_id > 0", wiGHCond(`, "NumericGreaterThan": {"` + wiGHHost + `:repository_id": "0"}`)},
		{"JWT-28/aud and job_workflow_ref */deploy.yml@*", wiGHCond(`, "StringLike": {"` + wiGHHost + `:job_workflow_ref": "*/deploy.yml@*"}`)},
		{"JWT-28/aud and sub one narrow, one broad value", wiGHCond(`, "StringLike": {"` + wiGHHost + `:sub": ["repo:org/app:*", "*"]}`)},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			err := load(wiRoleYAML("Open", wiTrust(wiStatement(wiGHHost, c.conditions)), false))
			if err == nil || !strings.Contains(err.Error(), "broad_trust_intended") || !strings.Contains(err.Error(), wiGHHost) || !strings.Contains(err.Error(), "roles[") {
				t.Errorf("%s: the configuration loaded (or the problem does not say where and why): %v", c.id, err)
			}
			if err := load(wiRoleYAML("Open", wiTrust(wiStatement(wiGHHost, c.conditions)), true)); err != nil {
				t.Errorf("%s with broad_trust_intended: %v", c.id, err)
			}
		})
	}
	t.Run("JWT-28/no condition at all", func(t *testing.T) {
		stmt := `{"Effect": "Allow", "Principal": {"Federated": "` + wiProvider + wiGHHost + `"}, "Action": "sts:AssumeRoleWithWebIdentity"}`
		err := load(wiRoleYAML("Open", wiTrust(stmt), false))
		if err == nil || !strings.Contains(err.Error(), "broad_trust_intended") {
			t.Errorf("loaded: %v", err)
		}
	})
	t.Run("JWT-28/scoped by aud and sub", func(t *testing.T) {
		if err := load(wiRoleYAML("Open", wiTrust(wiStatement(wiGHHost, wiGHCond(`, "StringLike": {"`+wiGHHost+`:sub": "repo:org/*"}`))), false)); err != nil {
			t.Errorf("refused: %v", err)
		}
	})
}

// JWT-30: hostile characters in claims reach the audit log escaped; tag
// claims are checked like AssumeRole's tags (AR-10).
func TestWebIdentityClaimInjection(t *testing.T) {
	w := newWIHarness(t)
	subs := []string{"alice\nadmin", "alice\r\nadmin", "alice\u2028admin", "alice\u2029admin", "\x1b[31malice\x1b[0m", "\u202eecila", "alice\x00admin",
		`alice","userName":"admin`, "alice</SubjectFromWebIdentityToken><x>", "alice\x7f", "alice\ufeff"}
	for i, sub := range subs {
		t.Run(fmt.Sprintf("JWT-30/sub %d %q", i, sub), func(t *testing.T) {
			w := w.sub(t)
			r := w.accept("JWT-30 sub", wiApp, w.idp(map[string]any{"sub": sub, "email": sub + "@example.com"}))
			if r.ev.UserIdentity.UserName != sub {
				t.Errorf("the audit event's userName is %q, want the subject %q", r.ev.UserIdentity.UserName, sub)
			}
			if strings.Contains(r.body, "<x>") {
				t.Errorf("the subject is not escaped in the answer: %s", r.body)
			}
		})
	}
	tagged := func(key, value string) string {
		return w.idp(map[string]any{"https://aws.amazon.com/tags": map[string]any{"principal_tags": map[string]any{key: []string{value}}}})
	}
	rows := []wiRow{
		{"JWT-30/sub of 256 characters", "", w.idp(map[string]any{"sub": strings.Repeat("s", 256)}), 400, wiInvalid, "sub_invalid"},
		{"JWT-30/sub empty", "", w.idp(map[string]any{"sub": ""}), 400, wiInvalid, "sub_invalid"},
		{"JWT-30/sub a number", "", w.idp(map[string]any{"sub": 1}), 400, wiInvalid, "sub_invalid"},
		{"JWT-30/sub missing", "", w.idp(map[string]any{"sub": wiAbsent{}}), 400, wiInvalid, "sub_invalid"},
		{"JWT-30/claim of 100 KB", "", w.idp(map[string]any{"email": strings.Repeat("e", 100<<10)}), 400, "ValidationError", ""},
		{"JWT-30/tag value with a newline", "", tagged("team", "a\nb"), 403, "IDPRejectedClaim", "tags_claim_invalid_tag"},
		{"JWT-30/tag value with a bidi override", "", tagged("team", "a\u202eb"), 403, "IDPRejectedClaim", "tags_claim_invalid_tag"},
		{"JWT-30/tag value with ANSI escapes", "", tagged("team", "\x1b[31mred"), 403, "IDPRejectedClaim", "tags_claim_invalid_tag"},
		{"JWT-30/tag key aws:", "", tagged("aws:team", "a"), 403, "IDPRejectedClaim", "tags_claim_invalid_tag"},
		{"JWT-30/tag key of 129 characters", "", tagged(strings.Repeat("k", 129), "a"), 403, "IDPRejectedClaim", "tags_claim_invalid_tag"},
		{"JWT-30/tag value of 257 characters", "", tagged("team", strings.Repeat("v", 257)), 403, "IDPRejectedClaim", "tags_claim_invalid_tag"},
		{"JWT-30/tag values a list of two", "", w.idp(map[string]any{"https://aws.amazon.com/tags": map[string]any{"principal_tags": map[string]any{"team": []string{"a", "b"}}}}), 403, "IDPRejectedClaim", "tags_claim_malformed"},
		{"JWT-30/tags claim with an unknown member", "", w.idp(map[string]any{"https://aws.amazon.com/tags": map[string]any{"principal_tags": map[string]any{"team": []string{"a"}}, "x": 1}}), 403, "IDPRejectedClaim", "tags_claim_malformed"},
		{"JWT-30/tag keys differing in case", "", w.idp(map[string]any{"https://aws.amazon.com/tags": map[string]any{"principal_tags": map[string]any{"Team": []string{"a"}, "team": []string{"b"}}}}), 400, wiInvalid, "claims_not_strict_json"},
	}
	w.run(t, rows)

	w.escaped(t, "JWT-30")
}

// escaped checks that every audit record and log line of the harness is
// one valid JSON line without raw control, line-separator or bidi
// characters (AUD-02).
func (w *wiEnv) escaped(t *testing.T, id string) {
	t.Helper()
	_ = w.store.QueryAudit(context.Background(), storage.AuditFilter{}, func(r storage.AuditRecord) error {
		if bytes.ContainsAny(r.JSON, "\n\r\x00\x1b\x7f") || bytes.Contains(r.JSON, []byte("\u2028")) || bytes.Contains(r.JSON, []byte("\u2029")) ||
			bytes.Contains(r.JSON, []byte("\u202e")) || !json.Valid(r.JSON) {
			t.Errorf("%s: audit record %d holds a raw control character: %q", id, r.Seq, r.JSON)
		}
		return nil
	})
	for _, line := range strings.Split(strings.TrimSuffix(w.logs.String(), "\n"), "\n") {
		if strings.ContainsAny(line, "\r\x00\x1b\u2028\u2029\u202e") || line != "" && !json.Valid([]byte(line)) {
			t.Errorf("%s: log line holds a raw control character: %q", id, line)
		}
	}
}

// JWT-35: OAuth access tokens where an ID token is expected.
func TestWebIdentityAccessTokens(t *testing.T) {
	w := newWIHarness(t)
	k := w.k
	cl := w.claims(wiIssuer, wiClient, map[string]any{"client_id": wiClient, "scope": "openid"})
	typ := func(s *idtokentest.Signer, typ string, claims map[string]any) string {
		return wiHeader(s, map[string]any{"alg": s.Alg, "kid": s.KID, "typ": typ}, claims)
	}
	rows := []wiRow{
		{"JWT-35/typ at+jwt", "", typ(k.rsa1, "at+jwt", cl), 400, wiInvalid, "access_token"},
		{"JWT-35/typ application/at+jwt", "", typ(k.rsa1, "application/at+jwt", cl), 400, wiInvalid, "access_token"},
		{"JWT-35/typ AT+JWT", "", typ(k.rsa1, "AT+JWT", cl), 400, wiInvalid, "access_token"},
		{"JWT-35/typ at+jwt, ES256", "", typ(k.ec1, "at+jwt", cl), 400, wiInvalid, "access_token"},
		{"JWT-35/opaque access token", "", "ya29.a0AfH6SMBx-opaque-access-token-value", 400, wiInvalid, "not_compact_jws"},
		{"JWT-35/opaque token with two dots", "", "gho_16C7e42F292c6912E7710c838347Ae178B4a.x.y", 400, wiInvalid, ""},
	}
	w.run(t, rows)
	// The typ check is the provider's choice: without id_tokens_only an
	// access token with an acceptable audience is accepted.
	w.accept("JWT-35/control: at+jwt where ID tokens are not required", wiApp, typ(k.single, "at+jwt", w.claims(wiSingle, wiClient, nil)))
	w.accept("JWT-35/control: typ JWT", wiApp, typ(k.rsa1, "JWT", cl))
}

// JWT-31, 32, 33 end to end: a provider whose keys are fetched, to check
// the codes the key set's failures map to. The fault matrix itself is in
// internal/jwks/remote_test.go.
func TestWebIdentityRemoteProvider(t *testing.T) {
	signer := idtokentest.NewRSA("k1")
	var (
		mode     atomic.Value // "ok", "500", "empty", "redirect"
		requests atomic.Int64
	)
	mode.Store("ok")
	cn := outboundtest.NewCanary(t)
	var issuer string
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		switch {
		case r.URL.Path == "/.well-known/openid-configuration":
			_, _ = rw.Write(wiJSON(map[string]string{"issuer": issuer, "jwks_uri": issuer + "/jwks"}))
		case r.URL.Path != "/jwks":
			http.NotFound(rw, r)
		case mode.Load() == "500":
			http.Error(rw, "<html>down</html>", 500)
		case mode.Load() == "empty":
			_, _ = rw.Write([]byte(`{"keys":[]}`))
		case mode.Load() == "redirect":
			http.Redirect(rw, r, cn.URL+"/jwks", http.StatusFound)
		default:
			_, _ = rw.Write(idtokentest.JWKS(signer))
		}
	}))
	t.Cleanup(srv.Close)
	issuer = srv.URL
	host := strings.TrimPrefix(issuer, "http://")

	// JWT-33: an issuer on a loopback address, without allow_http_loopback
	// or allow_private_network: https, so the configuration accepts it,
	// and the address check refuses the dial.
	var tlsConns atomic.Int64
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		_, _ = rw.Write(idtokentest.JWKS(signer))
	}))
	tlsSrv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			tlsConns.Add(1)
		}
	}
	tlsSrv.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	tlsSrv.StartTLS()
	t.Cleanup(tlsSrv.Close)
	loopback := tlsSrv.URL // https://127.0.0.1:PORT
	loopHost := strings.TrimPrefix(loopback, "https://")

	providers := "    oidc_providers:\n" +
		"      - url: " + issuer + "\n        client_ids: [" + wiClient + "]\n        allow_http_loopback: true\n" +
		"      - url: " + loopback + "\n        client_ids: [" + wiClient + "]\n"
	cond := func(p string) string {
		return `{"StringEquals": {"aws:FederatedProvider": "` + wiProvider + p + `", "` + p + `:aud": "` + wiClient + `"}}`
	}
	roles := wiRoleYAML("Remote", wiTrust(wiStatement(host, cond(host)), wiStatement(loopHost, cond(loopHost))), false)
	h := &harness{t: t, config: "roles.yaml", clock: clock.NewFake(start), store: &faultyStore{Store: memory.New()}, logs: &proc.Logs{}}
	h.boot(wiEdit(providers, roles))
	w := &wiEnv{harness: h, k: wiGenerate()}
	role := wiRole + "Remote"
	tokenFor := func(iss, kid string) string {
		s := *signer
		s.KID = kid
		return s.Sign(w.claims(iss, wiClient, nil))
	}
	step := func(t *testing.T, id, token string, status int, code, reason string) {
		t.Helper()
		ws := w.sub(t)
		if status == 200 {
			ws.accept(id, role, token)
			return
		}
		ws.deny(wiRow{id, role, token, status, code, reason})
	}
	t.Run("JWT-31/control: keys fetched through discovery", func(t *testing.T) {
		step(t, "cold fetch", tokenFor(issuer, "k1"), 200, "", "")
	})
	t.Run("JWT-31/500 and an uncached kid", func(t *testing.T) {
		mode.Store("500")
		w.clock.Advance(2 * time.Minute) // past the unknown-kid refresh window
		step(t, "JWT-31/500", tokenFor(issuer, "k2"), 400, "IDPCommunicationError", "jwks_unavailable")
		step(t, "JWT-31/500, cached kid still served", tokenFor(issuer, "k1"), 200, "", "")
	})
	t.Run("JWT-32/redirect to another host", func(t *testing.T) {
		mode.Store("redirect")
		w.clock.Advance(2 * time.Minute)
		step(t, "JWT-32/redirect", tokenFor(issuer, "k3"), 400, "IDPCommunicationError", "jwks_unavailable")
		expectNone(t, cn, "JWT-32")
	})
	t.Run("JWT-31/empty key set", func(t *testing.T) {
		mode.Store("empty")
		w.clock.Advance(2 * time.Minute)
		step(t, "JWT-31/{\"keys\":[]} and an uncached kid", tokenFor(issuer, "k4"), 400, wiInvalid, "key_unknown")
		// The refresh replaced the set: k1 is gone too (JWT-36).
		step(t, "JWT-36/key removed upstream", tokenFor(issuer, "k1"), 400, wiInvalid, "key_unknown")
	})
	t.Run("JWT-33/issuer on a loopback address", func(t *testing.T) {
		step(t, "JWT-33/loopback", tokenFor(loopback, "k1"), 400, "IDPCommunicationError", "jwks_unavailable")
		if n := tlsConns.Load(); n != 0 {
			t.Errorf("JWT-33: the loopback issuer received %d connections", n)
		}
	})
	if requests.Load() == 0 {
		t.Error("the remote provider was never asked")
	}
	// http:// to a loopback issuer needs allow_http_loopback (JWT-33).
	t.Run("JWT-33/http issuer without allow_http_loopback", func(t *testing.T) {
		base, err := wiReadTestdata("roles.yaml")
		if err != nil {
			t.Fatal(err)
		}
		text := wiEdit("    oidc_providers:\n      - url: "+issuer+"\n        client_ids: ["+wiClient+"]\n", "")(base)
		_, err = config.Parse("roles.yaml", []byte(text), ".", func(string) (string, bool) { return "", false })
		if err == nil || !strings.Contains(err.Error(), "allow_http_loopback") {
			t.Errorf("loaded: %v", err)
		}
	})
}
