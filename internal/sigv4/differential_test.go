package sigv4_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/keyless-dev/keyless/internal/sigv4"
)

// genRequest builds a random request of the kind SDKs send: random path
// segments, query parameters, extra headers (some repeated, some with runs of
// spaces) and body.
func genRequest(r *rand.Rand) (*http.Request, []byte) {
	const alphabet = "abcXYZ019-_.~ !$&'()*+,;=:@/?%é中\t"
	word := func(n int) string {
		var b strings.Builder
		for range r.IntN(n) + 1 {
			rs := []rune(alphabet)
			b.WriteRune(rs[r.IntN(len(rs))])
		}
		return b.String()
	}
	segs := []string{""}
	for range r.IntN(3) {
		// path segments are escaped the way a URL builder does
		segs = append(segs, url.PathEscape(strings.Trim(word(6), "./")+"s"))
	}
	path := strings.Join(segs, "/")
	if path == "" || r.IntN(3) == 0 {
		path += "/"
	}
	q := url.Values{}
	for range r.IntN(5) {
		k := word(8)
		if sigv4.IsAuthParam(k) {
			continue
		}
		for range r.IntN(2) + 1 {
			q.Add(k, word(10))
		}
	}
	method := "POST"
	var body []byte
	if r.IntN(4) == 0 {
		method = "GET"
	} else {
		form := url.Values{"Action": {"GetCallerIdentity"}, "Version": {"2011-06-15"}}
		for range r.IntN(4) {
			form.Add(strings.ToUpper(word(1))+fmt.Sprint(r.IntN(99)), word(30))
		}
		body = []byte(form.Encode())
	}
	u := "http://127.0.0.1:8080" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		panic(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	}
	for range r.IntN(4) {
		name := "X-Test-" + fmt.Sprint(r.IntN(1000))
		for range r.IntN(2) + 1 {
			v := strings.Map(func(c rune) rune {
				if c < 0x20 || c == 0x7f {
					return -1
				}
				return c
			}, "  "+word(12)+"   "+word(4)+" ")
			req.Header.Add(name, v)
		}
	}
	if r.IntN(2) == 0 {
		req.Header.Set("X-Amz-Security-Token", "FQoGZXIvYXdzE"+word(40))
	}
	return req, body
}

// roundTrip serialises the signed request and reads it back the way the
// server does.
func roundTrip(t *testing.T, req *http.Request) (*sigv4.Request, []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := req.Write(&buf); err != nil {
		t.Fatal(err)
	}
	hr, err := http.ReadRequest(bufio.NewReader(&buf))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(hr.Body)
	return toRequest(t, hr, body), body
}

// TestDifferentialAgainstSDKSigner signs thousands of generated requests
// with aws-sdk-go-v2's signer (header and presigned forms) and checks that
// the verifier accepts each one and refuses it after any single mutation.
func TestDifferentialAgainstSDKSigner(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 300
	}
	signer := v4.NewSigner()
	v := sigv4.NewVerifier(64)
	r := rand.New(rand.NewPCG(1, 2))
	regions := []string{"us-east-1", "eu-west-3", "local"}
	forms := map[bool]int{}
	defer func() {
		if forms[true] < n/20 || forms[false] < n/2 {
			t.Errorf("generator coverage too low: %v", forms)
		}
	}()
	for i := range n {
		req, body := genRequest(r)
		creds := aws.Credentials{AccessKeyID: fmt.Sprintf("AKIA%016d", i), SecretAccessKey: fmt.Sprintf("secret/%d+%s", i, strings.Repeat("k", i%40))}
		region := regions[i%len(regions)]
		at := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
		sum := sha256.Sum256(body)
		payload := hex.EncodeToString(sum[:])
		presign := req.Method == "GET" && i%2 == 0
		if presign {
			u, hdr, err := signer.PresignHTTP(context.Background(), creds, req, payload, "sts", region, at)
			if err != nil {
				t.Fatal(err)
			}
			req, _ = http.NewRequest("GET", u, nil)
			for k, vs := range hdr {
				if k != "Host" {
					req.Header[k] = vs
				}
			}
		} else if err := signer.SignHTTP(context.Background(), creds, req, payload, "sts", region, at); err != nil {
			t.Fatal(err)
		}
		sreq, wireBody := roundTrip(t, req)
		if !bytes.Equal(wireBody, body) {
			t.Fatalf("body changed in transit")
		}
		s, err := sigv4.Parse(sreq, "sts", anyRegion, at.Add(time.Minute))
		if err != nil {
			t.Fatalf("case %d (%s %s): Parse: %v", i, req.Method, req.URL, err)
		}
		forms[presign]++
		if s.Presigned != presign || s.AccessKeyID != creds.AccessKeyID || s.Scope.Region != region {
			t.Fatalf("case %d: parsed %+v", i, s)
		}
		if err := v.Verify(s, creds.SecretAccessKey); err != nil {
			t.Fatalf("case %d (%s %s): Verify: %v", i, req.Method, req.URL, err)
		}
		// One mutation per case, rotating through the kinds.
		mut := *sreq
		mut.Header = sreq.Header.Clone()
		mut.Query = url.Values{}
		for k, vs := range sreq.Query {
			mut.Query[k] = append([]string(nil), vs...)
		}
		switch i % 5 {
		case 0:
			mut.BodySHA256[i%32] ^= 1
		case 1:
			mut.Host = "127.0.0.1:8081"
		case 2:
			mut.Query.Add("Injected", "1")
		case 3:
			mut.EscapedURI = strings.TrimSuffix(sreq.EscapedURI, "/") + "/x"
		case 4:
			mut.Method = map[string]string{"GET": "POST", "POST": "GET"}[sreq.Method]
		}
		ms, err := sigv4.Parse(&mut, "sts", anyRegion, at.Add(time.Minute))
		if err != nil {
			if i%5 == 0 && failure(err) == sigv4.Mismatch {
				continue // declared payload hash no longer matches
			}
			t.Fatalf("case %d mutation %d: Parse: %v", i, i%5, err)
		}
		if err := v.Verify(ms, creds.SecretAccessKey); failure(err) != sigv4.Mismatch {
			t.Fatalf("case %d mutation %d accepted (%v)", i, i%5, err)
		}
	}
}

// TestSign: keyless's own signer (used by the authorization API client)
// produces what aws-sdk-go-v2 produces for the calls it makes, and every
// generated request it signs verifies.
func TestSign(t *testing.T) {
	at := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	for i, token := range []string{"", "session-token/with+odd=chars"} {
		body := []byte(`{"service":"files","action":"s3:GetObject"}`)
		sum := sha256.Sum256(body)
		req, _ := http.NewRequest("POST", "http://127.0.0.1:8080/v1/authorize", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		ours := toRequest(t, req, body)
		ours.Header = req.Header.Clone()
		sigv4.Sign(ours, "AKIAKEYLESSSIGNER001", "secret", token, "us-east-1", "keyless", at)
		req.ContentLength = 0 // the SDK signs content-length when it is set; the client does not send it signed
		if err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIAKEYLESSSIGNER001", SecretAccessKey: "secret", SessionToken: token},
			req, hex.EncodeToString(sum[:]), "keyless", "us-east-1", at); err != nil {
			t.Fatal(err)
		}
		if got, want := ours.Header.Get("Authorization"), req.Header.Get("Authorization"); got != want {
			t.Errorf("case %d:\n ours %s\n sdk  %s", i, got, want)
		}
	}
	v := sigv4.NewVerifier(8)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 300 {
		req, _ := genRequest(r)
		signed, _ := roundTrip(t, req)
		secret := fmt.Sprint("secret-", i)
		sigv4.Sign(signed, "AKIAKEYLESSSIGNER001", secret, fmt.Sprint("token-", i), "eu-west-1", "keyless", at)
		s, err := sigv4.Parse(signed, "keyless", anyRegion, at)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if err := v.Verify(s, secret); err != nil {
			t.Fatalf("case %d (%s %s): %v", i, req.Method, req.URL, err)
		}
	}
}
