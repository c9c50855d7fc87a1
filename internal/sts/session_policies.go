package sts

import (
	"sync"

	"github.com/keyless-dev/keyless/internal/policy"
)

// policyCache caches compiled inline session policies by their text.
// A session's policy travels in its token and is needed on every request
// the session makes that is authorized; compiling 2 KB of policy costs
// ~160 us, a map lookup nothing. Documents are immutable, so sharing them
// is safe. When full, the cache starts over: simple, and bounded.
type policyCache struct {
	mu   sync.Mutex
	docs map[string]*policy.Document
}

// maxCachedSessionPolicies bounds the cache (each entry: at most 2,048
// characters of text and its compiled form).
const maxCachedSessionPolicies = 512

// parseSessionPolicy compiles an inline session policy. Its grammar is
// that of an identity policy (no Principal).
func (s *Service) parseSessionPolicy(text string) (*policy.Document, error) {
	c := &s.compiled
	c.mu.Lock()
	d, ok := c.docs[text]
	c.mu.Unlock()
	if ok {
		return d, nil
	}
	d, err := policy.Parse(policy.Identity, text)
	if err != nil {
		return nil, &Error{Code: MalformedPolicyDocument, Msg: err.Error(), Reason: "session_policy_malformed"}
	}
	c.mu.Lock()
	if c.docs == nil || len(c.docs) >= maxCachedSessionPolicies {
		c.docs = make(map[string]*policy.Document, maxCachedSessionPolicies)
	}
	c.docs[text] = d
	c.mu.Unlock()
	return d, nil
}
