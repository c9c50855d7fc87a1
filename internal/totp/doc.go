// Package totp verifies time-based one-time passwords (RFC 6238, on top of
// HOTP, RFC 4226) and reports which time step a code matched, so that the
// caller can enforce RFC 6238 section 5.2: "The verifier MUST NOT accept the
// second attempt of the OTP after the successful validation has been issued
// for the first OTP". Replay state lives with the caller, not here.
package totp
