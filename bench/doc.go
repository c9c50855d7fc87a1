// Command bench is keyless's loopback load test (make bench). It starts the
// real keyless binary with the configuration in bench/keyless.yaml and, in the same
// run, a trivial net/http handler in its own process, sends each the same
// pre-signed requests over keep-alive connections, and reports for each
// workload the peak requests/s (closed loop), p50 and p99 latency at half
// of that peak (open loop, latency counted from the scheduled send time),
// the ratio to the trivial handler, and keyless's memory over a longer run.
//
// The token exchange workloads (ExchangeAWS, ExchangeOIDC) cannot replay
// one request, since keyless accepts each proof once: ExchangeAWS signs a
// GetCallerIdentity per request, which a fake upstream STS served by the
// bench itself answers, and ExchangeOIDC takes tokens with unique jti
// from a pool signed before each run. For them the bench also loads the
// fake upstream alone at the same rate and reports keyless's added
// latency, exchange minus upstream, at p50 and p99.
//
// AssumeRoleWithSAML likewise takes Responses signed with RSA-2048, each
// with its own assertion ID, from a pool signed before each run; after the
// runs a flood of one 100,000-character signed Response (verified in full,
// then refused as a replay) reports keyless's memory.
//
// It asserts nothing: docs/benchmarks.md records the figures and the
// targets they are compared with.
package main
