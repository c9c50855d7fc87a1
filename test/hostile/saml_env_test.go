package hostile

import (
	"crypto/x509"
	"encoding/json"
	"encoding/xml"
	"os"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/audit"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/config"
	"github.com/keyless-dev/keyless/internal/samlxml/samlxmltest"
	"github.com/keyless-dev/keyless/internal/storage/memory"
	"github.com/keyless-dev/keyless/test/internal/proc"
)

// The environment of the AssumeRoleWithSAML rows (security.md 3.G):
// testdata/roles.yaml with SAML providers and roles added, the service
// provider side fixed by saml.base_url, and helpers that send one
// unsigned AssumeRoleWithSAML and check what every answer must satisfy.

const (
	samlAcct   = "111122223333"
	samlAcct2  = "444455556666"
	samlBase   = "https://keyless.test"
	samlSignIn = samlBase + "/saml"           // BASE/saml
	samlEast   = samlBase + "/us-east-1/saml" // BASE/REGION/saml
	samlWest   = samlBase + "/us-west-2/saml"

	samlEntityA       = "https://idp-a.example.test/metadata"
	samlEntityB       = "https://idp-b.example.test/metadata"
	samlEntityCorrupt = "https://idp-c.example.test/metadata"

	// corp-idp (IdP A): SHA-1 refused (the default).
	samlProvA = "arn:aws:iam::" + samlAcct + ":saml-provider/corp-idp"
	// sha1-idp (IdP B): allow_sha1 (the SAML-07 positive control).
	samlProvB = "arn:aws:iam::" + samlAcct + ":saml-provider/sha1-idp"
	// corrupt-idp: loaded from IdP C's metadata, then its certificate list
	// is replaced in the loaded configuration (SAML-09, "if state is
	// corrupted anyway").
	samlProvCorrupt = "arn:aws:iam::" + samlAcct + ":saml-provider/corrupt-idp"
	// corp-idp of the other account, with IdP A's metadata (SAML-19).
	samlProvX = "arn:aws:iam::" + samlAcct2 + ":saml-provider/corp-idp"

	samlRoles = "arn:aws:iam::" + samlAcct + ":role/"
	// SAMLDev trusts corp-idp, sha1-idp and corrupt-idp for every sign-in
	// URL (SAML:aud), with TagSession and SetSourceIdentity.
	samlDev = samlRoles + "SAMLDev"
	// SAMLPartner trusts sha1-idp only.
	samlPartner = samlRoles + "SAMLPartner"
	// SAMLWest trusts corp-idp for BASE/us-west-2/saml only.
	samlWestRole = samlRoles + "SAMLWest"

	samlSession = "alice-session" // the RoleSessionName attribute's value
	samlNameID  = "alice@example.com"

	samlInvalid = "InvalidIdentityToken"
	samlExpired = "ExpiredTokenException"
)

// samlKeys are the test IdPs, made once per run (RSA key generation is
// the slow part).
type samlKeys struct {
	a, b *samlxmltest.IdP
	// attacker claims IdP A's entity ID with its own key (SAML-08).
	attacker *samlxmltest.IdP
	// c is corrupt-idp's real IdP; expired has C's entity ID and a
	// certificate that expired in 2001, and is what corrupt-idp's state
	// is corrupted to.
	c, expired *samlxmltest.IdP
}

var samlKeysOnce = sync.OnceValue(func() *samlKeys {
	return &samlKeys{
		a:        samlxmltest.NewIdP(samlEntityA),
		b:        samlxmltest.NewIdP(samlEntityB),
		attacker: samlxmltest.NewIdP(samlEntityA),
		c:        samlxmltest.NewIdP(samlEntityCorrupt),
		expired: samlxmltest.NewIdPWith(samlEntityCorrupt, samlxmltest.IdPOptions{
			NotBefore: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)}),
	}
})

// samlBlock is text as a YAML block scalar at indent.
func samlBlock(text, indent string) string {
	var b strings.Builder
	b.WriteString("|\n")
	for _, line := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		b.WriteString(indent + line + "\n")
	}
	return b.String()
}

func samlProviderYAML(name string, md []byte, sha1 bool) string {
	s := "      - name: " + name + "\n        metadata: " + samlBlock(string(md), "          ")
	if sha1 {
		s += "        allow_sha1: true\n"
	}
	return s
}

// samlTrust is a trust policy allowing AssumeRoleWithSAML (and session
// tags and source identity) from providers when SAML:aud is one of auds.
func samlTrust(providers, auds []string) string {
	b, err := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Effect":    "Allow",
			"Principal": map[string]any{"Federated": providers},
			"Action":    []string{"sts:AssumeRoleWithSAML", "sts:TagSession", "sts:SetSourceIdentity"},
			"Condition": map[string]any{"StringEquals": map[string]any{"SAML:aud": auds}},
		}},
	})
	if err != nil {
		panic(err)
	}
	return string(b)
}

// samlEdit adds the providers, roles and the saml: section to
// testdata/roles.yaml.
func samlEdit(k *samlKeys) func(string) string { return samlEditWith(k, k.a.Metadata()) }

// samlEditWith is samlEdit with mdA as corp-idp's metadata in the first
// account.
func samlEditWith(k *samlKeys, mdA []byte) func(string) string {
	return func(text string) string {
		all := []string{samlSignIn, samlEast, samlWest}
		providers := "    saml_providers:\n" +
			samlProviderYAML("corp-idp", mdA, false) +
			samlProviderYAML("sha1-idp", k.b.Metadata(), true) +
			samlProviderYAML("corrupt-idp", k.c.Metadata(), false)
		roles := "      - name: SAMLDev\n        max_session_duration: 12h\n        trust_policy: '" +
			samlTrust([]string{samlProvA, samlProvB, samlProvCorrupt}, all) + "'\n" +
			"      - name: SAMLPartner\n        trust_policy: '" + samlTrust([]string{samlProvB}, all) + "'\n" +
			"      - name: SAMLWest\n        trust_policy: '" + samlTrust([]string{samlProvA}, []string{samlWest}) + "'\n"
		if !strings.Contains(text, "    roles:\n") || !strings.Contains(text, `  - id: "444455556666"`+"\n") {
			panic("roles.yaml changed shape")
		}
		text = strings.Replace(text, "    roles:\n", providers+"    roles:\n"+roles, 1)
		text = strings.Replace(text, `  - id: "444455556666"`+"\n",
			`  - id: "444455556666"`+"\n    saml_providers:\n"+samlProviderYAML("corp-idp", k.a.Metadata(), false), 1)
		return text + "saml:\n  base_url: " + samlBase + "\n  regions: [us-east-1, us-west-2]\n"
	}
}

func samlNoEnv(string) (string, bool) { return "", false }

// samlParse parses testdata/roles.yaml edited by edit.
func samlParse(edit func(string) string) (*config.Config, error) {
	src, err := os.ReadFile("testdata/roles.yaml")
	if err != nil {
		return nil, err
	}
	return config.Parse("roles.yaml", []byte(edit(string(src))), ".", samlNoEnv)
}

// samlCorrupt is the SAML-09 state corruption: corrupt-idp's certificate
// list, which the configuration loaded from IdP C's metadata, becomes the
// expired certificate only. Configuration refuses such a provider; state
// is edited after loading to see what verification does with it.
func samlCorrupt(k *samlKeys) func(*config.Config) {
	return func(cfg *config.Config) {
		for i := range cfg.Identities.SAMLProviders {
			p := &cfg.Identities.SAMLProviders[i]
			if p.Account == samlAcct && p.Name == "corrupt-idp" {
				p.Certificates = []*x509.Certificate{k.expired.Certificate()}
				return
			}
		}
		panic("corrupt-idp not loaded")
	}
}

// samlEnv is a harness serving the SAML providers, with their IdPs.
type samlEnv struct {
	*harness
	k *samlKeys
}

func newSAMLEnv(t *testing.T) *samlEnv {
	t.Helper()
	k := samlKeysOnce()
	h := &harness{t: t, config: "roles.yaml", clock: clock.NewFake(start), store: &faultyStore{Store: memory.New()}, logs: &proc.Logs{}}
	h.bootWith(samlEdit(k), samlCorrupt(k))
	return &samlEnv{harness: h, k: k}
}

// sub is the environment reporting to a subtest.
func (e *samlEnv) sub(t *testing.T) *samlEnv {
	c := *e.harness
	c.t = t
	return &samlEnv{harness: &c, k: e.k}
}

// samlPair is a Role attribute value: role ARN, then provider ARN.
func samlPair(role, provider string) string { return role + "," + provider }

// samlAttrs are the attributes of a valid Response for role and
// provider: one Role pair and the RoleSessionName.
func samlAttrs(role, provider string) []samlxmltest.Attribute {
	return []samlxmltest.Attribute{
		{Name: samlxmltest.AttrRole, NameFormat: samlxmltest.NameFormatURI, Values: []string{samlPair(role, provider)}},
		{Name: samlxmltest.AttrRoleSessionName, NameFormat: samlxmltest.NameFormatURI, Values: []string{samlSession}},
	}
}

// provOf is the provider ARN each IdP is registered as in the first
// account.
func (e *samlEnv) provOf(idp *samlxmltest.IdP) string {
	switch idp {
	case e.k.b:
		return samlProvB
	case e.k.c, e.k.expired:
		return samlProvCorrupt
	}
	return samlProvA
}

// resp is the valid Response of idp for SAMLDev at the harness's time,
// addressed to BASE/saml, changed by f.
func (e *samlEnv) resp(idp *samlxmltest.IdP, f func(*samlxmltest.Response)) samlxmltest.Response {
	r := samlxmltest.Response{Now: e.clock.Now(), Destination: samlSignIn, NameID: samlNameID, Attributes: samlAttrs(samlDev, e.provOf(idp))}
	if f != nil {
		f(&r)
	}
	return r
}

// signed is idp's signed Response changed by f.
func (e *samlEnv) signed(idp *samlxmltest.IdP, f func(*samlxmltest.Response)) []byte {
	return idp.Sign(e.resp(idp, f))
}

// samlCall is one AssumeRoleWithSAML request.
type samlCall struct {
	role, principal string
	assertion       string // SAMLAssertion as sent; omitted when ""
	extra           string // further form parameters
	// secrets must appear in no answer, audit event or log line: the
	// assertion, a 64-character piece of it, its SignatureValues.
	secrets []string
}

var samlSigValueRE = regexp.MustCompile(`SignatureValue>([^<]+)<`)

// samlSecretsOf are the parts of an encoded assertion and its document
// that must never be written.
func samlSecretsOf(encoded string, doc []byte) []string {
	var out []string
	if len(encoded) >= 16 {
		out = append(out, encoded)
	}
	if len(encoded) >= 128 {
		mid := len(encoded) / 2
		out = append(out, encoded[mid:mid+64])
	}
	for _, m := range samlSigValueRE.FindAllSubmatch(doc, -1) {
		v := strings.Join(strings.Fields(string(m[1])), "")
		if len(v) >= 16 {
			out = append(out, v)
		}
	}
	return out
}

// samlCallOf is the request presenting doc (base64-encoded) for SAMLDev as
// corp-idp.
func samlCallOf(doc []byte) samlCall {
	enc := samlxmltest.Encode(doc)
	return samlCall{role: samlDev, principal: samlProvA, assertion: enc, secrets: samlSecretsOf(enc, doc)}
}

// samlRaw is a request carrying encoded as SAMLAssertion verbatim.
func samlRaw(encoded string) samlCall {
	return samlCall{role: samlDev, principal: samlProvA, assertion: encoded, secrets: samlSecretsOf(encoded, nil)}
}

func (c samlCall) as(role, principal string) samlCall {
	c.role, c.principal = role, principal
	return c
}

// samlResult is an answer, its audit event, and what the request cost.
type samlResult struct {
	result
	ev         audit.Event
	raw        string
	expiration time.Time
	answer     samlAnswer
	took       time.Duration
	heap       uint64 // the largest heap growth seen while it ran
	allocated  uint64 // bytes allocated while it ran
}

type samlAnswer struct {
	Credentials struct {
		AccessKeyID     string `xml:"AccessKeyId"`
		SecretAccessKey string
		SessionToken    string
		Expiration      string
	}
	AssumedRoleUser struct{ Arn string }
	Subject         string
	SubjectType     string
	Issuer          string
	Audience        string
	NameQualifier   string
}

// heapWatch samples the heap while a request runs (SAML-25: bounded
// memory).
type heapWatch struct {
	stop, done chan struct{}
	base, max  uint64
	total      uint64
}

func watchHeap() *heapWatch {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	w := &heapWatch{stop: make(chan struct{}), done: make(chan struct{}), base: m.HeapAlloc, max: m.HeapAlloc, total: m.TotalAlloc}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			var s runtime.MemStats
			runtime.ReadMemStats(&s)
			w.max = max(w.max, s.HeapAlloc)
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return w
}

// end stops sampling and returns the heap growth and the bytes allocated.
func (w *heapWatch) end() (growth, allocated uint64) {
	close(w.stop)
	<-w.done
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	w.max = max(w.max, m.HeapAlloc)
	return w.max - w.base, m.TotalAlloc - w.total
}

// post sends c unsigned and checks what every answer must satisfy: one
// audit event for it (send), and none of c's secrets in that event, the
// answer or the server log.
func (e *samlEnv) post(c samlCall) samlResult {
	e.t.Helper()
	body := "Action=AssumeRoleWithSAML&Version=2011-06-15"
	if c.role != "" {
		body += q("RoleArn", c.role)
	}
	if c.principal != "" {
		body += q("PrincipalArn", c.principal)
	}
	if c.assertion != "" {
		body += q("SAMLAssertion", c.assertion)
	}
	body += c.extra
	for _, s := range c.secrets {
		if len(s) <= 4096 { // the whole assertion is checked below, per request
			noteSecret(s)
		}
	}
	w := watchHeap()
	began := time.Now()
	r := samlResult{result: e.send(e.request("POST", "/", body))}
	r.took = time.Since(began)
	r.heap, r.allocated = w.end()
	evs := e.events()
	r.ev = evs[len(evs)-1]
	b, _ := json.Marshal(r.ev)
	r.raw = string(b)
	if r.status == 200 {
		var doc struct {
			R samlAnswer `xml:"AssumeRoleWithSAMLResult"`
		}
		if err := xml.Unmarshal([]byte(r.body), &doc); err != nil {
			e.t.Fatalf("answer is not XML: %v", err)
		}
		r.answer = doc.R
		cr := doc.R.Credentials
		r.creds = creds{cr.AccessKeyID, cr.SecretAccessKey, cr.SessionToken}
		noteSecret(r.creds.secret, r.creds.token)
		if exp, err := time.Parse(time.RFC3339, cr.Expiration); err == nil {
			r.expiration = exp
		}
	}
	logs := e.logs.String()
	for _, s := range c.secrets {
		if strings.Contains(r.raw, s) || strings.Contains(logs, s) || strings.Contains(r.body, s) {
			e.t.Errorf("the SAMLAssertion (or a piece or SignatureValue of it) reached the audit event, the server log or the answer")
			break
		}
	}
	return r
}
