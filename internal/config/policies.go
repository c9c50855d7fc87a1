package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/arn"
	"github.com/keyless-dev/keyless/internal/iam"
	"github.com/keyless-dev/keyless/internal/policy"
)

// IAM quotas on policy sizes, in characters other than white space
// (IAM User Guide, reference_iam-quotas).
const (
	maxManagedPolicyChars = 6144
	maxTrustPolicyChars   = 4096
	maxRoleInlineChars    = 10240
	maxUserInlineChars    = 2048
	maxAttachedPolicies   = 20
)

// document reads and compiles a policy given inline or in a file.
func (v *validator) document(path, field, inline, file string, kind policy.Kind, maxChars int) *policy.Document {
	if (inline == "") == (file == "") {
		v.at(path, "give exactly one of %s or %s_file", field, field)
		return nil
	}
	text, at := inline, path+"."+field
	if file != "" {
		at = path + "." + field + "_file"
		if !filepath.IsAbs(file) {
			file = filepath.Join(v.dir, file)
		}
		f, err := os.Open(file)
		if err != nil {
			v.at(at, "%v", err)
			return nil
		}
		defer f.Close()
		b, err := io.ReadAll(io.LimitReader(f, policy.MaxDocumentBytes+1))
		if err != nil {
			v.at(at, "%v", err)
			return nil
		}
		text = string(b)
	}
	if n := policy.CharCount(text); n > maxChars {
		v.at(at, "the policy has %d characters other than white space; at most %d are allowed", n, maxChars)
		return nil
	}
	d, err := policy.Parse(kind, text)
	if err != nil {
		v.at(at, "MalformedPolicyDocument: %v", err)
		return nil
	}
	return d
}

// managedPolicies compiles an account's managed policies into byARN.
func (v *validator) managedPolicies(path, account string, mps []ManagedPolicy, byARN map[string]policy.Named) {
	for i, mp := range mps {
		p := idx(path+".managed_policies", i)
		if !isPolicyName(mp.Name) {
			v.at(p+".name", "must be 1 to 128 characters of letters, digits and _+=,.@-")
		}
		mpath := or(mp.Path, "/")
		if !arn.IsPath(mpath) {
			v.at(p+".path", `must be "/" or "/segment/.../", at most 512 printable ASCII characters`)
		}
		if len(mp.Description) > 1000 {
			v.at(p+".description", "at most 1000 characters")
		}
		a := arn.Policy(account, mpath, mp.Name)
		if _, dup := byARN[strings.ToLower(a)]; dup {
			v.at(p+".name", "policy %s is declared twice (IAM names are case-insensitive)", a)
		}
		d := v.document(p, "document", mp.Document, mp.DocumentFile, policy.Identity, maxManagedPolicyChars)
		if d != nil {
			byARN[strings.ToLower(a)] = policy.Named{Name: a, Doc: d}
		}
	}
}

// attached resolves a principal's inline policies, managed policy ARNs
// and permissions boundary. owner names the principal in decisions, like
// "user/alice".
func (v *validator) attached(path, owner string, inline []InlinePolicy, managed []string, boundary string, maxInline int, byARN map[string]policy.Named) ([]policy.Named, *policy.Named) {
	var out []policy.Named
	names := map[string]bool{}
	total := 0
	for i, ip := range inline {
		p := idx(path+".policies", i)
		if !isPolicyName(ip.Name) {
			v.at(p+".name", "must be 1 to 128 characters of letters, digits and _+=,.@-")
		} else if names[strings.ToLower(ip.Name)] {
			v.at(p+".name", "inline policy %q is declared twice", ip.Name)
		}
		names[strings.ToLower(ip.Name)] = true
		if d := v.document(p, "document", ip.Document, ip.DocumentFile, policy.Identity, maxInline); d != nil {
			total += policy.CharCount(d.Text)
			out = append(out, policy.Named{Name: "inline policy " + ip.Name + " of " + owner, Doc: d})
		}
	}
	if total > maxInline {
		v.at(path+".policies", "inline policies have %d characters other than white space together; at most %d are allowed", total, maxInline)
	}
	if len(managed) > maxAttachedPolicies {
		v.at(path+".managed_policies", "at most %d managed policies", maxAttachedPolicies)
	}
	seen := map[string]bool{}
	for i, a := range managed {
		p := idx(path+".managed_policies", i)
		n, ok := byARN[strings.ToLower(a)]
		switch {
		case !ok:
			v.at(p, "no managed policy %s is declared in this account", a)
		case seen[n.Name]:
			v.at(p, "%s is attached twice", a)
		default:
			out = append(out, n)
		}
		seen[n.Name] = true
	}
	if boundary == "" {
		return out, nil
	}
	b, ok := byARN[strings.ToLower(boundary)]
	if !ok {
		v.at(path+".permissions_boundary", "no managed policy %s is declared in this account", boundary)
		return out, nil
	}
	return out, &b
}

func (v *validator) role(path, account string, r Role, byARN map[string]policy.Named) iam.RoleInfo {
	out := iam.RoleInfo{Account: account, Name: r.Name, Path: or(r.Path, "/"), UniqueID: r.ID, Description: r.Description, Tags: r.Tags,
		BroadTrustIntended: r.BroadTrustIntended}
	if !arn.IsName(r.Name) {
		v.at(path+".name", "must be 1 to 64 characters of letters, digits and _+=,.@-")
	}
	if !arn.IsPath(out.Path) {
		v.at(path+".path", `must be "/" or "/segment/.../", at most 512 printable ASCII characters`)
	}
	if r.ID != "" && !isUniqueID(r.ID, "AROA") {
		v.at(path+".id", "must be AROA followed by 16 to 124 upper-case letters and digits")
	}
	if len(r.Description) > 1000 {
		v.at(path+".description", "at most 1000 characters")
	}
	out.MaxSessionDuration = time.Hour
	if r.MaxSessionDuration != 0 {
		out.MaxSessionDuration = r.MaxSessionDuration
		if r.MaxSessionDuration < time.Hour || r.MaxSessionDuration > 12*time.Hour || r.MaxSessionDuration%time.Second != 0 {
			v.at(path+".max_session_duration", "must be whole seconds between 1h and 12h (3600 to 43200 seconds)")
		}
	}
	v.tags(path+".tags", r.Tags)
	out.Trust = v.document(path, "trust_policy", r.TrustPolicy, r.TrustPolicyFile, policy.Trust, maxTrustPolicyChars)
	if out.Trust != nil && !r.BroadTrustIntended {
		if broad := out.Trust.BroadTrust(account); len(broad) > 0 {
			v.at(path+".trust_policy", "%s without a condition; add a condition, or set broad_trust_intended: true if that is what you want",
				strings.Join(broad, "; "))
		}
	}
	out.Policies, out.Boundary = v.attached(path, "role/"+r.Name, r.Policies, r.ManagedPolicies, r.PermissionsBoundary, maxRoleInlineChars, byARN)
	return out
}

// trustPrincipals checks that every user or role a trust policy names in
// an account of this file exists: IAM refuses "Invalid principal in
// policy" for one that does not.
func (v *validator) trustPrincipals(path string, r *iam.RoleInfo, accounts map[string]bool, exists map[string]bool) {
	if r.Trust == nil {
		return
	}
	for _, p := range r.Trust.AWSPrincipals() {
		a, err := arn.Parse(p)
		if err != nil || !accounts[a.AccountID] {
			continue
		}
		typ, _, _ := strings.Cut(a.Resource, "/")
		if (typ == "user" || typ == "role") && !exists[strings.ToLower(p)] {
			v.at(path+".trust_policy", "MalformedPolicyDocument: Invalid principal in policy: %q does not exist", p)
		}
	}
}

// isPolicyName checks policyNameType: 1..128 of [\w+=,.@-].
func isPolicyName(s string) bool {
	return len(s) >= 1 && len(s) <= 128 && arn.IsNameChars(s)
}
