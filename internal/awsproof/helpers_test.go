package awsproof

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/keyless-dev/keyless/internal/awsproof/awsprooftest"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/storage"
)

// Test credentials (AWS documentation examples) and fixed values.
const (
	testAKID     = "AKIAIOSFODNN7EXAMPLE"
	testSecret   = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	testToken    = "FwoGZXIvYXdzEXAMPLESESSIONTOKENxyz"
	testAudience = "https://keyless.example/exchange"
	testARN      = "arn:aws:iam::123456789012:user/Alice"
	testAccount  = "123456789012"
	testUserID   = "AIDAEXAMPLEUSERID"
)

// signTime is when test envelopes are signed; the fake clock starts there.
var signTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// fakeAWSIP is the public address the test resolver gives AWS host names;
// the test dialer sends it to the mock STS.
var fakeAWSIP = netip.MustParseAddr("52.94.0.1")

// awsTestHosts are the names the test certificate and resolver know.
var awsTestHosts = []string{
	"sts.amazonaws.com", "sts.us-east-2.amazonaws.com", "sts.eu-west-1.amazonaws.com",
	"sts-fips.us-east-1.amazonaws.com", "sts.us-gov-west-1.amazonaws.com",
	"sts.cn-north-1.amazonaws.com.cn",
}

// testCert is a self-signed certificate for the AWS test names and
// 127.0.0.1, so TLS is verified for real against a pool holding it.
var testCert = sync.OnceValues(func() (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "awsproof test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              awsTestHosts,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
})

// countingListener counts accepted connections.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// seenRequest is what the mock STS received.
type seenRequest struct {
	method, requestURI, host, body string
	header                         http.Header
}

// mockSTS is an httptest TLS server that counts connections and records
// requests.
type mockSTS struct {
	srv   *httptest.Server
	ln    *countingListener
	mu    sync.Mutex
	reqs  []seenRequest
	hits  atomic.Int64
	valid atomic.Int64 // requests whose signature the mock verified
}

func newMockSTS(t testing.TB, tlsOn bool, h func(m *mockSTS, w http.ResponseWriter, r *http.Request)) *mockSTS {
	t.Helper()
	m := &mockSTS{}
	m.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		m.mu.Lock()
		m.reqs = append(m.reqs, seenRequest{r.Method, r.RequestURI, r.Host, string(body), r.Header.Clone()})
		m.mu.Unlock()
		m.hits.Add(1)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		h(m, w, r)
	}))
	m.ln = &countingListener{Listener: m.srv.Listener}
	m.srv.Listener = m.ln
	m.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if tlsOn {
		cert, err := testCert()
		if err != nil {
			t.Fatal(err)
		}
		m.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
		m.srv.StartTLS()
	} else {
		m.srv.Start()
	}
	t.Cleanup(m.srv.Close)
	return m
}

func (m *mockSTS) conns() int64 { return m.ln.n.Load() }

func (m *mockSTS) requests() []seenRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.reqs)
}

func (m *mockSTS) addr() string { return m.srv.Listener.Addr().String() }

func (m *mockSTS) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(m.srv.Certificate())
	return p
}

func writeXML(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// stsOK verifies the forwarded request's signature as AWS would, by
// signing the received request again with the test secret, and answers
// the test identity; a wrong signature gets AWS's 403.
func stsOK(m *mockSTS, w http.ResponseWriter, r *http.Request) {
	if !verifySignature(r) {
		writeXML(w, 403, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>mock: signature mismatch</Message></Error><RequestId>x</RequestId></ErrorResponse>`)
		return
	}
	m.valid.Add(1)
	writeXML(w, 200, awsprooftest.IdentityXML(testARN, testUserID, testAccount))
}

func verifySignature(r *http.Request) bool {
	body, _ := io.ReadAll(r.Body)
	return awsprooftest.Resigned(r, body, "https", func(string) (string, bool) { return testSecret, true })
}

// spec describes an envelope to sign.
type spec struct {
	host     string // default sts.amazonaws.com
	region   string // default us-east-1
	service  string // default sts
	bodyForm bool
	audName  string // default X-Keyless-Audience; "-" for none
	aud      string // default testAudience
	noToken  bool
	extra    map[string]string // more signed headers
	at       time.Time         // default signTime
	scheme   string            // default https
}

// sign signs a GetCallerIdentity request for real with aws-sdk-go-v2.
func sign(t testing.TB, s spec) []byte {
	t.Helper()
	e := signEnv(t, s)
	return e.Bytes()
}

func signEnv(t testing.TB, s spec) env {
	t.Helper()
	if s.host == "" {
		s.host = "sts.amazonaws.com"
	}
	if s.audName == "" {
		s.audName = AudienceHeader
	}
	if s.aud == "" {
		s.aud = testAudience
	}
	if s.at.IsZero() {
		s.at = signTime
	}
	if s.scheme == "" {
		s.scheme = "https"
	}
	headers := map[string]string{}
	if s.audName != "-" {
		headers[s.audName] = s.aud
	}
	maps.Copy(headers, s.extra)
	creds := aws.Credentials{AccessKeyID: testAKID, SecretAccessKey: testSecret}
	if !s.noToken {
		creds.SessionToken = testToken
	}
	e, err := awsprooftest.Sign(awsprooftest.SignSpec{Endpoint: s.scheme + "://" + s.host, BodyForm: s.bodyForm, Headers: headers,
		Credentials: creds, Service: s.service, Region: s.region, At: s.at})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// env is a serialized request as a test manipulates it.
type env = awsprooftest.Envelope

func decodeEnv(t testing.TB, b []byte) env {
	t.Helper()
	e, err := awsprooftest.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// harness is a Verifier wired to a mock STS through the test resolver and
// dialer, with a fake clock and an in-memory single-use store.
type harness struct {
	v     *Verifier
	sts   *mockSTS
	clock *clock.Fake
	dials atomic.Int64

	mu     sync.Mutex
	used   map[string]time.Time
	keys   []string // every UseOnce call
	untils []time.Time
}

func newHarness(t testing.TB, h func(*mockSTS, http.ResponseWriter, *http.Request), opt func(*Options)) *harness {
	t.Helper()
	if h == nil {
		h = stsOK
	}
	hs := &harness{sts: newMockSTS(t, true, h), clock: clock.NewFake(signTime), used: map[string]time.Time{}}
	o := Options{
		Clock:    hs.clock,
		UseOnce:  hs.useOnce,
		RootCAs:  hs.sts.pool(),
		Random:   mrand.NewChaCha8([32]byte{1}),
		Timeout:  2 * time.Second,
		Resolver: testResolver,
		Dialer:   hs.dial,
	}
	if opt != nil {
		opt(&o)
	}
	v, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	hs.v = v
	return hs
}

func testResolver(_ context.Context, host string) ([]netip.Addr, error) {
	if slices.Contains(awsTestHosts, strings.ToLower(host)) {
		return []netip.Addr{fakeAWSIP}, nil
	}
	return nil, fmt.Errorf("test resolver: no such host %q", host)
}

// dial sends the fake AWS address to the mock STS and anything else (a
// loopback upstream) where it asks to go.
func (h *harness) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	h.dials.Add(1)
	if addr == netip.AddrPortFrom(fakeAWSIP, 443).String() {
		addr = h.sts.addr()
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

func (h *harness) useOnce(_ context.Context, key string, until time.Time) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.keys, h.untils = append(h.keys, key), append(h.untils, until)
	if _, ok := h.used[key]; ok {
		return fmt.Errorf("use once: %w", storage.ErrConflict)
	}
	h.used[key] = until
	return nil
}

func (h *harness) usedKeys() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.used)
}

// wantReason asserts err is an *Error with reason and availability, and
// that its text holds no secret.
func wantReason(t testing.TB, err error, reason string, unavail bool) *Error {
	t.Helper()
	e, ok := errors.AsType[*Error](err)
	if !ok {
		t.Fatalf("err = %v (%T), want *Error %s", err, err, reason)
	}
	if e.Reason() != reason || e.Unavailable() != unavail {
		t.Fatalf("err = %v: reason %q unavailable %v, want %q %v", err, e.Reason(), e.Unavailable(), reason, unavail)
	}
	noSecrets(t, err.Error())
	return e
}

func noSecrets(t testing.TB, s string) {
	t.Helper()
	for _, secret := range []string{testToken, testSecret, "Signature=", "AWS4-HMAC-SHA256", testAudience} {
		if strings.Contains(s, secret) {
			t.Fatalf("error text %q contains %q", s, secret)
		}
	}
	if hex64.MatchString(s) {
		t.Fatalf("error text %q contains a 64-digit hex string", s)
	}
}

var hex64 = regexp.MustCompile(`[0-9a-f]{64}`)
