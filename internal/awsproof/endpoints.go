package awsproof

import (
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/keyless-dev/keyless/internal/outbound"
)

// regionRE is the shape of an AWS region name (us-east-1, ap-southeast-2).
var regionRE = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d{1,2}$`)

// Regional and FIPS STS endpoints: AWS General Reference, "AWS Security
// Token Service endpoints and quotas".
var (
	fipsRegions = []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "ca-west-1"}
	govHosts    = map[string]string{
		"sts.us-gov-west-1.amazonaws.com": "us-gov-west-1",
		"sts.us-gov-east-1.amazonaws.com": "us-gov-east-1",
	}
	cnHosts = map[string]string{
		"sts.cn-north-1.amazonaws.com.cn":     "cn-north-1",
		"sts.cn-northwest-1.amazonaws.com.cn": "cn-northwest-1",
	}
	// Partitions that an Upstream may declare (ARN partition names).
	knownPartitions = []string{"aws", "aws-cn", "aws-us-gov", "aws-iso", "aws-iso-b", "aws-iso-e", "aws-iso-f", "aws-eusc"}
)

// endpoint is an STS the verifier may send a request to.
type endpoint struct {
	scheme    string
	host      string // lower-case, with port if any
	region    string // the credential scope's region must be this one (V-06)
	partition string // the answered ARN's partition must be this one
	upstream  bool   // configured by the operator, not a public AWS endpoint
	client    *outbound.Client
}

// awsEndpoint returns the region and partition of a public AWS STS host
// name (without port), if one of partitions serves it. The match is
// exact: sts.amazonaws.com.spoof, xyz.sts.amazonaws.com, the trailing-dot
// form and any upper-case letter fail (V-07, Consul
// TestValidateSTSHostname).
func awsEndpoint(host string, partitions []string) (region, partition string, ok bool) {
	if slices.Contains(partitions, "aws-us-gov") {
		if r, ok := govHosts[host]; ok {
			return r, "aws-us-gov", true
		}
	}
	if slices.Contains(partitions, "aws-cn") {
		if r, ok := cnHosts[host]; ok {
			return r, "aws-cn", true
		}
	}
	if !slices.Contains(partitions, "aws") {
		return "", "", false
	}
	if host == "sts.amazonaws.com" {
		return "us-east-1", "aws", true
	}
	rest, ok := strings.CutSuffix(host, ".amazonaws.com")
	if !ok {
		return "", "", false
	}
	label, region, ok := strings.Cut(rest, ".")
	if !ok || !commercialRegion(region) {
		return "", "", false
	}
	switch {
	case label == "sts":
		return region, "aws", true
	case label == "sts-fips" && slices.Contains(fipsRegions, region):
		return region, "aws", true
	}
	return "", "", false
}

// commercialRegion: a region name of the aws partition's shape.
func commercialRegion(r string) bool {
	return regionRE.MatchString(r) && !strings.HasPrefix(r, "us-gov-") && !strings.HasPrefix(r, "cn-")
}

// hostChars reports whether s is plain ASCII host[:port] text, so that
// lower-casing cannot fold a look-alike rune into a letter.
func hostChars(s string) bool {
	if s == "" || len(s) > 261 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}

// parseUpstream validates an operator-configured STS.
func parseUpstream(u Upstream) (endpoint, error) {
	pu, err := url.Parse(u.URL)
	if err != nil {
		return endpoint{}, fmt.Errorf("awsproof: upstream %q: malformed URL", u.URL)
	}
	switch {
	case pu.Scheme != "https" && pu.Scheme != "http":
		return endpoint{}, fmt.Errorf("awsproof: upstream %q: scheme must be https", u.URL)
	case pu.Opaque != "" || pu.User != nil || !hostChars(pu.Host) || pu.Hostname() == "":
		return endpoint{}, fmt.Errorf("awsproof: upstream %q: want scheme://host[:port]", u.URL)
	case pu.Path != "" && pu.Path != "/", pu.RawQuery != "", pu.ForceQuery, strings.Contains(u.URL, "#"):
		return endpoint{}, fmt.Errorf("awsproof: upstream %q: no path, query or fragment allowed", u.URL)
	case strings.HasSuffix(pu.Host, ":"):
		return endpoint{}, fmt.Errorf("awsproof: upstream %q: empty port", u.URL)
	case !regionRE.MatchString(u.Region):
		return endpoint{}, fmt.Errorf("awsproof: upstream %q: Region %q is not a region name", u.URL, u.Region)
	}
	if pu.Scheme == "http" {
		h := pu.Hostname()
		ip, err := netip.ParseAddr(h)
		if !u.AllowHTTPLoopback || (err != nil || !ip.IsLoopback()) && !strings.EqualFold(h, "localhost") {
			return endpoint{}, fmt.Errorf("awsproof: upstream %q: plain http only to a loopback host with AllowHTTPLoopback", u.URL)
		}
	}
	if p := pu.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 || p[0] == '0' {
			return endpoint{}, fmt.Errorf("awsproof: upstream %q: bad port", u.URL)
		}
	}
	part := u.Partition
	if part == "" {
		part = "aws"
	}
	if !slices.Contains(knownPartitions, part) {
		return endpoint{}, fmt.Errorf("awsproof: upstream %q: unknown partition %q", u.URL, part)
	}
	return endpoint{scheme: pu.Scheme, host: strings.ToLower(pu.Host), region: u.Region, partition: part, upstream: true}, nil
}
