package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
)

// canonicalRequest builds the canonical request of "Create a canonical
// request" (IAM User Guide, create-signed-request step 1).
func (s *Signed) canonicalRequest() []byte {
	r := s.req
	var b strings.Builder
	b.Grow(512)
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(CanonicalURI(r.EscapedURI))
	b.WriteByte('\n')
	writeCanonicalQuery(&b, r, s.Presigned)
	b.WriteByte('\n')
	for _, name := range s.signedHeaders {
		b.WriteString(name)
		b.WriteByte(':')
		if name == "host" {
			b.WriteString(trimAll(r.Host))
		} else {
			for i, v := range r.Header.Values(name) {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(trimAll(v))
			}
		}
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(s.signedHeaders, ";"))
	b.WriteByte('\n')
	var hexHash [64]byte
	hex.Encode(hexHash[:], r.BodySHA256[:])
	b.Write(hexHash[:])
	return []byte(b.String())
}

// stringToSign is step 2 of create-signed-request.
func (s *Signed) stringToSign() []byte {
	sum := sha256.Sum256(s.canonicalRequest())
	var b strings.Builder
	b.Grow(160)
	b.WriteString(Algorithm)
	b.WriteByte('\n')
	b.WriteString(s.Time.UTC().Format(timeFormat))
	b.WriteByte('\n')
	b.WriteString(s.Scope.Date + "/" + s.Scope.Region + "/" + s.Scope.Service + "/" + terminator)
	b.WriteByte('\n')
	var hexHash [64]byte
	hex.Encode(hexHash[:], sum[:])
	b.Write(hexHash[:])
	return []byte(b.String())
}

// CanonicalURI normalises a path the way SigV4 does for every service but
// S3: dot segments are removed and repeated slashes collapsed (RFC 3986
// section 5.2.4, as botocore's remove_dot_segments does), then the escaped
// path is URI-encoded once more.
func CanonicalURI(escapedPath string) string {
	return uriEncode(NormalizePath(escapedPath), false)
}

// NormalizePath removes "." and ".." segments and empty segments, keeping a
// trailing slash. The empty path becomes "/".
func NormalizePath(p string) string {
	if p == "" {
		return "/"
	}
	segs := strings.Split(p, "/")
	out := segs[:0:0]
	for _, s := range segs {
		switch s {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, s)
		}
	}
	res := "/" + strings.Join(out, "/")
	if len(out) > 0 && strings.HasSuffix(p, "/") {
		res += "/"
	}
	return res
}

func writeCanonicalQuery(b *strings.Builder, r *Request, presigned bool) {
	type pair struct{ k, v string }
	pairs := make([]pair, 0, len(r.Query))
	for k, vs := range r.Query {
		if presigned && k == QuerySignature {
			continue
		}
		ek := uriEncode(k, true)
		for _, v := range vs {
			pairs = append(pairs, pair{ek, uriEncode(v, true)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k)
		b.WriteByte('=')
		b.WriteString(p.v)
	}
}

// uriEncode percent-encodes every byte except the RFC 3986 unreserved
// characters, with upper-case hex; '/' is kept unless encodeSlash.
func uriEncode(s string, encodeSlash bool) string {
	const hexUpper = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) && (encodeSlash || s[i] != '/') {
			n++
		}
	}
	if n == 0 {
		return s
	}
	out := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || (!encodeSlash && c == '/') {
			out = append(out, c)
			continue
		}
		out = append(out, '%', hexUpper[c>>4], hexUpper[c&15])
	}
	return string(out)
}

func unreserved(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~'
}

// trimAll trims surrounding whitespace and collapses runs of spaces to one
// (create-signed-request, "Trimall").
func trimAll(v string) string {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, "  ") {
		return v
	}
	var b strings.Builder
	b.Grow(len(v))
	space := false
	for i := 0; i < len(v); i++ {
		if v[i] == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(v[i])
	}
	return b.String()
}
