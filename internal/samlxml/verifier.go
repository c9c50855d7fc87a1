package samlxml

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"runtime"
	"time"

	"github.com/beevik/etree"
	validator "github.com/mattermost/xml-roundtrip-validator"

	"github.com/keyless-dev/keyless/internal/saml"
)

// Options bound what a Response may contain. Zero means the default.
type Options struct {
	// MaxDepth is the deepest element nesting accepted (default 32; a
	// Response is about 8 deep).
	MaxDepth int
	// MaxTokens bounds the XML tokens of one document (default 20000).
	MaxTokens int
	// MaxAttrsPerElement bounds the attributes of one element, namespace
	// declarations included (default 64).
	MaxAttrsPerElement int
	// MaxConcurrent bounds the documents parsed at once (default twice
	// GOMAXPROCS): parsing is CPU-bound, so more in flight adds no
	// throughput, only memory (a 100,000-character Response takes a few
	// MB to verify). Callers beyond it wait.
	MaxConcurrent int
}

// Verifier verifies SAML Responses; it implements saml.Verifier. It holds
// no state but its limits and is safe for concurrent use.
type Verifier struct {
	limits limits
	slots  chan struct{}
}

var _ saml.Verifier = (*Verifier)(nil)

// New returns a Verifier with the given limits.
func New(o Options) *Verifier {
	l := limits{maxDepth: o.MaxDepth, maxTokens: o.MaxTokens, maxAttrs: o.MaxAttrsPerElement, maxValue: maxValueBytes,
		maxElements: defaultMaxElements, maxPrefixes: defaultMaxPrefixes}
	if l.maxDepth <= 0 {
		l.maxDepth = defaultMaxDepth
	}
	if l.maxTokens <= 0 {
		l.maxTokens = defaultMaxTokens
	}
	if l.maxAttrs <= 0 {
		l.maxAttrs = defaultMaxAttrsPerElem
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = 2 * runtime.GOMAXPROCS(0)
	}
	return &Verifier{limits: l, slots: make(chan struct{}, o.MaxConcurrent)}
}

// ErrBusy is returned when no parsing slot came free within MaxWait or
// before the request's context ended.
var ErrBusy = errors.New("samlxml: every parsing slot is busy")

// maxWait bounds the wait for a parsing slot: a Response takes about a
// millisecond, so a longer wait means the slots are flooded, and the
// caller is better answered 503 than kept waiting.
const maxWait = 2 * time.Second

// acquire takes one of the parsing slots; release gives it back.
func (v *Verifier) acquire(ctx context.Context) (release func(), err error) {
	select {
	case v.slots <- struct{}{}:
		return func() { <-v.slots }, nil
	default:
	}
	t := time.NewTimer(maxWait)
	defer t.Stop()
	select {
	case v.slots <- struct{}{}:
		return func() { <-v.slots }, nil
	case <-ctx.Done():
		return nil, ErrBusy
	case <-t.C:
		return nil, ErrBusy
	}
}

// structure decodes, bounds and parses a Response and applies the shape
// rules (pipeline steps 1 to 5 of the package documentation).
func (v *Verifier) structure(encoded string) (*shape, *saml.Error) {
	raw, reason := decode(encoded)
	if reason != "" {
		return nil, saml.Refuse(reason)
	}
	if reason = prescan(raw, v.limits); reason != "" {
		return nil, saml.Refuse(reason)
	}
	if reason = roundTrip(raw); reason != "" {
		return nil, saml.Refuse(reason)
	}
	root, reason := parseTree(raw, v.limits)
	if reason != "" {
		return nil, saml.Refuse(reason)
	}
	s, reason := checkShape(root)
	if reason != "" {
		return nil, saml.Refuse(reason)
	}
	return s, nil
}

// roundTrip refuses documents whose tokens do not survive an
// encoding/xml encode and decode unchanged (security.md V-33: Go issue
// 43168, CVE-2020-29509/29510/29511).
func roundTrip(raw []byte) string {
	if errs := validator.ValidateAll(bytes.NewReader(raw)); len(errs) != 0 {
		return "xml_roundtrip"
	}
	return ""
}

// Issuer returns the Issuer of the one Assertion in a Response, for
// choosing which configured SAML provider's certificates to verify it
// with.
//
// THE RESULT IS UNVERIFIED AND MUST NEVER BE TRUSTED: anyone can write any
// Issuer. It is a hint for picking keys; Verify with those keys, then
// saml.Check against the provider's entity ID, decide. The document gets
// every structural check Verify makes before its signature, and is refused
// when the Response's Issuer and the Assertion's differ.
func (v *Verifier) Issuer(ctx context.Context, encoded string) (string, error) {
	release, err := v.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	s, serr := v.structure(encoded)
	if serr != nil {
		return "", serr
	}
	issuer, reason := readIssuer(children(s.assertion, nsAssertion, "Issuer")[0])
	if reason != "" {
		return "", saml.Refuse(reason)
	}
	if iss := children(s.response, nsAssertion, "Issuer"); len(iss) == 1 {
		r, reason := readIssuer(iss[0])
		if reason != "" {
			return "", saml.Refuse(reason)
		}
		if r != issuer {
			return "", saml.Refuse("issuer_mismatch")
		}
	}
	return issuer, nil
}

// Verify decodes a base64 SAML Response, checks its structure and every
// signature it carries against keys at time now, and returns the
// Assertion read from the signed elements only. Every refusal is a
// *saml.Error of kind Invalid whose Reason names the check that failed.
func (v *Verifier) Verify(ctx context.Context, encoded string, keys saml.Keys, now time.Time) (*saml.Assertion, error) {
	// SAML-09, V-36: no certificate never means "skip the signature".
	var certs []*x509.Certificate
	for _, c := range keys.Certificates {
		if c != nil {
			certs = append(certs, c)
		}
	}
	if len(certs) == 0 {
		return nil, saml.BadSignature("no_certificate")
	}

	release, err := v.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	s, serr := v.structure(encoded)
	if serr != nil {
		return nil, serr
	}

	// SAML profiles 4.1.3.5 and AWS: the Response, the Assertion or both
	// are signed (SAML-01).
	if s.responseSig == nil && s.assertionSig == nil {
		return nil, saml.BadSignature("unsigned")
	}
	for _, p := range []struct {
		sig *etree.Element
		id  string
	}{{s.responseSig, s.responseID}, {s.assertionSig, s.assertionID}} {
		if p.sig == nil {
			continue
		}
		if reason := precheckSignature(p.sig, p.id, keys.AllowSHA1); reason != "" {
			return nil, saml.BadSignature(reason)
		}
	}

	// Every Signature present must verify: a bad Response signature is
	// not excused by a good Assertion one.
	var verifiedResponse, verifiedAssertion *etree.Element
	if s.responseSig != nil {
		el, err := verifySignature(s.response, s.responseSig, s.responseID, certs, now, "response")
		if err != nil {
			return nil, err
		}
		verifiedResponse = el
	}
	if s.assertionSig != nil {
		el, err := verifySignature(detach(s.assertion), s.assertionSig, s.assertionID, certs, now, "assertion")
		if err != nil {
			return nil, err
		}
		verifiedAssertion = el
	}

	// V-37: from here on only the verified elements are read.
	if verifiedAssertion == nil {
		as := children(verifiedResponse, nsAssertion, "Assertion")
		if len(as) != 1 {
			return nil, saml.BadSignature("signed_element_mismatch")
		}
		if id, _ := attr(as[0], "ID"); id != s.assertionID {
			return nil, saml.BadSignature("signed_element_mismatch")
		}
		verifiedAssertion = as[0]
	}
	a, reason := readAssertion(verifiedAssertion)
	if reason != "" {
		return nil, saml.Refuse(reason)
	}
	if verifiedResponse != nil {
		rf, reason := readResponse(verifiedResponse)
		if reason != "" {
			return nil, saml.Refuse(reason)
		}
		a.Destination, a.ResponseIssuer = rf.destination, rf.issuer
	}
	return a, nil
}
