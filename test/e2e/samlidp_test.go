package e2e

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/test/internal/proc"
)

// The SAML identity provider the SAML tests trust: crewjam/saml's samlidp
// in a small program of this repository (test/samlidp), built by
// scripts/test-deps.sh. It adds the AWS attributes (IAM User Guide,
// id_roles_providers_create_saml_assertions) kept per user, and its REST
// API lets a test register users and service providers and sign in
// without a browser (an IdP-initiated, unsolicited Response; SAML
// profiles 4.1.5).

// samlSPEntityID is the service provider entity id IdP applications built
// for AWS send as the Audience, and keyless's default.
const samlSPEntityID = "urn:amazon:webservices"

// samlShortcut is the IdP-initiated sign-in shortcut RegisterSP makes.
const samlShortcut = "keyless"

// SAML's namespaces (SAML core 2.2, 3.2; XML-DSig 4; SAML metadata 2.2).
const (
	nsAssertion = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsProtocol  = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsDSig      = "http://www.w3.org/2000/09/xmldsig#"
	nsMetadata  = "urn:oasis:names:tc:SAML:2.0:metadata"
	bindingPOST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
)

// samlIdPOptions configure one IdP process.
//
//lint:ignore ST1003 the name other tests use
type samlIdPOptions struct {
	// SignatureMethod is the XML-DSig SignatureMethod URI; empty is the
	// program's default, RSA-SHA256.
	SignatureMethod string
	// Attributes are AWS attributes per user (user -> attribute name ->
	// values), given at start in the program's -attributes file. AddUser
	// sets them too.
	Attributes map[string]map[string][]string
}

// samlIdP is a running samlidp process.
//
//lint:ignore ST1003 the name other tests use
type samlIdP struct {
	// URL is the IdP's base URL; its entity id (the Issuer of what it
	// signs) is URL + "/metadata".
	URL string

	metadata []byte
	cmd      *exec.Cmd
	logs     *proc.Logs
	exited   chan struct{} // closed once the process is waited for
	waitErr  error
	client   *http.Client

	mu  sync.Mutex
	acs string // the ACS URL the registered SP's Responses go to
}

// samlIdPBinary returns the program's path (env KEYLESS_SAMLIDP overrides
// the cache path scripts/test-deps.sh builds it at); under CI=true a
// missing program is t.Fatal, otherwise t.Skip.
//
//lint:ignore ST1003 named after samlIdP
func samlIdPBinary(t *testing.T) string {
	t.Helper()
	path := os.Getenv("KEYLESS_SAMLIDP")
	if path == "" {
		// The script's ${XDG_CACHE_HOME:-$HOME/.cache}.
		cache := os.Getenv("XDG_CACHE_HOME")
		if cache == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				missing(t, "there is no home directory to find the SAML IdP in: "+err.Error())
			}
			cache = filepath.Join(home, ".cache")
		}
		path = filepath.Join(cache, "keyless", "samlidp")
	}
	if fi, err := os.Stat(path); err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
		missing(t, fmt.Sprintf("the SAML IdP is not an executable at %s (%v); scripts/test-deps.sh builds it from test/samlidp", path, err))
	}
	return path
}

// startSAMLIdP starts the IdP on a free loopback port (it binds port 0
// and prints the URL it serves) with a fresh state directory, so a new
// RSA-2048 key and certificate. It returns once the metadata is served,
// and stops the IdP when the test ends; the IdP's log is printed if the
// test failed.
func startSAMLIdP(t *testing.T, o samlIdPOptions) *samlIdP {
	t.Helper()
	bin := samlIdPBinary(t)
	dir := t.TempDir()
	args := []string{"-addr", "127.0.0.1:0", "-state", filepath.Join(dir, "state")}
	if o.SignatureMethod != "" {
		args = append(args, "-signature-method", o.SignatureMethod)
	}
	if o.Attributes != nil {
		file := filepath.Join(dir, "attributes.json")
		b, _ := json.Marshal(o.Attributes)
		if err := os.WriteFile(file, b, 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-attributes", file)
	}
	p := &samlIdP{logs: &proc.Logs{}, exited: make(chan struct{}), client: &http.Client{Timeout: 10 * time.Second}}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = []string{"HOME=" + dir}
	// One pipe for stdout and stderr, read to its end by one goroutine.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout, p.cmd.Stderr = w, w
	err = p.cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		t.Fatalf("starting the SAML IdP: %v", err)
	}
	ready := make(chan string, 1)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		defer r.Close()
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.logs.Write([]byte(line + "\n"))
			if u, ok := strings.CutPrefix(line, "samlidp listening on "); ok {
				select {
				case ready <- u:
				default:
				}
			}
		}
	}()
	go func() {
		<-readDone
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop(t)
		if t.Failed() {
			t.Logf("the SAML IdP's log (%s):\n%s", p.URL, p.logs.String())
		}
	})

	select {
	case p.URL = <-ready:
	case <-p.exited:
		t.Fatalf("the SAML IdP exited before serving: %v\n%s", p.waitErr, p.logs.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("the SAML IdP did not start within a minute:\n%s", p.logs.String())
	}
	md, err := p.get(p.URL + "/metadata")
	if err != nil {
		t.Fatalf("the SAML IdP's metadata: %v", err)
	}
	p.metadata = md
	return p
}

// stop sends SIGTERM and expects a prompt, clean exit.
func (p *samlIdP) stop(t *testing.T) {
	select {
	case <-p.exited:
		if p.waitErr != nil {
			t.Errorf("the SAML IdP exited early: %v", p.waitErr)
		}
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if p.waitErr != nil {
			t.Errorf("the SAML IdP exited with %v on SIGTERM", p.waitErr)
		}
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		t.Errorf("the SAML IdP did not stop on SIGTERM and was killed")
	}
}

// MetadataXML is the IdP's metadata (GET /metadata) as served at start:
// what an administrator saves to register the IdP as a SAML provider.
func (p *samlIdP) MetadataXML() []byte { return bytes.Clone(p.metadata) }

// samlNameID is the NameID the IdP sends for a user AddUser made: crewjam
// sends the user's email address, a transient NameID.
func samlNameID(user string) string { return user + "@example.com" }

// AddUser creates a user (PUT /users/NAME, email samlNameID(name)) and
// sets its AWS attributes (PUT /aws-attributes/NAME).
func (p *samlIdP) AddUser(t *testing.T, name, password string, attrs map[string][]string) {
	t.Helper()
	user, _ := json.Marshal(map[string]string{"name": name, "password": password, "email": samlNameID(name)})
	p.put(t, "/users/"+url.PathEscape(name), "application/json", user)
	if attrs == nil {
		attrs = map[string][]string{}
	}
	b, _ := json.Marshal(attrs)
	p.put(t, "/aws-attributes/"+url.PathEscape(name), "application/json", b)
}

// RegisterSP registers a service provider by its metadata (PUT
// /services/keyless) and its IdP-initiated sign-in (PUT
// /shortcuts/keyless). Responses go to the metadata's first HTTP-POST
// AssertionConsumerService, as crewjam picks it; registering again
// replaces the service provider of the same entity id.
func (p *samlIdP) RegisterSP(t *testing.T, spMetadata []byte) {
	t.Helper()
	var md struct {
		EntityID string `xml:"entityID,attr"`
		SP       []struct {
			ACS []struct {
				Binding  string `xml:"Binding,attr"`
				Location string `xml:"Location,attr"`
			} `xml:"urn:oasis:names:tc:SAML:2.0:metadata AssertionConsumerService"`
		} `xml:"urn:oasis:names:tc:SAML:2.0:metadata SPSSODescriptor"`
	}
	if err := xml.Unmarshal(spMetadata, &md); err != nil || md.EntityID == "" {
		t.Fatalf("RegisterSP: not SP metadata with an entityID (%v):\n%s", err, spMetadata)
	}
	acs := ""
	for _, sp := range md.SP {
		for _, e := range sp.ACS {
			if e.Binding == bindingPOST && acs == "" {
				acs = e.Location
			}
		}
	}
	if acs == "" {
		t.Fatalf("RegisterSP: the SP metadata has no HTTP-POST AssertionConsumerService:\n%s", spMetadata)
	}
	p.put(t, "/services/"+samlShortcut, "application/xml", spMetadata)
	shortcut, _ := json.Marshal(map[string]string{"name": samlShortcut, "service_provider": md.EntityID})
	p.put(t, "/shortcuts/"+samlShortcut, "application/json", shortcut)
	p.mu.Lock()
	p.acs = acs
	p.mu.Unlock()
}

// LoginURL is the IdP-initiated sign-in of a shortcut: after the login
// form, an auto-posting form to the service provider.
func (p *samlIdP) LoginURL(shortcut string) string {
	return p.URL + "/login/" + url.PathEscape(shortcut)
}

// SAMLResponse signs user in and returns a fresh base64 SAMLResponse for
// the registered service provider, as the browser would post it. The
// form must post to the registered ACS URL.
func (p *samlIdP) SAMLResponse(t *testing.T, user, password string) string {
	t.Helper()
	p.mu.Lock()
	acs := p.acs
	p.mu.Unlock()
	if acs == "" {
		t.Fatal("SAMLResponse: no service provider registered (RegisterSP)")
	}
	c, err := p.login(user, password)
	if err != nil {
		t.Fatal(err)
	}
	action, response, err := p.responseForm(c, samlShortcut)
	if err != nil {
		t.Fatal(err)
	}
	if action != acs {
		t.Fatalf("the IdP's form posts to %q, not to the registered ACS URL %q", action, acs)
	}
	return response
}

// login posts the login form (POST /login) and returns a client holding
// the session cookie.
func (p *samlIdP) login(user, password string) (*http.Client, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	c := &http.Client{Timeout: 10 * time.Second, Jar: jar}
	resp, err := c.PostForm(p.URL+"/login", url.Values{"user": {user}, "password": {password}})
	if err != nil {
		return nil, err
	}
	body, err := readBounded(resp)
	if err != nil {
		return nil, err
	}
	// A session is answered as JSON; a refusal is the login form again.
	var session struct{ UserName string }
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &session) != nil || session.UserName != user {
		return nil, fmt.Errorf("the IdP did not log %s in: %s: %.300s", user, resp.Status, body)
	}
	return c, nil
}

// The auto-posting form of crewjam's IdP (SAML bindings 3.5.4): its
// action and its SAMLResponse, attribute values escaped by html/template.
var (
	samlFormAction = regexp.MustCompile(`<form method="post" action="([^"]*)" id="SAMLResponseForm">`)
	samlFormValue  = regexp.MustCompile(`<input type="hidden" name="SAMLResponse" value="([^"]*)"`)
)

// responseForm opens an IdP-initiated sign-in with a logged-in client
// and returns the form's action and SAMLResponse.
func (p *samlIdP) responseForm(c *http.Client, shortcut string) (action, response string, err error) {
	resp, err := c.Get(p.LoginURL(shortcut))
	if err != nil {
		return "", "", err
	}
	page, err := readBounded(resp)
	if err != nil {
		return "", "", err
	}
	actions, values := samlFormAction.FindAllSubmatch(page, -1), samlFormValue.FindAllSubmatch(page, -1)
	if resp.StatusCode != http.StatusOK || len(actions) != 1 || len(values) != 1 {
		return "", "", fmt.Errorf("GET %s: %s, not one auto-posting SAMLResponse form: %.500s", p.LoginURL(shortcut), resp.Status, page)
	}
	return html.UnescapeString(string(actions[0][1])), html.UnescapeString(string(values[0][1])), nil
}

func (p *samlIdP) put(t *testing.T, path, contentType string, body []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, p.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := p.client.Do(req)
	if err != nil {
		t.Fatalf("PUT %s: %v", path, err)
	}
	out, _ := readBounded(resp)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("PUT %s: %s: %s", path, resp.Status, out)
	}
}

func (p *samlIdP) get(u string) ([]byte, error) {
	resp, err := p.client.Get(u)
	if err != nil {
		return nil, err
	}
	body, err := readBounded(resp)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %.300s", u, resp.Status, body)
	}
	return body, nil
}

// readBounded reads and closes a response body of at most 1 MiB.
func readBounded(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20+1))
	if err != nil {
		return nil, err
	}
	if len(b) > 1<<20 {
		return nil, errors.New(resp.Request.URL.String() + ": the body is larger than 1 MiB")
	}
	return b, nil
}

// spMetadata is keyless's service provider metadata as an IdP
// administrator registers it (SAML metadata 2.4.4): entity id
// samlSPEntityID, one HTTP-POST AssertionConsumerService per URL, the
// first the default.
func spMetadata(acsURLs ...string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<md:EntityDescriptor xmlns:md="` + nsMetadata + `" entityID="` + samlSPEntityID + `">`)
	b.WriteString(`<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" WantAssertionsSigned="true">`)
	b.WriteString(`<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:transient</md:NameIDFormat>`)
	for i, u := range acsURLs {
		var loc bytes.Buffer
		_ = xml.EscapeText(&loc, []byte(u))
		def := ""
		if i == 0 {
			def = ` isDefault="true"`
		}
		fmt.Fprintf(&b, `<md:AssertionConsumerService Binding="%s" Location="%s" index="%d"%s/>`, bindingPOST, loc.String(), i, def)
	}
	b.WriteString(`</md:SPSSODescriptor></md:EntityDescriptor>`)
	return []byte(b.String())
}

// The parts of a Response the tests read (SAML core 3.2.2, 3.3.3, 2.3.3),
// with encoding/xml only: a test's reading of what the IdP sent, not a
// verification of it.
type samlResponseXML struct {
	XMLName      xml.Name
	ID           string             `xml:"ID,attr"`
	Destination  string             `xml:"Destination,attr"`
	Issuer       string             `xml:"urn:oasis:names:tc:SAML:2.0:assertion Issuer"`
	Signatures   []samlSignatureXML `xml:"http://www.w3.org/2000/09/xmldsig# Signature"`
	StatusCode   samlValueAttr      `xml:"urn:oasis:names:tc:SAML:2.0:protocol Status>StatusCode"`
	Assertions   []samlAssertionXML `xml:"urn:oasis:names:tc:SAML:2.0:assertion Assertion"`
	EncAssertion []struct{}         `xml:"urn:oasis:names:tc:SAML:2.0:assertion EncryptedAssertion"`
}

type samlValueAttr struct {
	Value string `xml:"Value,attr"`
}

type samlAlgorithm struct {
	Algorithm string `xml:"Algorithm,attr"`
}

// samlSignatureXML is an enveloped XML signature (XML-DSig 4.1, 4.3).
type samlSignatureXML struct {
	SignedInfo struct {
		CanonicalizationMethod samlAlgorithm `xml:"http://www.w3.org/2000/09/xmldsig# CanonicalizationMethod"`
		SignatureMethod        samlAlgorithm `xml:"http://www.w3.org/2000/09/xmldsig# SignatureMethod"`
		References             []struct {
			URI          string          `xml:"URI,attr"`
			Transforms   []samlAlgorithm `xml:"http://www.w3.org/2000/09/xmldsig# Transforms>Transform"`
			DigestMethod samlAlgorithm   `xml:"http://www.w3.org/2000/09/xmldsig# DigestMethod"`
		} `xml:"http://www.w3.org/2000/09/xmldsig# Reference"`
	} `xml:"http://www.w3.org/2000/09/xmldsig# SignedInfo"`
	SignatureValue string   `xml:"http://www.w3.org/2000/09/xmldsig# SignatureValue"`
	Certificates   []string `xml:"http://www.w3.org/2000/09/xmldsig# KeyInfo>X509Data>X509Certificate"`
}

type samlAssertionXML struct {
	ID           string             `xml:"ID,attr"`
	IssueInstant string             `xml:"IssueInstant,attr"`
	Issuer       string             `xml:"urn:oasis:names:tc:SAML:2.0:assertion Issuer"`
	Signatures   []samlSignatureXML `xml:"http://www.w3.org/2000/09/xmldsig# Signature"`
	NameID       struct {
		Format string `xml:"Format,attr"`
		Value  string `xml:",chardata"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:assertion Subject>NameID"`
	Confirmations []struct {
		Method string `xml:"Method,attr"`
		Data   struct {
			Recipient    string `xml:"Recipient,attr"`
			NotOnOrAfter string `xml:"NotOnOrAfter,attr"`
		} `xml:"urn:oasis:names:tc:SAML:2.0:assertion SubjectConfirmationData"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:assertion Subject>SubjectConfirmation"`
	Audiences  []string `xml:"urn:oasis:names:tc:SAML:2.0:assertion Conditions>AudienceRestriction>Audience"`
	Attributes []struct {
		Name       string   `xml:"Name,attr"`
		NameFormat string   `xml:"NameFormat,attr"`
		Values     []string `xml:"urn:oasis:names:tc:SAML:2.0:assertion AttributeValue"`
	} `xml:"urn:oasis:names:tc:SAML:2.0:assertion AttributeStatement>Attribute"`
}

// decodeSAMLResponse base64-decodes a SAMLResponse and reads it.
func decodeSAMLResponse(t *testing.T, encoded string) (*samlResponseXML, []byte) {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		t.Fatalf("the SAMLResponse is not base64: %v", err)
	}
	var r samlResponseXML
	if err := xml.Unmarshal(raw, &r); err != nil {
		t.Fatalf("the SAMLResponse is not XML: %v\n%s", err, raw)
	}
	return &r, raw
}

// attribute returns the values of the assertion's attributes named name,
// and whether all had the URI name format.
func (a *samlAssertionXML) attribute(name string) (values []string, uriFormat bool) {
	uriFormat = true
	for _, at := range a.Attributes {
		if at.Name == name {
			values = append(values, at.Values...)
			uriFormat = uriFormat && at.NameFormat == "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
		}
	}
	return values, uriFormat
}

// signingCertificate is the IdP metadata's signing certificate, base64 DER.
func signingCertificate(t *testing.T, metadata []byte) (entityID, cert string) {
	t.Helper()
	var md struct {
		EntityID string `xml:"entityID,attr"`
		Keys     []struct {
			Use  string `xml:"use,attr"`
			Cert string `xml:"http://www.w3.org/2000/09/xmldsig# KeyInfo>X509Data>X509Certificate"`
		} `xml:"urn:oasis:names:tc:SAML:2.0:metadata IDPSSODescriptor>KeyDescriptor"`
	}
	if err := xml.Unmarshal(metadata, &md); err != nil {
		t.Fatalf("the IdP's metadata: %v\n%s", err, metadata)
	}
	for _, k := range md.Keys {
		if k.Use == "signing" {
			return md.EntityID, strings.Join(strings.Fields(k.Cert), "")
		}
	}
	t.Fatalf("the IdP's metadata has no signing key:\n%s", metadata)
	return "", ""
}

// checkSignature checks that an enveloped signature covers the element
// with the given ID, with the IdP's certificate and the algorithms named.
func checkSignature(t *testing.T, what string, sigs []samlSignatureXML, id, cert, method, digest string) {
	t.Helper()
	if len(sigs) != 1 {
		t.Errorf("%s: %d signatures, want 1", what, len(sigs))
		return
	}
	si := sigs[0].SignedInfo
	if si.SignatureMethod.Algorithm != method || si.CanonicalizationMethod.Algorithm != "http://www.w3.org/2001/10/xml-exc-c14n#" {
		t.Errorf("%s: SignatureMethod %q, CanonicalizationMethod %q", what, si.SignatureMethod.Algorithm, si.CanonicalizationMethod.Algorithm)
	}
	if len(si.References) != 1 || si.References[0].URI != "#"+id || si.References[0].DigestMethod.Algorithm != digest {
		t.Errorf("%s: references %+v, want one to #%s with %s", what, si.References, id, digest)
	}
	if len(si.References) == 1 && !slices.ContainsFunc(si.References[0].Transforms, func(a samlAlgorithm) bool {
		return a.Algorithm == "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
	}) {
		t.Errorf("%s: transforms %+v lack enveloped-signature", what, si.References[0].Transforms)
	}
	if strings.TrimSpace(sigs[0].SignatureValue) == "" {
		t.Errorf("%s: an empty SignatureValue", what)
	}
	if len(sigs[0].Certificates) != 1 || strings.Join(strings.Fields(sigs[0].Certificates[0]), "") != cert {
		t.Errorf("%s: KeyInfo does not carry the certificate of the IdP's metadata", what)
	}
}

// TestSAMLIdPIssuesSignedResponses proves the harness: the IdP's
// SAMLResponse is a Response and one Assertion, each signed (RSA-SHA256,
// SHA-256 digests) with the certificate of its metadata, for our ACS URL
// and audience, with the user's NameID and AWS attributes; every sign-in
// gives a fresh assertion, a wrong password none, and registering the SP
// again with another ACS URL first sends the next Response there.
func TestSAMLIdPIssuesSignedResponses(t *testing.T) {
	const (
		acs      = "https://sts.keyless.test/saml"
		regional = "https://sts.keyless.test/us-west-2/saml"
		role     = "arn:aws:iam::111122223333:role/saml-dev,arn:aws:iam::111122223333:saml-provider/corp-idp"
		provider = "arn:aws:iam::111122223333:saml-provider/corp-idp,arn:aws:iam::111122223333:role/partner-ro"
	)
	p := startSAMLIdP(t, samlIdPOptions{Attributes: map[string]map[string][]string{
		"bob": {"https://aws.amazon.com/SAML/Attributes/RoleSessionName": {"bob"}},
	}})
	entityID, cert := signingCertificate(t, p.MetadataXML())
	if entityID != p.URL+"/metadata" || !strings.HasPrefix(p.URL, "http://127.0.0.1:") {
		t.Errorf("the IdP at %s has entity id %q", p.URL, entityID)
	}
	attrs := map[string][]string{
		"https://aws.amazon.com/SAML/Attributes/Role":              {role, provider},
		"https://aws.amazon.com/SAML/Attributes/RoleSessionName":   {"alice"},
		"https://aws.amazon.com/SAML/Attributes/SourceIdentity":    {"alice@corp"},
		"https://aws.amazon.com/SAML/Attributes/SessionDuration":   {"1800"},
		"https://aws.amazon.com/SAML/Attributes/PrincipalTag:Team": {"dev"},
		"https://aws.amazon.com/SAML/Attributes/TransitiveTagKeys": {"Team"},
	}
	p.AddUser(t, "alice", "alice-password", attrs)
	// bob's attributes are the -attributes file's: he is made without
	// AddUser, which would replace them.
	p.put(t, "/users/bob", "application/json", []byte(`{"password": "bob-password", "email": "`+samlNameID("bob")+`"}`))
	p.RegisterSP(t, spMetadata(acs, regional))

	start := time.Now()
	encoded := p.SAMLResponse(t, "alice", "alice-password")
	r, raw := decodeSAMLResponse(t, encoded)
	if r.XMLName != (xml.Name{Space: nsProtocol, Local: "Response"}) || r.Destination != acs || r.Issuer != entityID ||
		r.StatusCode.Value != "urn:oasis:names:tc:SAML:2.0:status:Success" {
		t.Errorf("Response %v, Destination %q, Issuer %q, status %q", r.XMLName, r.Destination, r.Issuer, r.StatusCode.Value)
	}
	const sha256Sig, sha256Digest = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", "http://www.w3.org/2001/04/xmlenc#sha256"
	checkSignature(t, "the Response", r.Signatures, r.ID, cert, sha256Sig, sha256Digest)
	if len(r.Assertions) != 1 || len(r.EncAssertion) != 0 {
		t.Fatalf("%d assertions and %d encrypted ones, want one plain assertion:\n%s", len(r.Assertions), len(r.EncAssertion), raw)
	}
	a := &r.Assertions[0]
	checkSignature(t, "the Assertion", a.Signatures, a.ID, cert, sha256Sig, sha256Digest)
	if a.Issuer != entityID || a.NameID.Value != samlNameID("alice") || a.NameID.Format != "urn:oasis:names:tc:SAML:2.0:nameid-format:transient" {
		t.Errorf("Assertion Issuer %q, NameID %+v", a.Issuer, a.NameID)
	}
	if !slices.Equal(a.Audiences, []string{samlSPEntityID}) {
		t.Errorf("audiences %q, want [%s]", a.Audiences, samlSPEntityID)
	}
	if len(a.Confirmations) != 1 || a.Confirmations[0].Method != "urn:oasis:names:tc:SAML:2.0:cm:bearer" || a.Confirmations[0].Data.Recipient != acs {
		t.Errorf("subject confirmations %+v, want one bearer for %s", a.Confirmations, acs)
	} else if until, err := time.Parse(time.RFC3339Nano, a.Confirmations[0].Data.NotOnOrAfter); err != nil ||
		!until.After(start) || until.After(time.Now().Add(5*time.Minute)) {
		t.Errorf("the confirmation's NotOnOrAfter %q is not a few minutes ahead (%v)", a.Confirmations[0].Data.NotOnOrAfter, err)
	}
	for name, want := range attrs {
		if got, uri := a.attribute(name); !slices.Equal(got, want) || !uri {
			t.Errorf("attribute %s: %q (uri name format %v), want %q", name, got, uri, want)
		}
	}
	if got, _ := a.attribute("urn:oid:0.9.2342.19200300.100.1.1"); !slices.Equal(got, []string{"alice"}) {
		t.Errorf("crewjam's own uid attribute: %q", got)
	}

	// Fresh assertions; a wrong password gets none.
	again, _ := decodeSAMLResponse(t, p.SAMLResponse(t, "alice", "alice-password"))
	if len(again.Assertions) != 1 || again.Assertions[0].ID == a.ID || again.ID == r.ID {
		t.Error("a second sign-in repeated the first Response's or Assertion's ID")
	}
	if _, err := p.login("alice", "wrong-password"); err == nil {
		t.Error("the IdP logged alice in with a wrong password")
	}
	// bob's attributes, from the -attributes file, are his alone.
	bob, _ := decodeSAMLResponse(t, p.SAMLResponse(t, "bob", "bob-password"))
	if len(bob.Assertions) != 1 {
		t.Fatalf("bob's Response has %d assertions", len(bob.Assertions))
	}
	if got, _ := bob.Assertions[0].attribute("https://aws.amazon.com/SAML/Attributes/RoleSessionName"); !slices.Equal(got, []string{"bob"}) {
		t.Errorf("bob's RoleSessionName: %q", got)
	}
	if got, _ := bob.Assertions[0].attribute("https://aws.amazon.com/SAML/Attributes/Role"); got != nil {
		t.Errorf("bob has alice's Role attribute: %q", got)
	}

	// Another ACS URL first: the next Response is for it.
	p.RegisterSP(t, spMetadata(regional))
	moved, _ := decodeSAMLResponse(t, p.SAMLResponse(t, "alice", "alice-password"))
	if moved.Destination != regional || len(moved.Assertions) != 1 || len(moved.Assertions[0].Confirmations) != 1 ||
		moved.Assertions[0].Confirmations[0].Data.Recipient != regional {
		t.Errorf("after registering %s, the Response is for %q", regional, moved.Destination)
	}

	t.Run("SHA1", func(t *testing.T) {
		const sha1Sig, sha1Digest = "http://www.w3.org/2000/09/xmldsig#rsa-sha1", "http://www.w3.org/2000/09/xmldsig#sha1"
		old := startSAMLIdP(t, samlIdPOptions{SignatureMethod: sha1Sig})
		_, oldCert := signingCertificate(t, old.MetadataXML())
		if oldCert == cert {
			t.Error("two IdPs share a certificate: the state directory is not fresh")
		}
		old.AddUser(t, "carol", "carol-password", nil)
		old.RegisterSP(t, spMetadata(acs))
		r, _ := decodeSAMLResponse(t, old.SAMLResponse(t, "carol", "carol-password"))
		checkSignature(t, "the Response", r.Signatures, r.ID, oldCert, sha1Sig, sha1Digest)
		if len(r.Assertions) == 1 {
			checkSignature(t, "the Assertion", r.Assertions[0].Signatures, r.Assertions[0].ID, oldCert, sha1Sig, sha1Digest)
		}
	})
}
