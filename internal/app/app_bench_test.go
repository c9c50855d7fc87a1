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
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/keyless-dev/keyless/internal/app"
	"github.com/keyless-dev/keyless/internal/clock"
	"github.com/keyless-dev/keyless/internal/config"
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
			cfg, err := config.Load("../../bench/keyless.yaml", func(string) (string, bool) { return "", false })
			if err != nil {
				b.Fatal(err)
			}
			store, err := openStore(b)
			if err != nil {
				b.Fatal(err)
			}
			a, err := app.New(context.Background(), cfg, app.Deps{Store: store, Clock: clock.System{}, Random: rand.Reader,
				Logger: slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))})
			if err != nil {
				b.Fatal(err)
			}
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
			req, err = http.ReadRequest(bufio.NewReader(&wire))
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

func openStore(b *testing.B) (storage.Store, error) {
	if os.Getenv("BENCH_MEMORY") != "" {
		return memory.New(), nil
	}
	return embedded.Open(context.Background(), b.TempDir())
}
