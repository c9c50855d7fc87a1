package app_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/keyless-dev/keyless/internal/app"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/config"
	"github.com/keyless-dev/keyless/internal/kek"
	"github.com/keyless-dev/keyless/internal/samlxml/samlxmltest"
	"github.com/keyless-dev/keyless/internal/storage"
	"github.com/keyless-dev/keyless/internal/storage/embedded"
	"github.com/keyless-dev/keyless/internal/storage/memory"
)

// BenchmarkHandler measures the whole request path in process (no network)
// with make bench's configuration,
// with the embedded store, or with the memory store when BENCH_MEMORY is set
// (to see the request path without the audit fsync). For profiling:
// go test -run '^$' -bench Handler -cpuprofile cpu.out ./internal/app
func BenchmarkHandler(b *testing.B) {
	for _, body := range []string{"Action=GetCallerIdentity&Version=2011-06-15", "Action=GetSessionToken&Version=2011-06-15&DurationSeconds=900",
		// make bench's AssumeRole: a 10-statement trust policy, two tags.
		"Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2FBench&RoleSessionName=bench-1" +
			"&Tags.member.1.Key=project&Tags.member.1.Value=bench&Tags.member.2.Key=team&Tags.member.2.Value=perf&DurationSeconds=900"} {
		b.Run(body[7:strings.IndexByte(body, '&')], func(b *testing.B) {
			a, _ := benchApp(b)
			defer a.Close()
			req, _ := http.NewRequest("POST", "http://127.0.0.1:8080/", bytes.NewReader([]byte(body)))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			sum := sha256.Sum256([]byte(body))
			if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE",
				SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}, req, hex.EncodeToString(sum[:]), "sts", "us-east-1", time.Now()); err != nil {
				b.Fatal(err)
			}
			var wire bytes.Buffer
			if err := req.Write(&wire); err != nil {
				b.Fatal(err)
			}
			req, err := http.ReadRequest(bufio.NewReader(&wire))
			if err != nil {
				b.Fatal(err)
			}
			h := a.Handler()
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r := req.Clone(context.Background())
					r.Body = io.NopCloser(bytes.NewReader([]byte(body)))
					r.RemoteAddr = "127.0.0.1:40000" // the trust policy allows loopback only
					w := httptest.NewRecorder()
					h.ServeHTTP(w, r)
					if w.Code != 200 {
						b.Fatalf("status %d: %s", w.Code, w.Body)
					}
				}
			})
		})
	}
}

// benchApp serves make bench's configuration, copied next to the metadata
// of a SAML IdP made for the run (the file names it), with the embedded
// store or the memory store.
func benchApp(b *testing.B) (*app.App, *samlxmltest.IdP) {
	return benchAppAt(b, "127.0.0.1:8080")
}

// benchAppAt is benchApp with keyless's own address (the issuer's, which
// the bench's integration targets) at addr.
func benchAppAt(b *testing.B, addr string) (*app.App, *samlxmltest.IdP) {
	cfg, idp := benchConfig(b, b.TempDir(), addr)
	store, err := openStore(b)
	if err != nil {
		b.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, app.Deps{KeyEncryption: testKEK(b), Store: store, Clock: clock.System{}, Random: rand.Reader,
		Logger: slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		b.Fatal(err)
	}
	return a, idp
}

// benchConfig loads make bench's configuration in dir, next to the
// metadata of a SAML IdP made for the run (the file names it), with
// keyless's own address (the issuer's, which the bench's integration
// targets) at addr and no admin listener.
func benchConfig(b *testing.B, dir, addr string) (*config.Config, *samlxmltest.IdP) {
	idp := samlxmltest.NewIdP("http://bench-idp.keyless.test/saml")
	raw, err := os.ReadFile("../../bench/keyless.yaml")
	if err != nil {
		b.Fatal(err)
	}
	text := []byte(strings.ReplaceAll(strings.ReplaceAll(string(raw), "ADMIN", "127.0.0.1:0"), "ADDR", addr))
	for name, data := range map[string][]byte{"keyless.yaml": text, "saml-idp-metadata.xml": idp.Metadata()} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	cfg, err := config.Load(filepath.Join(dir, "keyless.yaml"), func(string) (string, bool) { return "", false })
	if err != nil {
		b.Fatal(err)
	}
	cfg.Addr = addr
	if err := cfg.ResolvePublicURL(addr); err != nil {
		b.Fatal(err)
	}
	return cfg, idp
}

// BenchmarkHandlerSAML is make bench's AssumeRoleWithSAML in process: a
// Response signed with RSA-2048 and SHA-256, each with its own assertion
// ID, signed before the timer starts.
func BenchmarkHandlerSAML(b *testing.B) {
	a, idp := benchApp(b)
	defer a.Close()
	const recipient = "http://bench.keyless.test/saml"
	bodies := make([]string, b.N)
	for i := range bodies {
		xml := idp.Sign(samlxmltest.Response{Now: time.Now(), Destination: recipient, Recipient: recipient, Attributes: []samlxmltest.Attribute{
			{Name: samlxmltest.AttrRole, Values: []string{"arn:aws:iam::111122223333:role/BenchSAML,arn:aws:iam::111122223333:saml-provider/bench-idp"}},
			{Name: "https://aws.amazon.com/SAML/Attributes/RoleSessionName", Values: []string{"bench-saml"}}}})
		bodies[i] = "Action=AssumeRoleWithSAML&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2FBenchSAML" +
			"&PrincipalArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Asaml-provider%2Fbench-idp&SAMLAssertion=" + url.QueryEscape(samlxmltest.Encode(xml))
	}
	h := a.Handler()
	var next atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := bodies[next.Add(1)-1]
			r := httptest.NewRequest("POST", "http://127.0.0.1:8080/", strings.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != 200 {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	})
}

func openStore(b *testing.B) (storage.Store, error) {
	if os.Getenv("BENCH_MEMORY") != "" {
		return memory.New(), nil
	}
	return embedded.Open(context.Background(), b.TempDir(), embedded.Options{})
}

// testKEK is the key-encryption key source of every app in these tests:
// one random key for the whole run, so that an app built again on the
// same store opens its keys.
func testKEK(testing.TB) func(*config.Config) (*kek.Set, error) {
	return func(*config.Config) (*kek.Set, error) { return testKEKSet, nil }
}

var testKEKSet = func() *kek.Set {
	s, err := kek.Ephemeral(rand.Reader)
	if err != nil {
		panic(err)
	}
	return s
}()

// BenchmarkHandlerIssuer is make bench's issuer workloads in process:
// GetWebIdentityToken (RS256, ES384) and an integration's cached credential
// hand-out, with keyless served on a loopback listener so that the
// integration, whose target is keyless itself, fills its cache first.
// For profiling: go test -run '^$' -bench HandlerIssuer -cpuprofile cpu.out ./internal/app
func BenchmarkHandlerIssuer(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	a, _ := benchAppAt(b, ln.Addr().String())
	defer a.Close()
	srv := &http.Server{Handler: a.Handler()}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	signedReq := func(method, path, body, service string) *http.Request {
		req, _ := http.NewRequest(method, "http://"+ln.Addr().String()+path, bytes.NewReader([]byte(body)))
		if body != "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		sum := sha256.Sum256([]byte(body))
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE",
			SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}, req, hex.EncodeToString(sum[:]), service, "us-east-1", time.Now()); err != nil {
			b.Fatal(err)
		}
		// As the server reads it: the wire form, parsed.
		var wire bytes.Buffer
		if err := req.Write(&wire); err != nil {
			b.Fatal(err)
		}
		parsed, err := http.ReadRequest(bufio.NewReader(&wire))
		if err != nil {
			b.Fatal(err)
		}
		return parsed
	}
	for _, c := range []struct{ name, method, path, body, service string }{
		{"GetWebIdentityTokenRS256", "POST", "/", "Action=GetWebIdentityToken&Version=2011-06-15&Audience.member.1=bench&SigningAlgorithm=RS256", "sts"},
		{"GetWebIdentityTokenES384", "POST", "/", "Action=GetWebIdentityToken&Version=2011-06-15&Audience.member.1=bench&SigningAlgorithm=ES384", "sts"},
		{"GetIntegrationCredentials", "GET", "/v1/integrations/bench/self/credentials", "", "keyless"},
		{"GetCallerIdentity", "POST", "/", "Action=GetCallerIdentity&Version=2011-06-15", "sts"},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := signedReq(c.method, c.path, c.body, c.service)
			h := a.Handler()
			serve := func() {
				r := req.Clone(context.Background())
				r.Body = io.NopCloser(bytes.NewReader([]byte(c.body)))
				r.RemoteAddr = "127.0.0.1:40000"
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != 200 {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
			serve() // the integration's cache is filled
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					serve()
				}
			})
		})
	}
}
