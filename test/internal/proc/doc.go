// Package proc builds the keyless binary and runs it the way users do:
// `keyless serve` as a real process whose JSON log says where it listens,
// and the offline commands with their exit codes. It is the one way the
// end-to-end and fault suites start, stop and read keyless.
package proc
