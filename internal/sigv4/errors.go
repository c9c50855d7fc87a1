package sigv4

// Failure classifies why a request's signature was refused. The HTTP edge
// maps each class to its AWS error code.
type Failure int

// Failure classes.
const (
	// Missing: no signature at all (MissingAuthenticationToken).
	Missing Failure = iota + 1
	// Incomplete: a signature that does not have the SigV4 shape (IncompleteSignature).
	Incomplete
	// Mismatch: a well-formed signature that is wrong, out of its time
	// window or scoped wrongly (SignatureDoesNotMatch).
	Mismatch
)

// Error is a refused signature. Msg is safe to show to the client: it never
// contains secrets or the computed signature.
type Error struct {
	Failure Failure
	Msg     string
}

func (e *Error) Error() string { return e.Msg }

func incomplete(msg string) error { return &Error{Failure: Incomplete, Msg: msg} }
func mismatch(msg string) error   { return &Error{Failure: Mismatch, Msg: msg} }

// MsgMismatch is AWS's text for a wrong signature.
const MsgMismatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
