package exchange

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
)

// Document is a workload's verified identity as JSON-like data: the claims
// of an OIDC token, or {"sub": ARN, "aws_claims": {...}} for an AWS caller.
// Values are what encoding/json produces with UseNumber: string,
// json.Number, bool, nil, []any and map[string]any.
type Document map[string]any

// DecodeDocument decodes a JSON object, keeping numbers as json.Number.
// b is expected to have passed the strict JSON checks already.
func DecodeDocument(b []byte) (Document, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var d Document
	if err := dec.Decode(&d); err != nil {
		return nil, errors.New("document: " + err.Error())
	}
	if d == nil {
		return nil, errors.New("document: not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("document: data after the JSON object")
	}
	return d, nil
}

// Lookup returns the value at a dotted path of object keys
// ("aws_claims.account"). It reports false when a segment is empty, a key
// is missing or an intermediate value is not an object.
func (d Document) Lookup(path string) (any, bool) {
	if path == "" {
		return nil, false
	}
	var cur map[string]any = d
	for {
		seg, rest, more := strings.Cut(path, ".")
		if seg == "" || cur == nil {
			return nil, false
		}
		v, ok := cur[seg]
		if !ok {
			return nil, false
		}
		if !more {
			return v, true
		}
		switch m := v.(type) {
		case map[string]any:
			cur = m
		case Document:
			cur = m
		default:
			return nil, false
		}
		path = rest
	}
}

// Scalar returns the text of a string, json.Number or bool value. Any
// other value (null, arrays, objects, other Go types) reports false.
func Scalar(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		if x {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

// ValidPath reports whether p is a claim path: 1–256 bytes of dot-separated
// segments, each non-empty and made of printable ASCII other than space and
// '.'.
func ValidPath(p string) bool {
	if len(p) < 1 || len(p) > 256 {
		return false
	}
	segLen := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '.':
			if segLen == 0 {
				return false
			}
			segLen = 0
		case c > ' ' && c < 0x7f:
			segLen++
		default:
			return false
		}
	}
	return segLen > 0
}
