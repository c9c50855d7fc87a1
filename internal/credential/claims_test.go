package credential

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/iam"
)

func FuzzDecodeClaims(f *testing.F) {
	now := time.UnixMilli(1_800_000_000_123).UTC()
	s := Session{IssuedAt: now, Expiration: now.Add(time.Hour), Issuer: IssuerGetSessionToken,
		Principal: iam.Principal{Type: iam.User, Account: "111122223333", Name: "bob", Path: "/", UniqueID: "AIDAX"}, MFAAuthenticatedAt: now}
	f.Add(encodeClaims(s, bytes.Repeat([]byte{7}, secretLen)))
	f.Add(encodeClaims(roleSession(now), bytes.Repeat([]byte{7}, secretLen)))
	f.Add([]byte{})
	f.Add([]byte{1, 30})
	f.Fuzz(func(t *testing.T, b []byte) {
		got, raw, err := decodeClaims(b)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to the same bytes: one encoding only.
		if again := encodeClaims(got, raw); !bytes.Equal(again, b) {
			t.Fatalf("non-canonical claims accepted:\n in %x\nout %x", b, again)
		}
	})
}

func TestClaimsRejectUnknownAndUnordered(t *testing.T) {
	now := time.UnixMilli(1_800_000_000_000).UTC()
	s := Session{IssuedAt: now, Expiration: now, Issuer: IssuerGetSessionToken,
		Principal: iam.Principal{Type: iam.Root, Account: "111122223333", UniqueID: "111122223333"}}
	good := encodeClaims(s, make([]byte, secretLen))
	if _, _, err := decodeClaims(good); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"unknown trailing field": append(append([]byte(nil), good...), 99, 1, 0),
		"repeated field":         append(append([]byte(nil), good...), tagAccount, 1, 'x'),
		"missing secret":         good[2+secretLen:],
		"short secret":           append([]byte{tagSecret, 29}, append(make([]byte, 29), good[2+secretLen:]...)...),
	} {
		if _, _, err := decodeClaims(b); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func roleSession(now time.Time) Session {
	return Session{IssuedAt: now, Expiration: now.Add(time.Hour), Issuer: IssuerAssumeRole,
		Principal: iam.Principal{Type: iam.Role, Account: "111122223333", Name: "Demo", Path: "/", UniqueID: "AROAX"},
		Name:      "alice-session", SourceIdentity: "alice",
		Packed: Pack(Attributes{Policy: `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}`,
			PolicyARNs: []string{"arn:aws:iam::111122223333:policy/ReadDemoBucket"},
			Tags:       []Tag{{Key: "Project", Value: "quickstart", Transitive: true}, {Key: "CostCenter", Value: ""}}})}
}

func TestRoleSessionClaims(t *testing.T) {
	now := time.UnixMilli(1_800_000_000_000).UTC()
	in := roleSession(now)
	raw := make([]byte, secretLen)
	out, _, err := decodeClaims(encodeClaims(in, raw))
	if err != nil {
		t.Fatal(err)
	}
	if out.Name != in.Name || out.SourceIdentity != in.SourceIdentity || out.Principal != in.Principal || out.Issuer != IssuerAssumeRole {
		t.Fatalf("round trip: %+v", out)
	}
	got, err := out.Packed.Unpack()
	want, _ := in.Packed.Unpack()
	if err != nil || got.Policy != want.Policy || len(got.PolicyARNs) != 1 || len(got.Tags) != 2 || !got.Tags[0].Transitive || got.Tags[1].Transitive || got.Tags[1].Key != "CostCenter" {
		t.Fatalf("attributes: %+v %v", got, err)
	}

	// Issuer and principal must agree.
	for name, mutate := range map[string]func(*Session){
		"role session without a name": func(s *Session) { s.Name = "" },
		"role session of a user":      func(s *Session) { s.Principal.Type = iam.User },
		"GetSessionToken of a role":   func(s *Session) { s.Issuer = IssuerGetSessionToken },
		"GetSessionToken with packed": func(s *Session) {
			s.Issuer, s.Name, s.Principal.Type, s.SourceIdentity = IssuerGetSessionToken, "", iam.User, ""
		},
		"federated user without a name": func(s *Session) { s.Issuer, s.Name, s.Principal.Type = IssuerGetFederationToken, "", iam.User },
		"sign-in session of a role":     func(s *Session) { s.Issuer = IssuerSignIn },
		"unknown issuer":                func(s *Session) { s.Issuer = IssuerSignIn + 1 },
	} {
		s := roleSession(now)
		mutate(&s)
		if _, _, err := decodeClaims(encodeClaims(s, raw)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A sign-in's session is a user's own, like GetSessionToken's.
func TestSignInSessionRoundTrip(t *testing.T) {
	now := time.UnixMilli(1_800_000_000_000).UTC()
	s := Session{IssuedAt: now, Expiration: now.Add(15 * time.Minute), Issuer: IssuerSignIn, MFAAuthenticatedAt: now,
		Principal: iam.Principal{Type: iam.User, Account: "111122223333", Name: "alice", Path: "/", UniqueID: "AIDAX"}}
	raw := bytes.Repeat([]byte{7}, secretLen)
	got, _, err := decodeClaims(encodeClaims(s, raw))
	if err != nil || got.Issuer != IssuerSignIn || got.Principal.Name != "alice" || !got.MFA() {
		t.Fatalf("%+v %v", got, err)
	}
}

func TestPacked(t *testing.T) {
	if p := Pack(Attributes{}); !p.Empty() || p.Percent() != 0 {
		t.Fatalf("empty attributes packed to %d%%", p.Percent())
	}
	// A 2048-character policy of typical text fits; 50 incompressible
	// tags do not.
	policy := `{"Version":"2012-10-17","Statement":[`
	for i := 0; len(policy) < 2000; i++ {
		policy += fmt.Sprintf(`{"Sid":"S%d","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket-%d/*"},`, i, i)
	}
	policy = policy[:len(policy)-1] + "]}"
	if p := Pack(Attributes{Policy: policy}); p.Percent() > 100 || p.Percent() < 10 {
		t.Errorf("2 KB policy packs to %d%%", p.Percent())
	}
	var tags []Tag
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 50 {
		v := make([]byte, 64)
		for j := range v {
			v[j] = "abcdefghijklmnopqrstuvwxyz0123456789"[r.IntN(36)]
		}
		tags = append(tags, Tag{Key: fmt.Sprintf("key%d", i), Value: string(v)})
	}
	if p := Pack(Attributes{Tags: tags}); p.Percent() <= 100 {
		t.Errorf("50 random 64-character tags pack to only %d%%", p.Percent())
	}

	for name, raw := range map[string][]byte{
		"not deflate":    {0xff, 0xff, 0xff},
		"trailing bytes": deflate(append(Pack(Attributes{Policy: "x"}).plainForTest(t), 0)),
		"bad flag":       deflate([]byte{0, 0, 1, 1, 'k', 0, 2}),
		"count too big":  deflate([]byte{0, 200}),
		"bomb":           deflate(make([]byte, maxUnpacked+1)),
	} {
		if _, err := (Packed{raw: raw}).Unpack(); err == nil {
			t.Errorf("%s: unpacked", name)
		}
	}
}

func deflate(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	_, _ = w.Write(b)
	_ = w.Close()
	return buf.Bytes()
}

func (p Packed) plainForTest(t *testing.T) []byte {
	t.Helper()
	b, err := io.ReadAll(flate.NewReader(bytes.NewReader(p.raw)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func BenchmarkPack(b *testing.B) {
	a := Attributes{Tags: []Tag{{Key: "project", Value: "bench"}, {Key: "team", Value: "perf", Transitive: true}}}
	b.ReportAllocs()
	for b.Loop() {
		p := Pack(a)
		if _, err := p.Unpack(); err != nil {
			b.Fatal(err)
		}
	}
}

// The largest session keyless issues (longest path, names and source
// identity, packed attributes at 100%) still fits MaxTokenLen.
func TestLargestTokenFits(t *testing.T) {
	now := time.UnixMilli(1_800_000_000_000).UTC()
	s := roleSession(now)
	s.Principal.Name, s.Principal.Path = strings.Repeat("r", 64), "/"+strings.Repeat("p", 510)+"/"
	s.Principal.UniqueID = "AROA" + strings.Repeat("X", 124)
	s.Name, s.SourceIdentity = strings.Repeat("s", 64), strings.Repeat("i", 64)
	s.Packed = Packed{raw: bytes.Repeat([]byte{1}, PackedBudget)}
	sealed := headerLen + nonceLen + len(encodeClaims(s, make([]byte, secretLen))) + tagLen
	if n := base64.RawURLEncoding.EncodedLen(sealed); n > MaxTokenLen {
		t.Fatalf("largest token is %d characters; MaxTokenLen is %d", n, MaxTokenLen)
	} else {
		t.Logf("largest token: %d characters", n)
	}
}

func TestSAMLSessionClaims(t *testing.T) {
	now := time.UnixMilli(1_800_000_000_000).UTC()
	raw := make([]byte, secretLen)
	saml := func() Session {
		s := roleSession(now)
		s.Issuer = IssuerSAML
		s.Federation = &Federation{Provider: "arn:aws:iam::111122223333:saml-provider/corp", Subject: "alice@example.com",
			Audience: "https://keyless.example/saml", SubjectType: "persistent", NameQualifier: "SbdGOnUkh1i4+EXAMPLExL/jEvs="}
		return s
	}
	out, _, err := decodeClaims(encodeClaims(saml(), raw))
	if err != nil {
		t.Fatal(err)
	}
	if f := out.Federation; out.Issuer != IssuerSAML || f == nil || !reflect.DeepEqual(f, saml().Federation) {
		t.Fatalf("round trip: %+v %+v", out, out.Federation)
	}
	// A web identity session never carries SAML fields, and a SAML
	// session always does.
	for name, mutate := range map[string]func(*Session){
		"SAML without subject type":      func(s *Session) { s.Federation.SubjectType, s.Federation.NameQualifier = "", "" },
		"web identity with subject type": func(s *Session) { s.Issuer = IssuerWebIdentity },
		"SAML without federation":        func(s *Session) { s.Federation = nil },
	} {
		s := saml()
		mutate(&s)
		if _, _, err := decodeClaims(encodeClaims(s, raw)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// The old web identity encoding still decodes.
	web := saml()
	web.Issuer, web.Federation.SubjectType, web.Federation.NameQualifier = IssuerWebIdentity, "", ""
	if out, _, err := decodeClaims(encodeClaims(web, raw)); err != nil || out.Federation.SubjectType != "" {
		t.Fatalf("web identity: %v %+v", err, out.Federation)
	}
}
