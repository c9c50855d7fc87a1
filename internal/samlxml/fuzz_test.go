package samlxml

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/keyless-dev/keyless/internal/saml"
	"github.com/keyless-dev/keyless/internal/samlxml/samlxmltest"
)

// FuzzVerify mutates signed Responses. Oracle (security.md 2.8): Verify
// never panics, refuses only with *saml.Error, and never returns an
// Assertion other than one a valid seed yields: a mutation may keep a
// document valid (whitespace outside signed content, say) but can never
// change the identity it carries.
//
//	go test -run X -fuzz FuzzVerify -fuzztime 10s ./internal/samlxml
func FuzzVerify(f *testing.F) {
	now := testNow()
	idp := testIDP()
	v := New(Options{})
	keys := idp.Keys()

	var valid []*saml.Assertion
	for i, sign := range []samlxmltest.Sign{samlxmltest.SignAssertion, samlxmltest.SignResponse, samlxmltest.SignBoth} {
		for j, shape := range []samlxmltest.Shape{samlxmltest.DefaultShape(), samlxmltest.OktaShape(), samlxmltest.ADFSShape(), samlxmltest.EntraShape()} {
			x := idp.Sign(samlxmltest.Response{
				Now: now, Sign: sign, Shape: shape,
				ResponseID: "_r" + string(rune('a'+i)) + string(rune('a'+j)), AssertionID: "_a" + string(rune('a'+i)) + string(rune('a'+j)),
			})
			a, err := v.Verify(context.Background(), samlxmltest.Encode(x), keys, now)
			if err != nil {
				f.Fatalf("seed %d/%s: %v", sign, shape.Name, err)
			}
			valid = append(valid, a)
			f.Add(x)
			f.Add(samlxmltest.MultipleAssertions(x))
			if sign != samlxmltest.SignAssertion {
				f.Add(samlxmltest.XSW(1, x))
				f.Add(samlxmltest.XSW(2, x))
			}
			if sign != samlxmltest.SignResponse {
				for n := 3; n <= 9; n++ {
					f.Add(samlxmltest.XSW(n, x))
				}
			}
		}
	}

	f.Fuzz(func(t *testing.T, doc []byte) {
		a, err := v.Verify(context.Background(), samlxmltest.Encode(doc), keys, now)
		if err != nil {
			var se *saml.Error
			if !errors.As(err, &se) || se.Kind != saml.Invalid || se.Reason == "" {
				t.Fatalf("refusal is not a saml.Error: %v", err)
			}
			if a != nil {
				t.Fatal("assertion returned with an error")
			}
			return
		}
		for _, w := range valid {
			if reflect.DeepEqual(a, w) {
				return
			}
		}
		t.Fatalf("a mutation changed the identity: %+v", a)
	})
}

// BenchmarkVerify is the cost of one AssumeRoleWithSAML's verification:
// an RSA-2048 signed assertion in the default shape.
func BenchmarkVerify(b *testing.B) {
	now := testNow()
	encoded := samlxmltest.Encode(testIDP().Sign(samlxmltest.Response{Now: now}))
	keys := testIDP().Keys()
	v := New(Options{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(context.Background(), encoded, keys, now); err != nil {
			b.Fatal(err)
		}
	}
}
