package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/samlxml/samlxmltest"
)

// The SAML provider bench/keyless.yaml declares: its metadata is written
// next to the configuration keyless reads (samlIDPMetadata), and the
// sign-in URL its assertions are addressed to is under saml.base_url.
const (
	samlIDPEntity   = "http://bench-idp.keyless.test/saml"
	samlIDPMetadata = "saml-idp-metadata.xml"
	samlRecipient   = "http://bench.keyless.test/saml"
	samlRole        = "arn:aws:iam::111122223333:role/BenchSAML"
	samlProvider    = "arn:aws:iam::111122223333:saml-provider/bench-idp"
)

// samlIDP is the IdP of the AssumeRoleWithSAML workload: an RSA-2048 key
// made for this run, whose metadata keyless loads at start.
type samlIDP struct {
	idp    *samlxmltest.IdP
	prefix string
}

// newSAMLIDP makes the IdP and writes its metadata into dir.
func newSAMLIDP(dir string) (*samlIDP, error) {
	p := &samlIDP{idp: samlxmltest.NewIdP(samlIDPEntity)}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	p.prefix = "_bench" + hex.EncodeToString(b)
	return p, os.WriteFile(filepath.Join(dir, samlIDPMetadata), p.idp.Metadata(), 0o600)
}

// response is a signed Response for the BenchSAML role (assertion signed,
// RSA-SHA256, as AD FS and Okta send by default), with its own assertion
// ID: keyless accepts each once. extra attributes make it larger.
func (p *samlIDP) response(id uint64, extra []samlxmltest.Attribute) string {
	attrs := append([]samlxmltest.Attribute{
		{Name: samlxmltest.AttrRole, Values: []string{samlRole + "," + samlProvider}},
		{Name: "https://aws.amazon.com/SAML/Attributes/RoleSessionName", Values: []string{"bench-saml"}},
	}, extra...)
	xml := p.idp.Sign(samlxmltest.Response{Now: time.Now(), AssertionID: fmt.Sprintf("%s-%d", p.prefix, id),
		Destination: samlRecipient, Recipient: samlRecipient, Attributes: attrs})
	return samlxmltest.Encode(xml)
}

func samlBody(assertion string) string {
	return "Action=AssumeRoleWithSAML&Version=2011-06-15&RoleArn=" + url.QueryEscape(samlRole) +
		"&PrincipalArn=" + url.QueryEscape(samlProvider) + "&DurationSeconds=900&SAMLAssertion=" + url.QueryEscape(assertion)
}

// largeResponse is a signed Response of close to 100,000 base64 characters
// (AWS's limit on SAMLAssertion): seven 10 KB attributes.
func (p *samlIDP) largeResponse() string {
	var extra []samlxmltest.Attribute
	for i := range 7 {
		extra = append(extra, samlxmltest.Attribute{Name: fmt.Sprintf("urn:bench:padding:%d", i), Values: []string{strings.Repeat("x", 10_000)}})
	}
	return p.response(0, extra)
}

// samlFlood sends the same 100 KB signed Response, which keyless verifies in
// full each time and then refuses as a replay, flat out over 64
// connections for d, sampling keyless's RSS every second: memory must stay
// bounded (issue 6).
func samlFlood(kl *proc, p *samlIDP, d time.Duration) error {
	assertion := p.largeResponse()
	w := workload{name: "AssumeRoleWithSAML flood", addr: kl.addr, req: unsigned(kl.addr, samlBody(assertion)), pid: kl.cmd.Process.Pid}
	before := rss(kl.cmd.Process.Pid)
	var samples []int
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				samples = append(samples, rss(kl.cmd.Process.Pid))
			}
		}
	}()
	s, err := closedLoop(w, 64, 0, d)
	close(done)
	if err != nil {
		return err
	}
	peak := before
	for _, x := range samples {
		peak = max(peak, x)
	}
	after := rss(kl.cmd.Process.Pid)
	fmt.Printf("memory: AssumeRoleWithSAML flood of one %d-character signed Response (verified in full, then refused as a replay),\n"+
		"64 connections for %v: %d requests (%.0f req/s, %d accepted); RSS %.1f MiB before, max %.1f MiB, %.1f MiB after\n\n",
		len(assertion), d, s.n, s.rps(), s.n-s.errors, float64(before)/1024, float64(peak)/1024, float64(after)/1024)
	return nil
}
