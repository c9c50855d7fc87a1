package outbound

import (
	"fmt"
	"net/netip"
	"slices"
)

// class is what an address is, as far as the dial policy cares.
type class int

const (
	public   class = iota // routable on the internet
	loopback              // 127.0.0.0/8, ::1
	private               // RFC 1918, CGNAT, unique-local, link-local
	denied                // never dialed
)

// policy decides which classes may be dialed.
type policy struct {
	allowPrivate  bool
	allowLoopback bool
	loopbackOnly  bool // plain http: nothing but loopback
}

// check returns an error wrapping ErrRefused unless a may be dialed.
func (p policy) check(a netip.Addr) error {
	c, why := classify(a)
	switch {
	case c == denied:
	case p.loopbackOnly:
		if c == loopback {
			return nil
		}
		why = "not loopback, and plain http is only for loopback"
	case c == public,
		c == loopback && p.allowLoopback,
		c == private && p.allowPrivate:
		return nil
	}
	return fmt.Errorf("%w: address %s is %s", ErrRefused, a, why)
}

func mustPrefixes(s ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(s))
	for i, v := range s {
		out[i] = netip.MustParsePrefix(v)
	}
	return out
}

func mustAddrs(s ...string) []netip.Addr {
	out := make([]netip.Addr, len(s))
	for i, v := range s {
		out[i] = netip.MustParseAddr(v)
	}
	return out
}

func inAny(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

var (
	// Cloud instance metadata and container credential endpoints: AWS IMDS
	// (v4 and v6), ECS task credentials, EKS Pod Identity, Alibaba.
	// GCP, Azure and OCI use 169.254.169.254 or 192.0.0.192 (denied anyway).
	metadata = mustAddrs(
		"169.254.169.254", "169.254.170.2", "169.254.170.23",
		"100.100.100.200",
		"fd00:ec2::254", "fd00:ec2::23",
	)

	// IPv4 special-purpose ranges (RFC 6890 registry) that are never fetched.
	denied4 = []struct {
		p   netip.Prefix
		why string
	}{
		{netip.MustParsePrefix("0.0.0.0/8"), "unspecified (RFC 1122)"},
		{netip.MustParsePrefix("255.255.255.255/32"), "broadcast (RFC 919)"},
		{netip.MustParsePrefix("224.0.0.0/4"), "multicast (RFC 5771)"},
		{netip.MustParsePrefix("240.0.0.0/4"), "reserved (RFC 1112)"},
		{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignment (RFC 6890)"},
		{netip.MustParsePrefix("192.0.2.0/24"), "documentation (RFC 5737)"},
		{netip.MustParsePrefix("198.51.100.0/24"), "documentation (RFC 5737)"},
		{netip.MustParsePrefix("203.0.113.0/24"), "documentation (RFC 5737)"},
		{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking (RFC 2544)"},
		{netip.MustParsePrefix("192.88.99.0/24"), "6to4 relay anycast (RFC 7526)"},
	}
	loopback4 = netip.MustParsePrefix("127.0.0.0/8")
	private4  = mustPrefixes(
		"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", // RFC 1918
		"100.64.0.0/10",  // CGNAT, RFC 6598
		"169.254.0.0/16", // link-local, RFC 3927
	)

	nat64      = netip.MustParsePrefix("64:ff9b::/96")      // RFC 6052
	translated = netip.MustParsePrefix("::ffff:0:0:0/96")   // SIIT, RFC 2765
	sixToFour  = netip.MustParsePrefix("2002::/16")         // RFC 3056
	global6    = netip.MustParsePrefix("2000::/3")          // RFC 4291
	ula6       = netip.MustParsePrefix("fc00::/7")          // RFC 4193
	linkLocal6 = netip.MustParsePrefix("fe80::/10")         // RFC 4291
	doc6       = mustPrefixes("2001:db8::/32", "3fff::/20") // RFC 3849, RFC 9637
	ietf6      = netip.MustParsePrefix("2001::/23")         // RFC 2928: Teredo, benchmarking, ORCHID...
)

// classify says what a is and, for anything not public, why.
func classify(a netip.Addr) (class, string) {
	a = a.WithZone("") // Prefix.Contains is false for zoned addresses
	if !a.IsValid() {
		return denied, "invalid"
	}
	if a.Is4In6() {
		// ::ffff:a.b.c.d reaches a.b.c.d itself (RFC 4291 §2.5.5.2).
		return classify4(a.Unmap())
	}
	if a.Is4() {
		return classify4(a)
	}
	switch {
	case slices.Contains(metadata, a):
		return denied, "a cloud metadata endpoint"
	case a.IsUnspecified():
		return denied, "unspecified (RFC 4291)"
	case a == netip.IPv6Loopback():
		return loopback, "loopback"
	case nat64.Contains(a), translated.Contains(a), sixToFour.Contains(a):
		// The embedded IPv4 address is reached through a translator or
		// relay, so only a public one is acceptable.
		b := a.As16()
		v4 := netip.AddrFrom4([4]byte(b[12:16]))
		if sixToFour.Contains(a) {
			v4 = netip.AddrFrom4([4]byte(b[2:6]))
		}
		if c, why := classify4(v4); c != public {
			return denied, "a translated form of an address that is " + why
		}
		return public, ""
	case a.IsMulticast():
		return denied, "multicast (RFC 4291)"
	case ula6.Contains(a):
		return private, "unique-local (RFC 4193)"
	case linkLocal6.Contains(a):
		return private, "link-local (RFC 4291)"
	case !global6.Contains(a):
		// IPv4-compatible ::/96, discard-only 100::/64, 64:ff9b:1::/48,
		// deprecated site-local fec0::/10...
		return denied, "reserved (RFC 4291)"
	case inAny(a, doc6):
		return denied, "documentation (RFC 3849, RFC 9637)"
	case ietf6.Contains(a):
		return denied, "an IETF protocol assignment (RFC 2928)"
	}
	return public, ""
}

func classify4(a netip.Addr) (class, string) {
	if slices.Contains(metadata, a) {
		return denied, "a cloud metadata endpoint"
	}
	for _, d := range denied4 {
		if d.p.Contains(a) {
			return denied, d.why
		}
	}
	switch {
	case loopback4.Contains(a):
		return loopback, "loopback"
	case inAny(a, private4):
		return private, "private"
	}
	return public, ""
}
