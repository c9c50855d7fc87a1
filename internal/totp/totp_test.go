package totp_test

import (
	"testing"
	"time"

	"github.com/keyless-dev/keyless/internal/totp"
)

// RFC 6238 Appendix B.
func TestRFC6238Vectors(t *testing.T) {
	seeds := map[totp.Algorithm][]byte{
		totp.SHA1:   []byte("12345678901234567890"),
		totp.SHA256: []byte("12345678901234567890123456789012"),
		totp.SHA512: []byte("1234567890123456789012345678901234567890123456789012345678901234"),
	}
	vectors := []struct {
		unix int64
		want [3]string // SHA1, SHA256, SHA512
	}{
		{59, [3]string{"94287082", "46119246", "90693936"}},
		{1111111109, [3]string{"07081804", "68084774", "25091201"}},
		{1111111111, [3]string{"14050471", "67062674", "99943326"}},
		{1234567890, [3]string{"89005924", "91819424", "93441116"}},
		{2000000000, [3]string{"69279037", "90698825", "38618901"}},
		{20000000000, [3]string{"65353130", "77737706", "47863826"}},
	}
	for _, v := range vectors {
		for i, alg := range []totp.Algorithm{totp.SHA1, totp.SHA256, totp.SHA512} {
			p := totp.Params{Digits: 8, Period: 30 * time.Second, Algorithm: alg, Skew: 1}
			now := time.Unix(v.unix, 0)
			if got := p.Code(seeds[alg], p.StepAt(now)); got != v.want[i] {
				t.Errorf("t=%d alg=%d: got %s want %s", v.unix, alg, got, v.want[i])
			}
			step, ok := p.Verify(seeds[alg], v.want[i], now)
			if !ok || step != p.StepAt(now) {
				t.Errorf("Verify t=%d alg=%d = %d,%v", v.unix, alg, step, ok)
			}
		}
	}
}

func TestSkewWindow(t *testing.T) {
	p := totp.Default()
	seed := []byte("12345678901234567890")
	now := time.Unix(1700000000, 0)
	cur := p.StepAt(now)
	for d := int64(-3); d <= 3; d++ {
		step, ok := p.Verify(seed, p.Code(seed, cur+d), now)
		want := d >= -1 && d <= 1
		if ok != want {
			t.Errorf("offset %d: ok=%v want %v", d, ok, want)
		}
		if ok && step != cur+d {
			t.Errorf("offset %d: step %d want %d", d, step, cur+d)
		}
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if _, ok := p.Verify(seed, bad, now); ok {
			t.Errorf("accepted %q", bad)
		}
	}
}
