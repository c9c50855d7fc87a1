package samlsignin

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"
)

// parsedMetadata reads SP metadata back with encoding/xml, namespaces
// checked.
type parsedMetadata struct {
	XMLName  xml.Name
	EntityID string `xml:"entityID,attr"`
	SP       []struct {
		XMLName              xml.Name
		Protocols            string `xml:"protocolSupportEnumeration,attr"`
		WantAssertionsSigned string `xml:"WantAssertionsSigned,attr"`
		AuthnRequestsSigned  string `xml:"AuthnRequestsSigned,attr"`
		NameIDFormats        []struct {
			XMLName xml.Name
			Value   string `xml:",chardata"`
		} `xml:"NameIDFormat"`
		ACS []struct {
			XMLName   xml.Name
			Binding   string `xml:"Binding,attr"`
			Location  string `xml:"Location,attr"`
			Index     string `xml:"index,attr"`
			IsDefault string `xml:"isDefault,attr"`
		} `xml:"AssertionConsumerService"`
	} `xml:"SPSSODescriptor"`
	Other []xml.Name `xml:",any"`
}

func TestMetadataServed(t *testing.T) {
	f := newFixture(t)
	w := f.get(t, "/saml/metadata.xml")
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/samlmetadata+xml" {
		t.Fatalf("status %d, Content-Type %q", w.Code, w.Header().Get("Content-Type"))
	}
	var md parsedMetadata
	dec := xml.NewDecoder(bytes.NewReader(w.Body.Bytes()))
	if err := dec.Decode(&md); err != nil {
		t.Fatalf("the metadata does not parse: %v\n%s", err, w.Body.String())
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if cd, ok := tok.(xml.CharData); err != nil || !ok || len(bytes.TrimSpace(cd)) != 0 {
			t.Fatalf("something follows the EntityDescriptor: %v %v", tok, err)
		}
	}
	if md.XMLName != (xml.Name{Space: nsMetadata, Local: "EntityDescriptor"}) || md.EntityID != DefaultEntityID || len(md.Other) != 0 {
		t.Errorf("root %v entityID %q, other children %v", md.XMLName, md.EntityID, md.Other)
	}
	if len(md.SP) != 1 {
		t.Fatalf("%d SPSSODescriptors, want 1", len(md.SP))
	}
	sp := md.SP[0]
	if sp.XMLName.Space != nsMetadata || sp.Protocols != "urn:oasis:names:tc:SAML:2.0:protocol" || sp.WantAssertionsSigned != "true" || sp.AuthnRequestsSigned != "false" {
		t.Errorf("SPSSODescriptor %+v", sp)
	}
	var formats []string
	for _, n := range sp.NameIDFormats {
		if n.XMLName.Space != nsMetadata {
			t.Errorf("NameIDFormat in namespace %q", n.XMLName.Space)
		}
		formats = append(formats, n.Value)
	}
	if strings.Join(formats, " ") != nameIDPersistent+" "+nameIDTransient {
		t.Errorf("NameIDFormats %q", formats)
	}
	want := []string{base + "/saml", base + "/us-east-1/saml", base + "/us-west-2/saml"}
	if len(sp.ACS) != len(want) {
		t.Fatalf("%d AssertionConsumerServices, want %d", len(sp.ACS), len(want))
	}
	for i, a := range sp.ACS {
		def := ""
		if i == 0 {
			def = "true"
		}
		if a.XMLName.Space != nsMetadata || a.Binding != "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" || a.Location != want[i] ||
			a.Index != string(rune('0'+i)) || a.IsDefault != def {
			t.Errorf("ACS %d: %+v, want %s index %d isDefault %q", i, a, want[i], i, def)
		}
	}
}

// TestMetadataEscapes: values are escaped by encoding/xml, never spliced.
func TestMetadataEscapes(t *testing.T) {
	out := Metadata(`urn:x"/><Evil a="`, []string{`https://k.example.com/saml?a=1&b=<2>`})
	var md parsedMetadata
	if err := xml.Unmarshal(out, &md); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if md.EntityID != `urn:x"/><Evil a="` || len(md.Other) != 0 || md.SP[0].ACS[0].Location != `https://k.example.com/saml?a=1&b=<2>` {
		t.Errorf("values changed or injected: %+v\n%s", md, out)
	}
}

func TestMetadataOptions(t *testing.T) {
	f := newFixture(t)
	h := New(Options{Service: f.svc, BaseURL: base,
		EntityID: "https://keyless.example.com/sp", SignInURLs: []string{base + "/eu-west-1/saml", "https://signin.aws.amazon.com/saml"}})
	var md parsedMetadata
	if err := xml.Unmarshal(h.metadata, &md); err != nil {
		t.Fatal(err)
	}
	if md.EntityID != "https://keyless.example.com/sp" || len(md.SP[0].ACS) != 2 || md.SP[0].ACS[0].Location != base+"/eu-west-1/saml" ||
		md.SP[0].ACS[0].IsDefault != "true" || md.SP[0].ACS[1].Location != "https://signin.aws.amazon.com/saml" {
		t.Errorf("metadata %+v", md)
	}
}
