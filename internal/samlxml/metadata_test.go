package samlxml

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/samlxml/samlxmltest"
)

// metadataDoc writes IdP metadata with the given KeyDescriptors and SSO
// location, padded with a comment to IAM's 1,000-byte minimum.
func metadataDoc(entityID, keyDescriptors, location string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<!-- exported by a test; comments are allowed in metadata -->
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="` + entityID + `">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:1.1:protocol urn:oasis:names:tc:SAML:2.0:protocol">
` + keyDescriptors + `
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="` + location + `"/>
  </md:IDPSSODescriptor>
  <!-- ` + strings.Repeat("padding ", 130) + ` -->
</md:EntityDescriptor>
`)
}

func keyDescriptor(use string, certs ...[]byte) string {
	var b strings.Builder
	b.WriteString("    <md:KeyDescriptor")
	if use != "" {
		b.WriteString(` use="` + use + `"`)
	}
	b.WriteString("><ds:KeyInfo><ds:X509Data>")
	for _, c := range certs {
		b.WriteString("<ds:X509Certificate>\n" + base64.StdEncoding.EncodeToString(c) + "\n</ds:X509Certificate>")
	}
	b.WriteString("</ds:X509Data></ds:KeyInfo></md:KeyDescriptor>\n")
	return b.String()
}

func selfSigned(t *testing.T, key any, pub any, notBefore, notAfter time.Time) []byte {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "test"}, NotBefore: notBefore, NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func wantMetadataRefused(t *testing.T, err error, reason string) {
	t.Helper()
	var me *MetadataError
	if !errors.As(err, &me) || me.Reason != reason {
		t.Fatalf("err = %v, want MetadataError %q", err, reason)
	}
}

func TestParseMetadataKit(t *testing.T) {
	idp := testIDP()
	md, err := ParseMetadata(idp.Metadata(), testNow())
	if err != nil {
		t.Fatal(err)
	}
	if md.EntityID != testEntityID || len(md.Certificates) != 1 || !md.Certificates[0].Equal(idp.Certificate()) || len(md.Skipped) != 0 {
		t.Fatalf("metadata = %+v", md)
	}
}

func TestParseMetadata(t *testing.T) {
	now := testNow()
	good := testIDP().Certificate().Raw
	other := attackerIDP().Certificate().Raw
	long := now.Add(24 * time.Hour)
	ec256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	edPub, edKey, _ := ed25519.GenerateKey(rand.Reader)
	weak := samlxmltest.NewIdPWith("weak", samlxmltest.IdPOptions{RSABits: 1024}).Certificate().Raw
	expired := selfSigned(t, ec256, &ec256.PublicKey, now.Add(-48*time.Hour), now.Add(-time.Hour))
	future := selfSigned(t, ec256, &ec256.PublicKey, now.Add(time.Hour), now.Add(48*time.Hour))
	p256 := selfSigned(t, ec256, &ec256.PublicKey, now.Add(-time.Hour), long)
	p224 := selfSigned(t, ec224, &ec224.PublicKey, now.Add(-time.Hour), long)
	ed := selfSigned(t, edKey, edPub, now.Add(-time.Hour), long)
	const sso = "https://idp.example.test/sso"

	t.Run("usable and skipped certificates", func(t *testing.T) {
		doc := metadataDoc("urn:idp", keyDescriptor("signing", good, expired, future)+
			keyDescriptor("", p256, weak, p224, ed, good)+
			keyDescriptor("encryption", other), sso)
		md, err := ParseMetadata(doc, now)
		if err != nil {
			t.Fatal(err)
		}
		if len(md.Certificates) != 1 || !bytes.Equal(md.Certificates[0].Raw, good) {
			t.Fatalf("certificates = %d", len(md.Certificates))
		}
		want := []string{"expired at", "not valid before", "ECDSA keys are not supported", "RSA key of 1024 bits", "ECDSA keys are not supported", "unsupported key type", "duplicate", `use="encryption"`}
		if len(md.Skipped) != len(want) {
			t.Fatalf("skipped = %q", md.Skipped)
		}
		for i, w := range want {
			if !strings.Contains(md.Skipped[i], w) {
				t.Errorf("skipped[%d] = %q, want it to say %q", i, md.Skipped[i], w)
			}
		}
	})
	t.Run("EntitiesDescriptor with one entity", func(t *testing.T) {
		inner := metadataDoc("urn:idp", keyDescriptor("signing", good), sso)
		inner = bytes.TrimPrefix(inner, []byte(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"))
		doc := []byte(`<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">` + string(inner) + `</md:EntitiesDescriptor>`)
		md, err := ParseMetadata(doc, now)
		if err != nil || md.EntityID != "urn:idp" {
			t.Fatalf("md = %+v, %v", md, err)
		}
		two := []byte(`<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata">` + string(inner) + string(inner) + `</md:EntitiesDescriptor>`)
		_, err = ParseMetadata(two, now)
		wantMetadataRefused(t, err, "entity_count")
	})
	t.Run("loopback http", func(t *testing.T) {
		for _, loc := range []string{"http://127.0.0.1:18200/sso", "http://[::1]/sso", "http://localhost:8080/sso", "https://idp.example.test:8443/a/b?c=d"} {
			if _, err := ParseMetadata(metadataDoc("urn:idp", keyDescriptor("signing", good), loc), now); err != nil {
				t.Errorf("%s: %v", loc, err)
			}
		}
	})
	t.Run("BOM", func(t *testing.T) {
		if _, err := ParseMetadata(append([]byte("\xef\xbb\xbf"), testIDP().Metadata()...), now); err != nil {
			t.Fatal(err)
		}
	})

	pad := func(s string) []byte { return []byte(s + "<!--" + strings.Repeat(" ", 1000) + "-->") }
	refusals := []struct {
		name   string
		doc    []byte
		reason string
	}{
		{"too short", []byte(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>`), "too_short"},
		{"too long", append(metadataDoc("urn:idp", keyDescriptor("signing", good), sso), make([]byte, maxMetadataBytes)...), "too_long"},
		{"no signing certificate", metadataDoc("urn:idp", keyDescriptor("encryption", good), sso), "no_signing_certificate"},
		{"only an expired certificate", metadataDoc("urn:idp", keyDescriptor("signing", expired), sso), "no_signing_certificate"},
		{"no KeyDescriptor", metadataDoc("urn:idp", "", sso), "no_signing_certificate"},
		{"certificate not base64", metadataDoc("urn:idp", "<md:KeyDescriptor><ds:KeyInfo><ds:X509Data><ds:X509Certificate>!!</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>", sso), "no_signing_certificate"},
		{"unknown use", metadataDoc("urn:idp", keyDescriptor("both", good), sso), "key_use_invalid"},
		{"http SSO", metadataDoc("urn:idp", keyDescriptor("signing", good), "http://idp.example.test/sso"), "sso_location_invalid"},
		{"javascript SSO", metadataDoc("urn:idp", keyDescriptor("signing", good), "javascript:alert(1)"), "sso_location_invalid"},
		{"userinfo", metadataDoc("urn:idp", keyDescriptor("signing", good), "https://user:pw@idp.example.test/sso"), "sso_location_invalid"},
		{"fragment", metadataDoc("urn:idp", keyDescriptor("signing", good), "https://idp.example.test/sso#x"), "sso_location_invalid"},
		{"relative", metadataDoc("urn:idp", keyDescriptor("signing", good), "/sso"), "sso_location_invalid"},
		{"empty entityID", metadataDoc("", keyDescriptor("signing", good), sso), "entity_id_invalid"},
		{"long entityID", metadataDoc("urn:"+strings.Repeat("x", 1021), keyDescriptor("signing", good), sso), "entity_id_invalid"},
		{"padded entityID", metadataDoc(" urn:idp", keyDescriptor("signing", good), sso), "entity_id_invalid"},
		{"SAML 1.1 only", bytes.Replace(metadataDoc("urn:idp", keyDescriptor("signing", good), sso), []byte(" urn:oasis:names:tc:SAML:2.0:protocol"), nil, 1), "saml2_not_supported"},
		{"SP metadata", bytes.ReplaceAll(metadataDoc("urn:idp", keyDescriptor("signing", good), sso), []byte("IDPSSODescriptor"), []byte("SPSSODescriptor")), "idp_descriptor_count"},
		{"not metadata", pad(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`), "not_entity_descriptor"},
		{"DOCTYPE", append([]byte(`<!DOCTYPE md:EntityDescriptor [<!ENTITY x "y">]>`), testIDP().Metadata()[len(`<?xml version="1.0" encoding="UTF-8"?>`):]...), "xml_directive"},
		{"not XML", pad("hello"), "not_xml"},
	}
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			md, err := ParseMetadata(r.doc, now)
			if md != nil {
				t.Fatalf("accepted: %+v", md)
			}
			wantMetadataRefused(t, err, r.reason)
		})
	}
}

// SAML-25 through the metadata path, whose 10 MB limit admits the
// generated inputs themselves.
func TestMetadataBounds(t *testing.T) {
	now := testNow()
	kd := keyDescriptor("signing", testIDP().Certificate().Raw)
	rows := []struct {
		name   string
		doc    []byte
		reason string
	}{
		{"50000-deep nesting", metadataDoc("urn:idp", kd+strings.Repeat("<x>", 50000)+strings.Repeat("</x>", 50000), "https://idp.example.test/sso"), "xml_too_deep"},
		{"10^6 attributes on one element", metadataDoc("urn:idp", kd+"<x"+strings.Repeat(` a=""`, 1_000_000)+"/>", "https://idp.example.test/sso"), "xml_too_many_attributes"},
		{"100 KB attribute value", metadataDoc("urn:idp", kd+`<x a="`+strings.Repeat("v", 100_000)+`"/>`, "https://idp.example.test/sso"), "xml_value_too_large"},
		{"500001 tokens", metadataDoc("urn:idp", kd+strings.Repeat("<x/>", 250_001), "https://idp.example.test/sso"), "xml_too_many_tokens"},
	}
	for _, r := range rows {
		t.Run(fmt.Sprintf("%s (%d bytes)", r.name, len(r.doc)), func(t *testing.T) {
			bounded(t, 5*time.Second, 64<<20, func() {
				_, err := ParseMetadata(r.doc, now)
				wantMetadataRefused(t, err, r.reason)
			})
		})
	}
}
