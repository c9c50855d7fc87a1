package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Sign signs req in the header form (IAM User Guide, create-signed-request)
// for a client of keyless, such as the authorization API's: it sets
// X-Amz-Date, X-Amz-Security-Token when sessionToken is given, and
// Authorization, signing host, content-type and every x-amz-* header
// present.
func Sign(req *Request, accessKeyID, secret, sessionToken, region, service string, t time.Time) {
	t = t.UTC()
	req.Header.Set(headerDate, t.Format(timeFormat))
	if sessionToken != "" {
		req.Header.Set(headerSecurityToken, sessionToken)
	}
	s := &Signed{req: req, Time: t, Scope: Scope{Date: t.Format("20060102"), Region: region, Service: service}, AccessKeyID: accessKeyID}
	names := []string{"host"}
	for k := range req.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-amz-") || lk == "content-type" {
			names = append(names, lk)
		}
	}
	sort.Strings(names)
	s.signedHeaders = names
	s.headerKeys = make([]string, len(names))
	for i, n := range names {
		s.headerKeys[i] = http.CanonicalHeaderKey(n)
	}
	mac := hmac.New(sha256.New, SigningKey(secret, s.Scope))
	mac.Write(s.stringToSign())
	req.Header.Set("Authorization", Algorithm+" Credential="+accessKeyID+"/"+s.Scope.Date+"/"+region+"/"+service+"/"+terminator+
		", SignedHeaders="+strings.Join(names, ";")+", Signature="+hex.EncodeToString(mac.Sum(nil)))
}
