// Command tenant-files is the resource server of examples/tenant-isolation:
// a file server holding every tenant's files in one bucket, which asks
// keyless's authorization API (POST /v1/authorize) about each request.
// Clients sign their requests with AWS SigV4 for service "files", with the
// temporary credentials of their TenantWorker session; GET /BUCKET/KEY is
// s3:GetObject on arn:aws:s3:::BUCKET/KEY, so the role's policy
//
//	arn:aws:s3:::bucket/${aws:PrincipalTag/TenantID}/*
//
// lets each session read its own tenant's folder and nothing else.
//
//	KEYLESS_AUTHZ_ACCESS_KEY_ID=AKIATENANTFILES00001 \
//	KEYLESS_AUTHZ_SECRET_ACCESS_KEY=tenantFilesDemoSecretNotForProduction1 \
//	go run ./examples/tenant-isolation/tenant-files -keyless http://127.0.0.1:8081 -addr 127.0.0.1:9090
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/keyless-dev/keyless/authz"
)

// files is the shared bucket: one folder per tenant.
var files = map[string]string{
	"bucket/A/report.txt": "tenant A's report\n",
	"bucket/B/report.txt": "tenant B's report\n",
}

func main() {
	endpoint := flag.String("keyless", "http://127.0.0.1:8081", "keyless base URL (the example serves it on 8081)")
	addr := flag.String("addr", "127.0.0.1:9090", "listen address")
	flag.Parse()
	client := &authz.Client{
		Endpoint:        *endpoint,
		AccessKeyID:     os.Getenv("KEYLESS_AUTHZ_ACCESS_KEY_ID"),
		SecretAccessKey: os.Getenv("KEYLESS_AUTHZ_SECRET_ACCESS_KEY"),
	}
	if client.AccessKeyID == "" || client.SecretAccessKey == "" {
		log.Fatal("set KEYLESS_AUTHZ_ACCESS_KEY_ID and KEYLESS_AUTHZ_SECRET_ACCESS_KEY to the service's keyless credentials")
	}
	serve := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := authz.PrincipalFrom(r.Context())
		content, ok := files[strings.TrimPrefix(r.URL.Path, "/")]
		if !ok {
			// Only after authorization: a tenant learns nothing of the
			// others' keys.
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>")
			return
		}
		w.Header().Set("X-Principal-Arn", p.ARN)
		fmt.Fprint(w, content)
	})
	srv := &http.Server{Handler: client.Middleware("files", getObject, serve), ReadHeaderTimeout: 10 * time.Second}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("listening on %s", ln.Addr())
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = srv.Shutdown(context.Background())
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// getObject maps GET /BUCKET/KEY to s3:GetObject on the object's ARN.
func getObject(r *http.Request) (authz.Question, bool) {
	key := strings.TrimPrefix(r.URL.Path, "/")
	if r.Method != http.MethodGet || !strings.Contains(key, "/") {
		return authz.Question{}, false
	}
	return authz.Question{Action: "s3:GetObject", Resource: "arn:aws:s3:::" + key}, true
}
