// Package stsapi is the HTTP edge of the AWS STS API. One dispatcher runs
// the phases every request goes through, so that no action can skip one:
//
//	route and method -> bounded body -> AWS Query parameters -> SigV4
//	-> credential lookup -> signature -> caller checks -> action
//	-> audit event stored -> response (XML, or JSON for Accept: application/json)
//
// Each action has its own file that decodes its parameters into typed sts
// requests and encodes the result; errors.go is the single table from
// refusals to AWS error codes and HTTP statuses.
package stsapi
