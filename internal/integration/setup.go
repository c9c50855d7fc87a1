package integration

import (
	"strings"
)

// Setup is what the target account needs for a WIF integration: the
// IAM OIDC identity provider and a role whose trust policy is pinned to
// the integration's subject and audience.
type Setup struct {
	ProviderURL, Audience, Subject string
	ProviderARN                    string
	TrustPolicy                    string
	// Commands create both with the AWS CLI, in the target account.
	Commands []string
}

// Setup explains the target's side of a WIF integration (IAM User Guide,
// id_roles_providers_create_oidc and id_roles_create_for-idp_oidc).
func (s *Service) Setup(arn string) (Setup, error) {
	in, ok := s.Lookup(arn)
	if !ok {
		return Setup{}, ErrUnknown
	}
	if in.Method != WIF {
		return Setup{}, nil // an access key needs nothing new of the target
	}
	prefix := ConditionPrefix(s.o.Issuer)
	account, role := "ACCOUNT", "ROLE"
	if parts := strings.SplitN(in.RoleARN, ":", 6); len(parts) == 6 {
		account = parts[4]
		role = parts[5][strings.LastIndexByte(parts[5], '/')+1:]
	}
	out := Setup{ProviderURL: s.o.Issuer, Audience: in.Audience, Subject: in.Subject,
		ProviderARN: "arn:aws:iam::" + account + ":oidc-provider/" + prefix, TrustPolicy: s.TrustPolicy(in)}
	out.Commands = []string{
		"aws iam create-open-id-connect-provider --url " + shellQuote(s.o.Issuer) + " --client-id-list " + shellQuote(in.Audience),
		"cat > trust-policy.json <<'EOF'\n" + out.TrustPolicy + "\nEOF",
		"aws iam create-role --role-name " + shellQuote(role) + " --assume-role-policy-document file://trust-policy.json",
		"aws iam attach-role-policy --role-name " + shellQuote(role) + " --policy-arn arn:aws:iam::aws:policy/ReadOnlyAccess",
	}
	return out, nil
}

// shellQuote makes s one word for a POSIX shell: as it is when it is made
// of characters no shell treats specially, else in single quotes.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
