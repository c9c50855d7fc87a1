package awsproof

// Error is a refusal, or (Unavailable) a failure to reach the upstream STS.
// Its text is a short reason; it never holds a header value, the
// signature, a token or the upstream's body (security.md V-01).
type Error struct {
	reason      string
	upstream    string
	unavailable bool
	cause       error // never derived from the envelope
}

// Reason is a short snake_case identifier of the failed check, for the
// audit log: method_not_post, host_not_allowed, replayed, upstream_refused...
func (e *Error) Reason() string { return e.reason }

// Unavailable reports whether the upstream could not be reached, answered
// 5xx or throttled, or the replay store failed: the caller should retry
// later (HTTP 503).
func (e *Error) Unavailable() bool { return e.unavailable }

// Upstream is the AWS error code the upstream answered (such as
// SignatureDoesNotMatch), when it gave one of a sane shape.
func (e *Error) Upstream() string { return e.upstream }

// Unwrap returns the underlying network or storage failure, if any.
func (e *Error) Unwrap() error { return e.cause }

func (e *Error) Error() string {
	s := "awsproof: " + e.reason
	if e.upstream != "" {
		s += " (upstream code " + e.upstream + ")"
	}
	if e.unavailable && e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

func refuse(reason string) error { return &Error{reason: reason} }

func unavailable(reason string, cause error) error {
	return &Error{reason: reason, unavailable: true, cause: cause}
}
