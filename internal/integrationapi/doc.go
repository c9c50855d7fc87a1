// Package integrationapi is the HTTP surface of integrations: SigV4-signed
// (service "keyless") JSON calls that list integrations, show one with
// the target's set-up, check one now, and hand a permitted consumer the
// target's credentials in the credential_process shape. Each call is
// authorized by the policy engine on the integration's ARN
// (arn:aws:keyless::ACCOUNT:integration/SPACE/NAME) before anything says
// whether it exists, and audited once.
package integrationapi
