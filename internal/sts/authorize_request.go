package sts

import (
	"context"
	"strings"

	"github.com/keyless-dev/keyless/internal/policy"
)

// AccessRequest is a resource server's question about a request it
// received: may its signer do Action on Resource?
type AccessRequest struct {
	Action   string
	Resource string
	// Keys are service-specific condition keys the resource server knows
	// (s3:prefix, …). Global aws: keys come from keyless, never from here.
	Keys map[string][]string
	// ResourcePolicy is the resource's own policy, if it has one, owned
	// by ResourceAccount (default: the signer's account).
	ResourcePolicy  string
	ResourceAccount string
}

// Limits on what a resource server may add to a request context.
const (
	maxAccessKeys   = 32
	maxAccessValues = 16
	maxAccessValue  = 1024
)

// CheckAccess evaluates an access request for the signer of a verified
// request: identity, session and boundary policies, and the resource
// policy if given, with the signer's policy variables. nil means allowed;
// a refusal is AccessDenied with an encoded authorization message.
func (s *Service) CheckAccess(_ context.Context, c Caller, r AccessRequest) error {
	if !validAction(r.Action) || r.Resource == "" || len(r.Resource) > 2048 {
		return validation("access_request_invalid", "action must be service:Action and resource an ARN or *")
	}
	if len(r.Keys) > maxAccessKeys {
		return validation("access_request_invalid", "too many condition keys")
	}
	for k, vs := range r.Keys {
		prefix, name, ok := strings.Cut(k, ":")
		if !ok || prefix == "" || name == "" || strings.EqualFold(prefix, "aws") || strings.EqualFold(prefix, "sts") || len(k) > 256 || len(vs) > maxAccessValues {
			return validation("access_request_invalid", "condition key "+quoteKey(k)+" is not a service key (aws: and sts: keys come from keyless)")
		}
		for _, v := range vs {
			if len(v) > maxAccessValue {
				return validation("access_request_invalid", "condition key "+quoteKey(k)+" has a value over 1024 bytes")
			}
		}
	}
	sub, err := s.subject(&c)
	if err != nil {
		return err
	}
	a := access{Action: r.Action, Resource: r.Resource, ResourceAccount: r.ResourceAccount}
	if len(r.Keys) > 0 {
		a.Keys = func(ctx *policy.Context) {
			for k, vs := range r.Keys {
				ctx.Set(k, vs...)
			}
		}
	}
	if r.ResourcePolicy != "" {
		doc, err := policy.Parse(policy.Resource, r.ResourcePolicy)
		if err != nil {
			return &Error{Code: MalformedPolicyDocument, Msg: err.Error(), Reason: "resource_policy_malformed"}
		}
		a.ResourcePolicy = &policy.Named{Name: "resource policy", Doc: doc}
	}
	if err := s.authorize(sub, a); err != nil {
		return err
	}
	return nil
}

// validAction checks the service:Action form.
func validAction(a string) bool {
	svc, name, ok := strings.Cut(a, ":")
	return ok && svc != "" && name != "" && len(a) <= 256 && !strings.ContainsAny(a, "*? \t\r\n")
}

func quoteKey(k string) string {
	if len(k) > 64 {
		k = k[:64] + "..."
	}
	return "'" + k + "'"
}
