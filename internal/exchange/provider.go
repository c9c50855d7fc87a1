package exchange

import (
	"time"
)

// Kind is the proof an identity provider accepts.
type Kind int

// Kinds.
const (
	OIDC Kind = iota + 1 // an OIDC ID token signed by the issuer
	AWS                  // a signed sts:GetCallerIdentity request
)

func (k Kind) String() string {
	if k == AWS {
		return "aws"
	}
	return "oidc"
}

// AWSIssuer is the issuer of AWS identities, as Google's workload identity
// federation and Mondoo name it.
const AWSIssuer = "https://sts.amazonaws.com"

// TagTemplate maps claims to one session tag.
type TagTemplate struct {
	Key   string
	Value Template
}

// Provider is an identity provider declared by the operator: which
// external identities it admits (issuer, subject pattern, audiences, claim
// conditions) and the role session a match grants. It stands in for the
// role's trust policy, as a Vault role or a Google workload identity
// provider does.
type Provider struct {
	Account     string
	Name        string
	Description string
	Issuer      string // an OIDC issuer URL, or AWSIssuer
	Kind        Kind
	// Subject is matched against the token's sub, or against the caller's
	// ARN (and, for a role session, the role's ARN; see AWSSubjects).
	Subject Pattern
	// Audiences are the exchange audiences this provider serves: the
	// request's audience must be one, and an OIDC token's aud must
	// contain it, or an AWS request must have signed it.
	Audiences  []string
	Conditions []Condition
	// Role is the name of the granted role, in Account.
	Role     string
	Duration time.Duration // session length; 0 means 1h
	// SessionName makes the role session name; nil uses the subject.
	SessionName       *Template
	SessionTags       []TagTemplate
	TransitiveTagKeys []string
	// Endpoints, for an AWS provider, are the STS hosts (host[:port],
	// lower-case) whose answers it believes. Empty means the public AWS
	// endpoints only: an identity vouched for by a configured upstream
	// (another keyless, moto, a private STS) must be named here, or any
	// account on any upstream could claim the provider's ARNs.
	Endpoints []string
	// AllowTokenReuse lets one OIDC token be exchanged more than once
	// (a Kubernetes service account token reread from its file); by
	// default each token is accepted once (security.md JWT-29).
	AllowTokenReuse bool
}

// ARN names the provider in audit events and in the sessions it grants:
// arn:aws:iam::ACCOUNT:identity-provider/NAME.
func (p *Provider) ARN() string {
	return "arn:aws:iam::" + p.Account + ":identity-provider/" + p.Name
}
