package arn

import (
	"errors"
	"strings"
)

// ARN is a parsed Amazon Resource Name:
// arn:partition:service:region:account-id:resource.
type ARN struct {
	Partition string
	Service   string
	Region    string
	AccountID string
	Resource  string
}

// ErrInvalid reports a string that is not a well-formed ARN.
var ErrInvalid = errors.New("invalid ARN")

// Parse splits s into its six fields. It checks only the shape; callers
// check the fields they care about.
func Parse(s string) (ARN, error) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] == "" || parts[5] == "" {
		return ARN{}, ErrInvalid
	}
	return ARN{Partition: parts[1], Service: parts[2], Region: parts[3], AccountID: parts[4], Resource: parts[5]}, nil
}

// AccountOf is the account field of an ARN, "" if s is not one.
func AccountOf(s string) string {
	a, err := Parse(s)
	if err != nil {
		return ""
	}
	return a.AccountID
}

// String formats the ARN.
func (a ARN) String() string {
	return "arn:" + a.Partition + ":" + a.Service + ":" + a.Region + ":" + a.AccountID + ":" + a.Resource
}

// Partition is the only partition keyless issues ARNs in.
const Partition = "aws"

// IsAccountID reports whether s is a 12-digit AWS account id.
func IsAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// IsName reports whether s is a valid IAM user or role name:
// 1..64 characters of [\w+=,.@-].
func IsName(s string) bool {
	if len(s) < 1 || len(s) > 64 {
		return false
	}
	return IsNameChars(s)
}

// IsNameChars reports whether every byte of s is in [\w+=,.@-], the
// character class AWS uses for IAM names, session names and serial numbers.
func IsNameChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) {
			return false
		}
	}
	return true
}

// IsSerialChars reports whether every byte of s is in [\w+=/:,.@-], the
// class of MFA serial numbers (serialNumberType).
func IsSerialChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isNameByte(s[i]) && s[i] != '/' && s[i] != ':' {
			return false
		}
	}
	return true
}

// IsWordChars reports whether every byte of s is in [\w], the class of
// access key ids (accessKeyIdType).
func IsWordChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

func isNameByte(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("_+=,.@-", c) >= 0
}

// IsPath reports whether p is a valid IAM path: "/" or "/seg/.../",
// 1..512 characters of printable ASCII (U+0021..U+007E).
func IsPath(p string) bool {
	if len(p) < 1 || len(p) > 512 || p[0] != '/' || p[len(p)-1] != '/' {
		return false
	}
	if strings.Contains(p, "//") {
		return false
	}
	for i := 0; i < len(p); i++ {
		if p[i] < 0x21 || p[i] > 0x7e {
			return false
		}
	}
	return true
}

// User formats arn:aws:iam::ACCOUNT:user/PATHNAME.
func User(account, path, name string) string {
	return "arn:aws:iam::" + account + ":user" + path + name
}

// Root formats arn:aws:iam::ACCOUNT:root.
func Root(account string) string {
	return "arn:aws:iam::" + account + ":root"
}

// MFA formats arn:aws:iam::ACCOUNT:mfa/NAME, a virtual MFA device.
func MFA(account, name string) string {
	return "arn:aws:iam::" + account + ":mfa/" + name
}

// Role formats arn:aws:iam::ACCOUNT:role/PATHNAME.
func Role(account, path, name string) string {
	return "arn:aws:iam::" + account + ":role" + path + name
}

// Policy formats arn:aws:iam::ACCOUNT:policy/PATHNAME, a managed policy.
func Policy(account, path, name string) string {
	return "arn:aws:iam::" + account + ":policy" + path + name
}

// AssumedRole formats arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION; the
// role's path is not part of it (IAM User Guide, reference_identifiers).
func AssumedRole(account, role, session string) string {
	return "arn:aws:sts::" + account + ":assumed-role/" + role + "/" + session
}

// FederatedUser formats arn:aws:sts::ACCOUNT:federated-user/NAME.
func FederatedUser(account, name string) string {
	return "arn:aws:sts::" + account + ":federated-user/" + name
}

// ParseIAM parses an IAM ARN of the given resource type ("role", "user",
// "policy") into account, path and name: arn:aws:iam::ACCOUNT:TYPE/PATH/NAME.
// The path must be a valid IAM path without "." or ".." segments, and the
// name a valid IAM name.
func ParseIAM(s, typ string) (account, path, name string, ok bool) {
	a, err := Parse(s)
	if err != nil || a.Partition != "aws" || a.Service != "iam" || a.Region != "" || !IsAccountID(a.AccountID) {
		return "", "", "", false
	}
	rest, found := strings.CutPrefix(a.Resource, typ+"/")
	if !found {
		return "", "", "", false
	}
	i := strings.LastIndexByte(rest, '/')
	path, name = "/"+rest[:i+1], rest[i+1:]
	validName := IsName(name)
	if typ == "policy" { // policy names are up to 128 characters
		validName = len(name) >= 1 && len(name) <= 128 && IsNameChars(name)
	}
	if !IsPath(path) || !validName || strings.Contains(path, "/./") || strings.Contains(path, "/../") {
		return "", "", "", false
	}
	return a.AccountID, path, name, true
}
