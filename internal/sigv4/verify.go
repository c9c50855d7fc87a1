package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"sync"
)

// Verifier recomputes signatures, caching derived signing keys.
type Verifier struct {
	keys keyCache
}

// NewVerifier returns a verifier whose signing-key cache holds at most
// maxCachedKeys entries.
func NewVerifier(maxCachedKeys int) *Verifier {
	return &Verifier{keys: keyCache{max: maxCachedKeys, m: map[cacheKey][]byte{}}}
}

// Verify reports whether s was made with secret. The comparison is in
// constant time.
func (v *Verifier) Verify(s *Signed, secret string) error {
	key := v.keys.get(secret, s.Scope)
	mac := hmac.New(sha256.New, key)
	mac.Write(s.stringToSign())
	if !hmac.Equal(mac.Sum(nil), s.signature) {
		return mismatch(MsgMismatch)
	}
	return nil
}

// Burn does the work of a verification with a throw-away secret. Call it when
// the access key is unknown, so that response time does not tell unknown
// keys from wrong signatures.
func (v *Verifier) Burn(s *Signed) {
	_ = v.Verify(s, "keyless-unknown-access-key-dummy-secret")
}

// SigningKey derives kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date),
// region), service), "aws4_request") (create-signed-request step 4).
func SigningKey(secret string, sc Scope) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), sc.Date)
	k = hmacSHA256(k, sc.Region)
	k = hmacSHA256(k, sc.Service)
	return hmacSHA256(k, terminator)
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// keyCache caches signing keys per (secret, date, region, service). When it
// is full it is emptied: entries are only a day old at most, and refilling
// costs four HMACs each.
type keyCache struct {
	mu  sync.RWMutex
	max int
	m   map[cacheKey][]byte
}

type cacheKey struct {
	scope  Scope
	secret string
}

func (c *keyCache) get(secret string, sc Scope) []byte {
	id := cacheKey{sc, secret}
	c.mu.RLock()
	k, ok := c.m[id]
	c.mu.RUnlock()
	if ok {
		return k
	}
	k = SigningKey(secret, sc)
	c.mu.Lock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[id] = k
	c.mu.Unlock()
	return k
}
