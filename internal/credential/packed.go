package credential

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Tag is a session tag (STS API reference, Tag). Keys keep their case but
// compare case-insensitively.
type Tag struct {
	Key        string
	Value      string
	Transitive bool // passed on to sessions this one assumes (role chaining)
}

// IsTagText reports whether s has only the characters tag keys and values
// may hold: [\p{L}\p{Z}\p{N}_.:/=+\-@] (STS API reference, Tag).
func IsTagText(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.In(r, unicode.Z) && !unicode.IsNumber(r) && !strings.ContainsRune("_.:/=+-@", r) {
			return false
		}
	}
	return true
}

// ValidTag checks a tag's key (1 to 128 characters) and value (at most 256).
func ValidTag(key, value string) bool {
	k, v := utf8.RuneCountInString(key), utf8.RuneCountInString(value)
	return k >= 1 && k <= 128 && v <= 256 && IsTagText(key) && IsTagText(value)
}

// Attributes are the parts of a session that AWS counts against the packed
// policy limit: session policies and session tags (aws-sts.md section 5.5).
type Attributes struct {
	Policy     string   // inline session policy, as sent
	PolicyARNs []string // managed session policies
	Tags       []Tag    // session tags, inherited transitive tags first
}

// Packed is Attributes in the compressed form a session token carries.
// PackedBudget bytes of it are 100%.
type Packed struct{ raw []byte }

// PackedBudget is the size that PackedPolicySize reports as 100 percent.
// AWS's packing is proprietary; keyless packs with DEFLATE and picks a
// budget that fits the 2048-character policy limit plus typical tags, and
// keeps a token within about 3 KiB (docs/compatibility.md).
const PackedBudget = 1280

// maxUnpacked bounds decompression of a token's packed attributes.
const maxUnpacked = 64 << 10

var errPacked = errors.New("credential: malformed packed attributes")

// Pack compresses a session's attributes; empty attributes pack to nothing.
func Pack(a Attributes) Packed {
	if a.Policy == "" && len(a.PolicyARNs) == 0 && len(a.Tags) == 0 {
		return Packed{}
	}
	var plain []byte
	str := func(s string) {
		plain = binary.AppendUvarint(plain, uint64(len(s)))
		plain = append(plain, s...)
	}
	str(a.Policy)
	plain = binary.AppendUvarint(plain, uint64(len(a.PolicyARNs)))
	for _, p := range a.PolicyARNs {
		str(p)
	}
	plain = binary.AppendUvarint(plain, uint64(len(a.Tags)))
	for _, t := range a.Tags {
		str(t.Key)
		str(t.Value)
		plain = binary.AppendUvarint(plain, boolByte(t.Transitive))
	}
	var buf bytes.Buffer
	w := writers.Get().(*flate.Writer) // a writer holds ~1 MB of state: reuse them
	w.Reset(&buf)
	_, _ = w.Write(plain) // writes to a bytes.Buffer do not fail
	_ = w.Close()
	writers.Put(w)
	return Packed{raw: buf.Bytes()}
}

var (
	writers = sync.Pool{New: func() any {
		w, _ := flate.NewWriter(nil, flate.BestSpeed) // the level is valid; tiny inputs compress as well as at any level
		return w
	}}
	readers = sync.Pool{New: func() any { return flate.NewReader(nil) }}
)

func boolByte(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// Percent is the share of PackedBudget used, rounded up, as AWS reports
// PackedPolicySize.
func (p Packed) Percent() int { return (len(p.raw)*100 + PackedBudget - 1) / PackedBudget }

// Empty reports whether there is nothing packed.
func (p Packed) Empty() bool { return len(p.raw) == 0 }

// Unpack decodes the attributes, strictly.
func (p Packed) Unpack() (Attributes, error) {
	var a Attributes
	if len(p.raw) == 0 {
		return a, nil
	}
	r := readers.Get().(io.ReadCloser)
	defer readers.Put(r)
	if err := r.(flate.Resetter).Reset(bytes.NewReader(p.raw), nil); err != nil {
		return Attributes{}, errPacked
	}
	plain, err := io.ReadAll(io.LimitReader(r, maxUnpacked+1))
	if err != nil || len(plain) > maxUnpacked {
		return Attributes{}, errPacked
	}
	ok := true
	num := func() int {
		n, k := uvarint(plain)
		if k <= 0 || n > uint64(len(plain)) {
			ok = false
			return 0
		}
		plain = plain[k:]
		return int(n)
	}
	str := func() string {
		n := num()
		if !ok || n > len(plain) {
			ok = false
			return ""
		}
		s := string(plain[:n])
		plain = plain[n:]
		return s
	}
	a.Policy = str()
	for range num() {
		a.PolicyARNs = append(a.PolicyARNs, str())
	}
	for range num() {
		t := Tag{Key: str(), Value: str()}
		switch num() {
		case 0:
		case 1:
			t.Transitive = true
		default:
			ok = false
		}
		a.Tags = append(a.Tags, t)
	}
	if !ok || len(plain) != 0 {
		return Attributes{}, errPacked
	}
	return a, nil
}
