package policy

// Kind is the role a document plays. It decides which elements are
// required or forbidden (IAM User Guide, reference_policies_elements).
type Kind uint8

// Kinds.
const (
	// Identity policies are attached to users and roles. No Principal;
	// Resource required. Permissions boundaries and session policies are
	// identity-kind documents too.
	Identity Kind = iota + 1
	// Trust is a role's trust policy: a resource policy whose only
	// actions are sts ones and which has no Resource.
	Trust
	// Resource is a resource-based policy (for the authorization API):
	// Principal and Resource required.
	Resource
)

func (k Kind) String() string {
	switch k {
	case Identity:
		return "identity"
	case Trust:
		return "trust"
	case Resource:
		return "resource"
	}
	return "unknown"
}

// Version is the policy language version.
type Version uint8

// Versions. A document without Version is 2008-10-17, in which policy
// variables are plain text (reference_policies_elements_version).
const (
	V2008 Version = iota + 1
	V2012
)

func (v Version) String() string {
	if v == V2012 {
		return "2012-10-17"
	}
	return "2008-10-17"
}

// Effect is Allow or Deny.
type Effect uint8

// Effects.
const (
	Allow Effect = iota + 1
	Deny
)

func (e Effect) String() string {
	if e == Deny {
		return "Deny"
	}
	return "Allow"
}

// Document is a parsed and validated policy. It is immutable and safe for
// concurrent use.
type Document struct {
	Kind       Kind
	Version    Version
	ID         string
	Statements []*Statement
	// Text is the document as given, for sizes and messages.
	Text string
}

// Statement is one compiled statement.
type Statement struct {
	Index  int // position in the document, from 0
	Sid    string
	Effect Effect

	principals   *principalSet // nil when the statement has none
	notPrincipal bool
	actions      []pattern // lower-cased, with wildcards
	notAction    bool
	resources    []arnPattern // nil in trust policies
	notResource  bool
	conditions   []condition
}
