package main

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The hand-rolled signature of the ExchangeAWS envelopes is the one the
// AWS SDK computes for the same request.
func TestEnvelopeSignatureMatchesSDK(t *testing.T) {
	at := time.Date(2026, 11, 23, 10, 4, 5, 0, time.UTC)
	var env struct {
		URL     string `json:"url"`
		Method  string `json:"method"`
		Headers []struct{ Key, Value string }
		Body    *string `json:"body"`
	}
	if err := json.Unmarshal([]byte(envelope("AKIABENCH00000000001", "bench-secret", at)), &env); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, h := range env.Headers {
		got[h.Key] = h.Value
	}
	req, err := http.NewRequest(env.Method, env.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Keyless-Audience", exchangeAudience)
	err = v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIABENCH00000000001", SecretAccessKey: "bench-secret"},
		req, emptySHA256, "sts", signingRegion, at)
	if err != nil {
		t.Fatal(err)
	}
	if want := req.Header.Get("Authorization"); got["Authorization"] != want {
		t.Errorf("Authorization\n got %s\nwant %s", got["Authorization"], want)
	}
	if got["X-Amz-Date"] != req.Header.Get("X-Amz-Date") || got["Host"] != req.Host || env.Body == nil || *env.Body != "" ||
		env.URL != "http://"+upstreamAddr+"/?"+gciQuery {
		t.Errorf("envelope %+v", env)
	}
}

// The JSON escaping of a proof inside the outer request.
func TestJSONEscape(t *testing.T) {
	in := `{"a":"b\c"}`
	var out string
	if err := json.Unmarshal([]byte(`"`+jsonEscape(in)+`"`), &out); err != nil || out != in {
		t.Fatalf("%q, %v", out, err)
	}
}

// The client's cost of one ExchangeAWS request (reported, not asserted).
func BenchmarkAWSProof(b *testing.B) {
	a := newAWSProofs("127.0.0.1:8080")
	for b.Loop() {
		a.next()
	}
}
