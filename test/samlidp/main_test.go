package main

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
)

func TestStateIsMadeOnceAndKept(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	key, cert, err := loadOrCreateState(dir, "127.0.0.1", now)
	if err != nil {
		t.Fatal(err)
	}
	if key.N.BitLen() != 2048 {
		t.Errorf("an RSA-%d key, want RSA-2048", key.N.BitLen())
	}
	if cert.Subject.CommonName != "samlidp 127.0.0.1" || cert.Subject.String() != cert.Issuer.String() || cert.CheckSignature(cert.SignatureAlgorithm, cert.RawTBSCertificate, cert.Signature) != nil {
		t.Errorf("not a self-signed certificate for the host: subject %s, issuer %s", cert.Subject, cert.Issuer)
	}
	if !cert.NotBefore.Before(now) || !cert.NotAfter.Equal(now.AddDate(1, 0, 0)) {
		t.Errorf("valid %v to %v, want a year from %v", cert.NotBefore, cert.NotAfter, now)
	}
	if fi, err := os.Stat(filepath.Join(dir, keyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the key file: %v, %v; want mode 0600", fi, err)
	}

	key2, cert2, err := loadOrCreateState(dir, "127.0.0.1", now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if !key2.Equal(key) || !bytes.Equal(cert2.Raw, cert.Raw) {
		t.Error("a second start made another key or certificate instead of reading the stored ones")
	}

	// A certificate of another key, or one file alone, is refused.
	other := filepath.Join(t.TempDir(), "other")
	if _, _, err := loadOrCreateState(other, "127.0.0.1", now); err != nil {
		t.Fatal(err)
	}
	foreign, err := os.ReadFile(filepath.Join(other, certFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, certFile), foreign, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadOrCreateState(dir, "127.0.0.1", now); err == nil || !strings.Contains(err.Error(), "is not the certificate of") {
		t.Errorf("another key's certificate: %v", err)
	}
	if err := os.Remove(filepath.Join(dir, certFile)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadOrCreateState(dir, "127.0.0.1", now); err == nil {
		t.Error("a key without its certificate was accepted")
	}
	if _, _, err := loadOrCreateState("", "127.0.0.1", now); err == nil {
		t.Error("no state directory was accepted")
	}
}

const (
	testSP  = "urn:amazon:webservices"
	testACS = "https://sts.keyless.test/saml"
	roleVal = "arn:aws:iam::111122223333:role/dev,arn:aws:iam::111122223333:saml-provider/corp"
)

// startIDP serves newHandler on a loopback test server with an
// -attributes file naming bob.
func startIDP(t *testing.T, signatureMethod string) *httptest.Server {
	t.Helper()
	file := filepath.Join(t.TempDir(), "attributes.json")
	if err := os.WriteFile(file, []byte(`{"bob": {"https://aws.amazon.com/SAML/Attributes/RoleSessionName": ["bob"]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	h, err := newHandler(options{url: "http://" + srv.Listener.Addr().String(), state: t.TempDir(),
		signatureMethod: signatureMethod, attributes: file}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, c *http.Client, method, u, contentType, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

var (
	formAction = regexp.MustCompile(`<form method="post" action="([^"]*)"`)
	formValue  = regexp.MustCompile(`name="SAMLResponse" value="([^"]*)"`)
)

// signIn registers the SP, logs user in and returns the decoded Response.
func signIn(t *testing.T, srv *httptest.Server, user string) []byte {
	t.Helper()
	c := srv.Client()
	sp := `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="` + testSP + `"><SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">` +
		`<AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="` + testACS + `" index="0" isDefault="true"/></SPSSODescriptor></EntityDescriptor>`
	for path, body := range map[string]string{
		"/users/" + user:     `{"password": "hunter2", "email": "` + user + `@example.com"}`,
		"/services/keyless":  sp,
		"/shortcuts/keyless": `{"service_provider": "` + testSP + `"}`,
	} {
		if code, out := do(t, c, "PUT", srv.URL+path, "", body); code != http.StatusNoContent {
			t.Fatalf("PUT %s: %d %s", path, code, out)
		}
	}
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c.Jar = jar
	if code, out := do(t, c, "POST", srv.URL+"/login", "application/x-www-form-urlencoded", "user="+user+"&password=hunter2"); code != 200 || !json.Valid([]byte(out)) {
		t.Fatalf("POST /login: %d %s", code, out)
	}
	code, page := do(t, c, "GET", srv.URL+"/login/keyless", "", "")
	action, value := formAction.FindStringSubmatch(page), formValue.FindStringSubmatch(page)
	if code != 200 || action == nil || value == nil || html.UnescapeString(action[1]) != testACS {
		t.Fatalf("GET /login/keyless: %d %s", code, page)
	}
	b, err := base64.StdEncoding.DecodeString(html.UnescapeString(value[1]))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// verify checks the Response the way a service provider does (crewjam's
// own SP: signature with the IdP's metadata certificate, audience,
// recipient, times) and returns its assertion.
func verify(t *testing.T, srv *httptest.Server, response []byte) *saml.Assertion {
	t.Helper()
	code, md := do(t, srv.Client(), "GET", srv.URL+"/metadata", "", "")
	if code != 200 {
		t.Fatalf("GET /metadata: %d", code)
	}
	var idp saml.EntityDescriptor
	if err := xml.Unmarshal([]byte(md), &idp); err != nil {
		t.Fatal(err)
	}
	acs, _ := url.Parse(testACS)
	sp := saml.ServiceProvider{EntityID: testSP, AcsURL: *acs, IDPMetadata: &idp, AllowIDPInitiated: true}
	a, err := sp.ParseXMLResponse(response, nil, *acs)
	if err != nil {
		var ie *saml.InvalidResponseError
		if errors.As(err, &ie) {
			err = ie.PrivateErr
		}
		t.Fatalf("crewjam's service provider refuses the Response: %v", err)
	}
	return a
}

func values(a *saml.Assertion, name string) []string {
	var out []string
	for _, st := range a.AttributeStatements {
		for _, at := range st.Attributes {
			if at.Name == name {
				if at.NameFormat != attrNameFormat {
					return []string{"NameFormat " + at.NameFormat}
				}
				for _, v := range at.Values {
					out = append(out, v.Value)
				}
			}
		}
	}
	return out
}

func TestIssuesSignedResponsesWithAWSAttributes(t *testing.T) {
	srv := startIDP(t, dsig.RSASHA256SignatureMethod)
	attrs := `{"https://aws.amazon.com/SAML/Attributes/Role": ["` + roleVal + `", "second"],
		"https://aws.amazon.com/SAML/Attributes/SourceIdentity": ["alice@corp"]}`
	if code, out := do(t, srv.Client(), "PUT", srv.URL+"/aws-attributes/alice", "application/json", attrs); code != http.StatusNoContent {
		t.Fatalf("PUT /aws-attributes/alice: %d %s", code, out)
	}
	resp := signIn(t, srv, "alice")
	if !bytes.Contains(resp, []byte(`Algorithm="`+dsig.RSASHA256SignatureMethod+`"`)) || bytes.Contains(resp, []byte("rsa-sha1")) {
		t.Errorf("the Response is not signed with RSA-SHA256 only:\n%s", resp)
	}
	a := verify(t, srv, resp)
	if a.Subject.NameID.Value != "alice@example.com" {
		t.Errorf("NameID %q", a.Subject.NameID.Value)
	}
	if got := values(a, "https://aws.amazon.com/SAML/Attributes/Role"); !slices.Equal(got, []string{roleVal, "second"}) {
		t.Errorf("Role: %q", got)
	}
	if got := values(a, "https://aws.amazon.com/SAML/Attributes/SourceIdentity"); !slices.Equal(got, []string{"alice@corp"}) {
		t.Errorf("SourceIdentity: %q", got)
	}
	// crewjam's own attributes are still there.
	if got := values(a, "urn:oid:0.9.2342.19200300.100.1.1"); !slices.Equal(got, []string{"alice"}) {
		t.Errorf("uid: %q", got)
	}

	// bob's attributes come from the -attributes file; alice's are not his.
	b := verify(t, srv, signIn(t, srv, "bob"))
	if got := values(b, "https://aws.amazon.com/SAML/Attributes/RoleSessionName"); !slices.Equal(got, []string{"bob"}) {
		t.Errorf("bob's RoleSessionName: %q", got)
	}
	if got := values(b, "https://aws.amazon.com/SAML/Attributes/Role"); got != nil {
		t.Errorf("bob has alice's Role attribute: %q", got)
	}
}

func TestSignatureMethodFlag(t *testing.T) {
	srv := startIDP(t, dsig.RSASHA1SignatureMethod)
	resp := signIn(t, srv, "carol")
	if !bytes.Contains(resp, []byte(`Algorithm="`+dsig.RSASHA1SignatureMethod+`"`)) || bytes.Contains(resp, []byte("rsa-sha256")) {
		t.Errorf("the Response is not signed with RSA-SHA1:\n%s", resp)
	}
	verify(t, srv, resp)
}

func TestAttributesEndpointRefusesBadBodies(t *testing.T) {
	srv := startIDP(t, dsig.RSASHA256SignatureMethod)
	for name, body := range map[string]string{
		"not JSON":       `{"a": [`,
		"not a list":     `{"a": "b"}`,
		"over the bound": `{"a": ["` + strings.Repeat("x", maxBody) + `"]}`,
	} {
		if code, _ := do(t, srv.Client(), "PUT", srv.URL+"/aws-attributes/alice", "application/json", body); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", name, code)
		}
	}
}

func TestRunRefusesBadFlags(t *testing.T) {
	for name, args := range map[string][]string{
		"no state":       {"-addr", "127.0.0.1:0"},
		"bad url":        {"-addr", "127.0.0.1:0", "-state", t.TempDir(), "-url", "ftp://x"},
		"extra argument": {"-addr", "127.0.0.1:0", "-state", t.TempDir(), "serve"},
	} {
		var out bytes.Buffer
		if err := run(args, &out, time.Now); err == nil || out.Len() != 0 {
			t.Errorf("%s: %v, printed %q", name, err, out.String())
		}
	}
}

// The metadata's signing certificate is the state directory's.
func TestMetadataNamesStoredCertificate(t *testing.T) {
	state := t.TempDir()
	srv := httptest.NewUnstartedServer(nil)
	h, err := newHandler(options{url: "http://" + srv.Listener.Addr().String(), state: state, signatureMethod: dsig.RSASHA256SignatureMethod}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	defer srv.Close()
	_, md := do(t, srv.Client(), "GET", srv.URL+"/metadata", "", "")
	var idp saml.EntityDescriptor
	if err := xml.Unmarshal([]byte(md), &idp); err != nil {
		t.Fatal(err)
	}
	der, err := readPEM(filepath.Join(state, certFile), "CERTIFICATE")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	if idp.EntityID != srv.URL+"/metadata" || len(idp.IDPSSODescriptors) != 1 {
		t.Fatalf("metadata: entityID %q, %d IDPSSODescriptors", idp.EntityID, len(idp.IDPSSODescriptors))
	}
	found := false
	for _, kd := range idp.IDPSSODescriptors[0].KeyDescriptors {
		for _, c := range kd.KeyInfo.X509Data.X509Certificates {
			got, _ := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(c.Data), ""))
			if kd.Use == "signing" && bytes.Equal(got, der) {
				found = true
			}
		}
	}
	if !found {
		t.Error("the metadata's signing certificate is not idp-cert.pem")
	}
}
