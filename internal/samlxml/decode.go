package samlxml

import (
	"encoding/base64"
	"strings"
)

// decode turns the SAMLResponse form value of the HTTP POST binding (SAML
// bindings 3.5.4: base64 of the XML, never DEFLATE) into the XML bytes.
// Only the whitespace that form posts and the AWS CLI's file:// inputs
// carry (CR, LF, space, tab) is tolerated; the URL-safe alphabet is
// refused, and so is anything that is not XML, without ever inflating it
// (security.md SAML-21; the Redirect binding of SAML bindings 3.4.4.1 is
// not accepted).
func decode(encoded string) ([]byte, string) {
	if len(encoded) > maxEncodedLength {
		return nil, "encoded_too_long"
	}
	compact := strings.Map(func(r rune) rune {
		switch r {
		case '\r', '\n', ' ', '\t':
			return -1
		}
		return r
	}, encoded)
	if compact == "" {
		return nil, "encoded_empty"
	}
	if strings.ContainsAny(compact, "-_") {
		return nil, "base64_url_alphabet"
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(compact)
	if err != nil {
		return nil, "base64_invalid"
	}
	if reason := notXML(raw); reason != "" {
		return nil, reason
	}
	return raw, ""
}

// notXML refuses bytes whose first non-blank byte is not '<'. It names
// what compressed input looks like (gzip and zlib headers, or the header
// of a raw DEFLATE block, RFC 1951 3.2.3) without decompressing anything;
// the name only tells the audit log which refusal it was.
func notXML(b []byte) string {
	i := 0
	for i < len(b) && isXMLSpace(b[i]) {
		i++
	}
	switch {
	case i == len(b):
		return "not_xml"
	case b[i] == '<':
		return ""
	case i == 0 && len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b: // gzip, RFC 1952 2.3.1
		return "deflate_encoded"
	case i == 0 && len(b) >= 2 && b[0]&0x0f == 8 && (uint(b[0])<<8|uint(b[1]))%31 == 0: // zlib, RFC 1950 2.2
		return "deflate_encoded"
	case i == 0 && (b[0]>>1)&3 == 0 && len(b) >= 5 && uint16(b[1])|uint16(b[2])<<8 == ^(uint16(b[3])|uint16(b[4])<<8):
		return "deflate_encoded" // stored block: LEN then its complement NLEN, RFC 1951 3.2.4
	case i == 0 && ((b[0]>>1)&3 == 1 || (b[0]>>1)&3 == 2):
		return "deflate_encoded" // fixed or dynamic Huffman block
	}
	return "not_xml"
}

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
