package saml

// Kind is the class of a refused assertion.
type Kind int

// Kinds.
const (
	// Invalid: malformed, unsigned, badly signed, or not for us
	// (InvalidIdentityToken).
	Invalid Kind = iota + 1
	// Expired: past its NotOnOrAfter or SessionNotOnOrAfter
	// (ExpiredTokenException).
	Expired
)

// Error is a refused assertion. Msg is what the client sees and never
// quotes the document; Reason is a stable code for the audit log.
type Error struct {
	Kind   Kind
	Reason string
	Msg    string
}

func (e *Error) Error() string { return e.Msg + " (" + e.Reason + ")" }

// Messages AWS sends where known (IAM User Guide, troubleshoot_saml).
const (
	MsgSignatureInvalid = "Response signature invalid"
	MsgInvalidResponse  = "Invalid SAML response."
	MsgExpired          = "Token must be redeemed within 5 minutes of issuance"
	MsgAudience         = "Response does not contain the required audience."
	MsgIssuer           = "Issuer not present in specified provider"
	MsgReplay           = "The SAML assertion has already been used."
)

// Invalidf returns an Invalid refusal.
func invalid(reason, msg string) *Error { return &Error{Kind: Invalid, Reason: reason, Msg: msg} }

// Refuse returns an Invalid refusal with the generic message, for the
// verifier's structural checks: which check failed goes to the audit log,
// not to the client (security.md 3.0, rule 4).
func Refuse(reason string) *Error { return invalid(reason, MsgInvalidResponse) }

// BadSignature is the refusal for any signature failure.
func BadSignature(reason string) *Error { return invalid(reason, MsgSignatureInvalid) }
