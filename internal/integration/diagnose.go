package integration

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Failure is a failed check or hand-out, classified.
type Failure struct {
	// Code is stable and secret-free: it is recorded and exported.
	Code string
	// Diagnosis says what a person can do.
	Diagnosis string
	// Temporary failures (an unreachable or overloaded target) are
	// answered 503 to consumers, who may retry.
	Temporary bool
	Cause     error
}

func (f *Failure) Error() string { return f.Code + ": " + f.Diagnosis }
func (f *Failure) Unwrap() error { return f.Cause }

// Failure codes.
const (
	FailUnreachable      = "target_unreachable"
	FailUnavailable      = "target_unavailable"
	FailNoProvider       = "oidc_provider_missing"
	FailTokenUnverified  = "token_not_verified"
	FailAudience         = "audience_not_allowed"
	FailTrust            = "trust_policy_denied"
	FailRoleInvalid      = "role_arn_invalid"
	FailTokenExpired     = "token_expired_at_target"
	FailKeyInvalid       = "access_key_invalid"
	FailRegionDisabled   = "region_disabled"
	FailIdentityMismatch = "identity_mismatch"
	FailSigning          = "signing_failed"
	FailOther            = "target_refused"
)

// diagnose turns what the target answered into a failure a person can act
// on (STS API reference, AssumeRoleWithWebIdentity and AssumeRole errors;
// IAM User Guide, troubleshoot_roles and id_roles_providers_oidc).
func (s *Service) diagnose(in *Integration, step string, err error) *Failure {
	var te *TargetError
	if !errors.As(err, &te) {
		return &Failure{Code: FailOther, Diagnosis: step + " failed: " + err.Error(), Cause: err}
	}
	ep := in.Endpoint.URL
	issuer := s.o.Issuer
	if te.Unreachable {
		return &Failure{Code: FailUnreachable, Temporary: true, Cause: err, Diagnosis: fmt.Sprintf(
			"The target STS at %s could not be reached (%v). Check the endpoint, the network path from keyless, and that the region %s is enabled.",
			ep, te.Cause, in.Endpoint.Region)}
	}
	msg := strings.ToLower(te.Message)
	switch {
	case te.Status == 429 || te.Status >= 500 || te.Code == "Throttling" || te.Code == "ServiceUnavailable" || te.Code == "InternalFailure":
		return &Failure{Code: FailUnavailable, Temporary: true, Cause: err, Diagnosis: fmt.Sprintf(
			"The target STS at %s is unavailable (%s %s); keyless will try again.", ep, te.Code, te.Message)}
	case te.Code == "IDPCommunicationError" || te.Code == "InvalidIdentityToken" && (strings.Contains(msg, "retrieve") || strings.Contains(msg, "jwks") ||
		strings.Contains(msg, "verification key") || strings.Contains(msg, "thumbprint") || strings.Contains(msg, "certificate")):
		return &Failure{Code: FailTokenUnverified, Cause: err, Diagnosis: fmt.Sprintf(
			"The target could not verify keyless's token: it could not fetch or trust the keys (%s: %s). It must reach %s/.well-known/openid-configuration and the key set it names over HTTPS, within about 5 seconds, with a certificate it trusts.",
			te.Code, te.Message, issuer)}
	case te.Code == "InvalidIdentityToken" && (strings.Contains(msg, "no openidconnect provider") || strings.Contains(msg, "provider found") ||
		strings.Contains(msg, "not found") || strings.Contains(msg, "issuer")):
		return &Failure{Code: FailNoProvider, Cause: err, Diagnosis: fmt.Sprintf(
			"The target account has no OIDC identity provider for keyless (%s). Register one with provider URL %s and audience %s (`keyless integrations show %s` prints the command).",
			te.Message, issuer, in.Audience, in.Name)}
	case te.Code == "InvalidIdentityToken" && strings.Contains(msg, "audience"):
		return &Failure{Code: FailAudience, Cause: err, Diagnosis: fmt.Sprintf(
			"The target's OIDC provider for %s does not list the audience %s (%s). Add %s to its client ID list (audiences).",
			issuer, in.Audience, te.Message, in.Audience)}
	case te.Code == "ExpiredTokenException" || te.Code == "ExpiredToken":
		return &Failure{Code: FailTokenExpired, Cause: err, Diagnosis: fmt.Sprintf(
			"The target found keyless's credentials or token expired (%s). Check that the clocks of keyless and the target agree.", te.Message)}
	case te.Code == "InvalidIdentityToken":
		return &Failure{Code: FailTokenUnverified, Cause: err, Diagnosis: fmt.Sprintf(
			"The target refused keyless's token (%s). Check that its OIDC provider's URL is exactly %s.", te.Message, issuer)}
	case te.Code == "AccessDenied" && in.Method == WIF:
		return &Failure{Code: FailTrust, Cause: err, Diagnosis: fmt.Sprintf(
			"The target refused to let keyless assume %s (%s). Either the role does not exist, or its trust policy does not allow this integration: it must allow sts:AssumeRoleWithWebIdentity for the provider %s with exactly %s:sub = %s and %s:aud = %s. This trust policy does:\n%s",
			in.RoleARN, te.Message, ConditionPrefix(issuer), ConditionPrefix(issuer), in.Subject, ConditionPrefix(issuer), in.Audience,
			s.TrustPolicy(in))}
	case te.Code == "AccessDenied":
		return &Failure{Code: FailTrust, Cause: err, Diagnosis: fmt.Sprintf(
			"The target refused %s with the access key %s (%s). Either the role does not exist, its trust policy does not allow the key's user, or the user lacks sts:AssumeRole on it.",
			step, in.Key.ID, te.Message)}
	case te.Code == "InvalidClientTokenId" || te.Code == "SignatureDoesNotMatch":
		return &Failure{Code: FailKeyInvalid, Cause: err, Diagnosis: fmt.Sprintf(
			"The target does not accept the access key %s (%s): it was deleted, deactivated or mistyped.", in.Key.ID, te.Code)}
	case te.Code == "RegionDisabledException":
		return &Failure{Code: FailRegionDisabled, Cause: err, Diagnosis: fmt.Sprintf(
			"STS is not activated in region %s of the target account (%s). Activate it, or point the integration at another region.", in.Endpoint.Region, te.Message)}
	case te.Code == "ValidationError" || te.Code == "MalformedPolicyDocument" || te.Code == "InvalidParameterValue":
		return &Failure{Code: FailRoleInvalid, Cause: err, Diagnosis: fmt.Sprintf(
			"The target refused the request's parameters (%s: %s): check the role ARN %s and the session settings.", te.Code, te.Message, in.RoleARN)}
	}
	return &Failure{Code: FailOther, Cause: err, Diagnosis: fmt.Sprintf("The target refused %s: %s %s.", step, te.Code, te.Message)}
}

// TrustPolicy is the trust policy the target role needs for a WIF
// integration: AssumeRoleWithWebIdentity from keyless's provider, pinned
// to the integration's subject and audience.
func (s *Service) TrustPolicy(in *Integration) string {
	prefix := ConditionPrefix(s.o.Issuer)
	account := "ACCOUNT"
	if parts := strings.Split(in.RoleARN, ":"); len(parts) >= 5 && parts[4] != "" {
		account = parts[4]
	}
	type statement struct {
		Effect    string            `json:"Effect"`
		Principal map[string]string `json:"Principal"`
		Action    string            `json:"Action"`
		Condition map[string]any    `json:"Condition"`
	}
	doc := struct {
		Version   string      `json:"Version"`
		Statement []statement `json:"Statement"`
	}{"2012-10-17", []statement{{
		Effect:    "Allow",
		Principal: map[string]string{"Federated": "arn:aws:iam::" + account + ":oidc-provider/" + prefix},
		Action:    "sts:AssumeRoleWithWebIdentity",
		Condition: map[string]any{"StringEquals": map[string]string{prefix + ":aud": in.Audience, prefix + ":sub": in.Subject}},
	}}}
	b, _ := json.MarshalIndent(doc, "", "  ")
	return string(b)
}
