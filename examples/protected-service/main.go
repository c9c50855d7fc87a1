// Command protected-service is a tiny file server that keyless protects:
// clients sign their requests with AWS SigV4 (service "files"), and every
// request is decided by keyless's authorization API before it is served.
// Paths map to IAM actions and S3-style resources:
//
//	GET /BUCKET/KEY  ->  s3:GetObject on arn:aws:s3:::BUCKET/KEY
//
// so that a policy such as
//
//	{"Effect": "Allow", "Action": "s3:GetObject",
//	 "Resource": "arn:aws:s3:::demo-bucket/${aws:PrincipalTag/team}/*"}
//
// isolates tenants by their principal tag. Run keyless with
// examples/quickstart.yaml, then:
//
//	KEYLESS_AUTHZ_ACCESS_KEY_ID=AKIAFILESSERVICE0001 \
//	KEYLESS_AUTHZ_SECRET_ACCESS_KEY=filesServiceSecretFromTheQuickstart00001 \
//	go run ./examples/protected-service -keyless http://127.0.0.1:8080 -addr 127.0.0.1:9090
//
// and sign a request as alice (team=platform), for example with
// `curl --aws-sigv4 "aws:amz:us-east-1:files" --user AKIA…:secret http://127.0.0.1:9090/demo-bucket/platform/report.txt`.
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

// files is the service's content.
var files = map[string]string{
	"demo-bucket/platform/report.txt": "platform team report\n",
	"demo-bucket/finance/budget.txt":  "finance team budget\n",
}

func main() {
	endpoint := flag.String("keyless", "http://127.0.0.1:8080", "keyless base URL")
	addr := flag.String("addr", "127.0.0.1:9090", "listen address")
	flag.Parse()
	client := &authz.Client{
		Endpoint:        *endpoint,
		AccessKeyID:     os.Getenv("KEYLESS_AUTHZ_ACCESS_KEY_ID"),
		SecretAccessKey: os.Getenv("KEYLESS_AUTHZ_SECRET_ACCESS_KEY"),
		SessionToken:    os.Getenv("KEYLESS_AUTHZ_SESSION_TOKEN"),
	}
	if client.AccessKeyID == "" || client.SecretAccessKey == "" {
		log.Fatal("set KEYLESS_AUTHZ_ACCESS_KEY_ID and KEYLESS_AUTHZ_SECRET_ACCESS_KEY to the service's keyless credentials")
	}
	serve := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := authz.PrincipalFrom(r.Context())
		content, ok := files[strings.TrimPrefix(r.URL.Path, "/")]
		if !ok {
			http.NotFound(w, r) // only after authorization: no existence oracle
			return
		}
		w.Header().Set("X-Principal-Arn", p.ARN)
		fmt.Fprint(w, content)
	})
	srv := &http.Server{Handler: client.Middleware("files", mapRequest, serve), ReadHeaderTimeout: 10 * time.Second}
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

// mapRequest maps GET /BUCKET/KEY to s3:GetObject on the object's ARN.
func mapRequest(r *http.Request) (authz.Question, bool) {
	key := strings.TrimPrefix(r.URL.Path, "/")
	if r.Method != http.MethodGet || !strings.Contains(key, "/") {
		return authz.Question{}, false
	}
	return authz.Question{Action: "s3:GetObject", Resource: "arn:aws:s3:::" + key}, true
}
