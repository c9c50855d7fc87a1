package app_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/keyless-dev/keyless/internal/app"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/storage/auditfile"
	"github.com/keyless-dev/keyless/internal/storage/embedded"
)

// BenchmarkAuditSize measures what the audit trail costs on disk: b.N
// requests through the whole app with the embedded store, then the audit
// directory's bytes per event as written, and gzipped as closed segments
// are (docs/operations.md's disk budget), and the CPU that compressing
// and checking a closed segment costs per event:
//
//	go test -run '^$' -bench AuditSize -benchtime 10000x ./internal/app
func BenchmarkAuditSize(b *testing.B) {
	for name, body := range map[string]string{
		"GetSessionToken": "Action=GetSessionToken&Version=2011-06-15&DurationSeconds=900",
		"AssumeRole": "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A111122223333%3Arole%2FBench&RoleSessionName=bench-1" +
			"&Tags.member.1.Key=project&Tags.member.1.Value=bench&Tags.member.2.Key=team&Tags.member.2.Value=perf&DurationSeconds=900",
	} {
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			cfg, _ := benchConfig(b, dir, "127.0.0.1:8080")
			data := filepath.Join(dir, "data")
			store, err := embedded.Open(context.Background(), data, embedded.Options{})
			if err != nil {
				b.Fatal(err)
			}
			a, err := app.New(context.Background(), cfg, app.Deps{KeyEncryption: testKEK(b), Store: store, Clock: clock.System{}, Random: rand.Reader,
				Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			h := a.Handler()
			b.ResetTimer()
			for range b.N {
				req, _ := http.NewRequest("POST", "http://127.0.0.1:8080/", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("User-Agent", "aws-sdk-go-v2/1.36.3 os/linux lang/go#1.26 md/GOOS#linux md/GOARCH#amd64 api/sts#1.33.19")
				sum := sha256.Sum256([]byte(body))
				if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIAIOSFODNN7EXAMPLE",
					SecretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}, req, hex.EncodeToString(sum[:]), "sts", "us-east-1", time.Now()); err != nil {
					b.Fatal(err)
				}
				var wire bytes.Buffer
				if err := req.Write(&wire); err != nil {
					b.Fatal(err)
				}
				req, err := http.ReadRequest(bufio.NewReader(&wire)) // as a server receives it
				if err != nil {
					b.Fatal(err)
				}
				req.RemoteAddr = "127.0.0.1:40000" // the trust policy allows loopback only
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
			b.StopTimer()
			a.Close()
			var raw bytes.Buffer
			segments, _ := filepath.Glob(filepath.Join(data, embedded.AuditDir, "audit-*.log"))
			for _, f := range segments {
				content, err := os.ReadFile(f)
				if err != nil {
					b.Fatal(err)
				}
				raw.Write(content)
			}
			events := bytes.Count(raw.Bytes(), []byte("\n"))
			// What closing a segment costs in CPU, one core: compression
			// at the level closed segments get, and the read-back check
			// (auditfile's compress: decompressed, length and CRC-32).
			start := time.Now()
			var gz bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&gz, auditfile.Level)
			if _, err := io.Copy(zw, bytes.NewReader(raw.Bytes())); err != nil {
				b.Fatal(err)
			}
			zw.Close()
			zr, err := gzip.NewReader(bytes.NewReader(gz.Bytes()))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, zr); err != nil {
				b.Fatal(err)
			}
			took := time.Since(start)
			b.ReportMetric(float64(raw.Len())/float64(events), "B/event")
			b.ReportMetric(float64(gz.Len())/float64(events), "gzB/event")
			b.ReportMetric(float64(took.Nanoseconds())/float64(events), "gz-ns/event")
		})
	}
}
