package sigv4

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"sort"
	"strings"
)

// writeCanonicalRequest writes the canonical request of "Create a
// canonical request" (IAM User Guide, create-signed-request step 1) to w,
// which is the hash that step 2 needs; it is never held in memory whole.
func (s *Signed) writeCanonicalRequest(w io.StringWriter) {
	r := s.req
	w.WriteString(r.Method)
	w.WriteString("\n")
	w.WriteString(CanonicalURI(r.EscapedURI))
	w.WriteString("\n")
	w.WriteString(canonicalQuery(r, s.Presigned))
	w.WriteString("\n")
	for i, name := range s.signedHeaders {
		w.WriteString(name)
		w.WriteString(":")
		if name == "host" {
			w.WriteString(trimAll(r.Host))
		} else {
			for j, v := range r.Header[s.headerKeys[i]] {
				if j > 0 {
					w.WriteString(",")
				}
				w.WriteString(trimAll(v))
			}
		}
		w.WriteString("\n")
	}
	w.WriteString("\n")
	for i, name := range s.signedHeaders {
		if i > 0 {
			w.WriteString(";")
		}
		w.WriteString(name)
	}
	w.WriteString("\n")
	var hexHash [64]byte
	hex.Encode(hexHash[:], r.BodySHA256[:])
	w.WriteString(string(hexHash[:]))
}

// stringToSign is step 2 of create-signed-request.
func (s *Signed) stringToSign() []byte {
	h := sha256.New()
	w := bufio.NewWriterSize(h, 1024)
	s.writeCanonicalRequest(w)
	w.Flush() // writes to a hash cannot fail
	var sum [32]byte
	h.Sum(sum[:0])
	b := make([]byte, 0, 160)
	b = append(b, Algorithm...)
	b = append(b, '\n')
	b = s.Time.UTC().AppendFormat(b, timeFormat)
	b = append(b, '\n')
	b = append(b, s.Scope.Date...)
	b = append(b, '/')
	b = append(b, s.Scope.Region...)
	b = append(b, '/')
	b = append(b, s.Scope.Service...)
	b = append(b, "/"+terminator+"\n"...)
	return hex.AppendEncode(b, sum[:])
}

// CanonicalURI normalises a path the way SigV4 does for every service but
// S3: dot segments are removed and repeated slashes collapsed (RFC 3986
// section 5.2.4, as botocore's remove_dot_segments does), then the escaped
// path is URI-encoded once more.
func CanonicalURI(escapedPath string) string {
	if escapedPath == "/" {
		return "/" // what nearly every STS request is sent to
	}
	return uriEncode(NormalizePath(escapedPath), false)
}

// NormalizePath removes "." and ".." segments and empty segments, keeping a
// trailing slash. The empty path becomes "/".
func NormalizePath(p string) string {
	if p == "" {
		return "/"
	}
	if normal(p) {
		return p // nearly every path, and no allocation
	}
	return normalizeSegments(p)
}

// normal reports whether p is already normal: it starts with a slash and
// has no empty, "." or ".." segment except a trailing empty one.
func normal(p string) bool {
	if p[0] != '/' {
		return false
	}
	start := 1
	for i := 1; i <= len(p); i++ {
		if i < len(p) && p[i] != '/' {
			continue
		}
		switch seg := p[start:i]; {
		case seg == "" && i < len(p), seg == ".", seg == "..":
			return false
		}
		start = i + 1
	}
	return true
}

func normalizeSegments(p string) string {
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

func canonicalQuery(r *Request, presigned bool) string {
	if len(r.Query) == 0 {
		return ""
	}
	var b strings.Builder
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
	return b.String()
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
