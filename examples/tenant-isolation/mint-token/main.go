// Command mint-token is the demo identity provider of
// examples/tenant-isolation: it signs an OpenID Connect ID token for a
// worker of one tenant with the demo private key, as a real IdP would sign
// the tokens of its users. The token carries the tenant as an AWS session
// tag (the https://aws.amazon.com/tags claim), which keyless turns into the
// session's principal tag TenantID.
//
//	go run ./examples/tenant-isolation/mint-token -tenant A          # a token for tenant A
//	go run ./examples/tenant-isolation/mint-token -jwks              # the public key set
//
// The key is demo-idp-key.pem, published with keyless: DEMO ONLY. To use
// the pattern for real, have your IdP add the claim and put its issuer and
// keys in keyless.yaml.
package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"log"
	"math/big"
	"os"
	"time"
)

// The demo IdP, as examples/tenant-isolation/keyless.yaml registers it.
const (
	issuer   = "https://demo-idp.example"
	audience = "tenant-workers"
	keyID    = "tenant-demo-1"
)

func main() {
	keyFile := flag.String("key", "examples/tenant-isolation/demo-idp-key.pem", "the IdP's private key (PEM, PKCS #8 RSA)")
	tenant := flag.String("tenant", "", "the tenant id, set as the session tag TenantID")
	worker := flag.String("worker", "worker-1", "the worker's name within its tenant")
	ttl := flag.Duration("ttl", 15*time.Minute, "how long the token is valid")
	printKeySet := flag.Bool("jwks", false, "print the public key set (demo-idp-jwks.json) instead of a token")
	flag.Parse()
	key, err := readKey(*keyFile)
	if err != nil {
		log.Fatal(err)
	}
	if *printKeySet {
		b, _ := json.MarshalIndent(jwks(&key.PublicKey), "", "  ")
		fmt.Println(string(b))
		return
	}
	if *tenant == "" {
		log.Fatal("give -tenant")
	}
	now := time.Now()
	claims := map[string]any{
		"iss": issuer,
		"aud": audience,
		"sub": "tenant-" + *tenant + "/" + *worker,
		"iat": now.Unix(),
		"exp": now.Add(*ttl).Unix(),
		// AWS's session tags claim (IAM User Guide, "Passing session tags
		// using AssumeRoleWithWebIdentity"): each value is a list of one
		// string. TenantID is transitive: it stays on sessions chained
		// from this one.
		"https://aws.amazon.com/tags": map[string]any{
			"principal_tags":      map[string][]string{"TenantID": {*tenant}},
			"transitive_tag_keys": []string{"TenantID"},
		},
	}
	token, err := sign(key, keyID, claims)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(token)
}

func readKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b) // the text before the block is skipped
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s: no PEM PRIVATE KEY block", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an RSA key", path)
	}
	return rk, nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// sign makes a compact RS256 JWS of the claims.
func sign(key *rsa.PrivateKey, kid string, claims map[string]any) (string, error) {
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": kid, "typ": "JWT"})
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := b64(header) + "." + b64(payload)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return input + "." + b64(sig), nil
}

// jwks is the key set publishing the public key.
func jwks(pub *rsa.PublicKey) map[string]any {
	return map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": keyID,
		"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes()),
	}}}
}
