package samlxml

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// Step 3 is live on its own: these inputs from the validator's corpus
// fail roundTrip, not only prescan, which refuses them first. (With Go
// 1.26's encoding/xml much of the rest of the corpus round-trips; prescan
// refuses it, see TestSAML12RoundTripCorpus.)
func TestRoundTripValidator(t *testing.T) {
	for _, doc := range []string{
		`<x::Root/>`,
		`<Root><x::Element></::Element></Root>`,
		`<Root></x::Element></Root>`,
		`<Root>]]></Root>`,
	} {
		if got := roundTrip([]byte(doc)); got != "xml_roundtrip" {
			t.Errorf("roundTrip(%q) = %q, want xml_roundtrip", doc, got)
		}
	}
	for _, doc := range []string{
		`<Root></Root>`,
		`<x:Root xmlns:x="http://example.com/"><y/></x:Root>`,
		`<?xml version="1.0" encoding="UTF-8"?><a b="c">d</a>`,
	} {
		if got := roundTrip([]byte(doc)); got != "" {
			t.Errorf("roundTrip(%q) = %q, want accepted", doc, got)
		}
	}
}

func TestAttrsWithin(t *testing.T) {
	for _, tt := range []struct {
		doc  string
		max  int
		want bool
	}{
		{`<a b="1" c="2"/>`, 2, true},
		{`<a b="1" c="2" d="3"/>`, 2, false},
		{`<a b="=>=" c='=>'/>`, 2, true},                   // '=' and '>' inside quotes
		{`<a><!-- <b c="1" d="2" e="3"> --></a>`, 2, true}, // comment
		{`<a><![CDATA[<b c="1" d="2" e="3">]]></a>`, 2, true},
		{`<?xml version="1.0" encoding="UTF-8" standalone="yes"?><a/>`, 2, true},
		{`<a>x = y = z</a>`, 1, true}, // text
		{`<a b="1"></a><c d="1" e="2" f="3">`, 2, false},
		{`<a b="1" c="2" d="3"`, 2, false}, // unterminated tag still counted
	} {
		if got := attrsWithin([]byte(tt.doc), tt.max); got != tt.want {
			t.Errorf("attrsWithin(%q, %d) = %v, want %v", tt.doc, tt.max, got, tt.want)
		}
	}
}

func TestPrescan(t *testing.T) {
	l := limits{maxDepth: 4, maxTokens: 100, maxAttrs: 4, maxValue: 64}
	withComments := l
	withComments.allowComments = true
	for _, tt := range []struct {
		doc  string
		l    limits
		want string
	}{
		{`<a><b><c><d/></c></b></a>`, l, ""},
		{`<a><b><c><d><e/></d></c></b></a>`, l, "xml_too_deep"},
		{`<a>` + strings.Repeat("v", 64) + `</a>`, l, ""},
		{`<a>` + strings.Repeat("v", 65) + `</a>`, l, "xml_value_too_large"},
		{`<a b="` + strings.Repeat("v", 65) + `"/>`, l, "xml_value_too_large"},
		{`<a><!-- c --></a>`, l, "xml_comment"},
		{`<a><!-- c --></a>`, withComments, ""},
		{`<!-- c --><a/>`, withComments, ""},
		{`<!DOCTYPE a><a/>`, withComments, "xml_directive"},
		{`<a/><!-- c -->`, withComments, ""},
		{`<a/>` + "\n", l, ""},
		{`<a/>x`, l, "xml_text_outside_root"},
		{`x<a/>`, l, "xml_text_outside_root"},
		{``, l, "xml_malformed"},
		{`<a>`, l, "xml_malformed"},
		{`</a>`, l, "xml_malformed"},
		{`<a b="1" b="2"/>`, l, "xml_duplicate_attribute"},
		{`<p:a xmlns:p="urn:p" xmlns:q="urn:p" p:b="1" q:b="2"/>`, l, "xml_duplicate_attribute"},
		{`<p:a xmlns:p="urn:p"><p:b/></p:a>`, l, ""},
		{`<p:a xmlns:p="urn:p"/><p:b/>`, l, "xml_multiple_roots"},
		{`<a><p:b xmlns:p="urn:p"/><p:c/></a>`, l, "xml_namespace_undeclared"}, // scope ends with the element
		{`<a xml:lang="en"/>`, l, ""},
		{`<xml:a/>`, l, "xml_namespace_invalid"},
		{`<a xmlns="http://www.w3.org/XML/1998/namespace"/>`, l, "xml_namespace_invalid"},
		{`<a xmlns:p="http://www.w3.org/2000/xmlns/"/>`, l, "xml_namespace_invalid"},
		{`<?xml version="1.0"?><a/>`, l, ""},
		{`<?xml version="1.0" encoding="utf-8"?><a/>`, l, ""},
		{`<?xml version="1.0" encoding="windows-1252"?><a/>`, l, "xml_encoding_unsupported"},
		{`<a><?xml version="1.0"?></a>`, l, "xml_processing_instruction"},
		{`<?xml-stylesheet href="x"?><a/>`, l, "xml_processing_instruction"},
		{`<a>&amp;&#65;&lt;</a>`, l, ""},
		{`<a>&nbsp;</a>`, l, "xml_malformed"},
		{`<a/>`, limits{maxDepth: 4, maxTokens: 1, maxAttrs: 4, maxValue: 16}, "xml_too_many_tokens"},
		{`<a b="1" c="2" d="3" e="4" f="5"/>`, l, "xml_too_many_attributes"},
	} {
		if got := prescan([]byte(tt.doc), tt.l); got != tt.want {
			t.Errorf("prescan(%q) = %q, want %q", tt.doc, got, tt.want)
		}
	}
}

func TestNotXML(t *testing.T) {
	for _, tt := range []struct {
		in, want string
	}{
		{"<a/>", ""},
		{" \r\n\t<a/>", ""},
		{"\x1f\x8b\x08", "deflate_encoded"},
		{"\x78\x9c", "deflate_encoded"},
		{"\xed\xbd", "deflate_encoded"},                // BTYPE 10
		{"\x8c\x8f", "deflate_encoded"},                // BTYPE 10
		{"\x0b\x0c", "deflate_encoded"},                // BTYPE 01
		{"\x01\x03\x00\xfc\xffabc", "deflate_encoded"}, // stored block, LEN = ^NLEN
		{"\x01\x03\x00\xfc\xfe", "not_xml"},            // stored block header that does not add up
		{"\xef\xbb\xbf<a/>", "not_xml"},                // BTYPE 11: not DEFLATE, not XML either
		{"", "not_xml"},
		{"  ", "not_xml"},
		{"hello", "not_xml"},
	} {
		if got := notXML([]byte(tt.in)); got != tt.want {
			t.Errorf("notXML(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// A caller waits for a parsing slot only as long as its context allows
// (security review, 2026-11-22: an unbounded wait let a few expensive
// documents stall every sign-in).
func TestSlotWaitBounded(t *testing.T) {
	v := New(Options{MaxConcurrent: 1})
	release, err := v.acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := v.acquire(ctx); !errors.Is(err, ErrBusy) {
		t.Fatalf("second acquire with a done context: %v", err)
	}
	release()
	again, err := v.acquire(ctx) // a free slot is taken even so
	if err != nil {
		t.Fatal(err)
	}
	again()
}
