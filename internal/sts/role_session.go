package sts

import (
	"context"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/arn"
	"github.com/keyless-dev/keyless/internal/credential"
)

// RoleSessionRequest asks for a session of a role on behalf of an identity
// that was proven and authorized elsewhere: the token exchange, whose
// identity provider declarations stand in for the role's trust policy.
type RoleSessionRequest struct {
	Account     string
	Role        string // the role's name
	SessionName string
	Duration    time.Duration
	Tags        []credential.Tag
	// Federation names the provider that vouched for the identity; the
	// session carries it into later requests' condition keys and audit.
	Federation credential.Federation
}

// IssueRoleSession issues a session of an existing role without a trust
// decision. The caller must have decided already; everything else
// (session name, duration, tags, packed size) is checked as AssumeRole
// checks it (aws-sts.md sections 5.3 to 5.5).
func (s *Service) IssueRoleSession(_ context.Context, req RoleSessionRequest) (AssumeRoleResult, error) {
	var res AssumeRoleResult
	role, found := s.o.Directory.Role(req.Account, req.Role)
	if !found {
		return res, denied("role_not_found", "The role named by the identity provider does not exist.")
	}
	if n := len(req.SessionName); n < 2 || n > 64 || !arn.IsNameChars(req.SessionName) {
		return res, validation("session_name_invalid", "The session name is not valid.")
	}
	d := req.Duration
	switch {
	case d == 0:
		d = defaultRoleSession
	case d < 15*time.Minute || d > role.MaxSessionDuration:
		return res, validation("role_duration", msgRoleDuration)
	}
	if len(req.Tags) > 50 {
		return res, validation("tags_too_many", "At most 50 session tags are allowed.")
	}
	seen := map[string]bool{}
	for _, t := range req.Tags {
		k := strings.ToLower(t.Key)
		if !credential.ValidTag(t.Key, t.Value) || strings.HasPrefix(k, "aws:") || seen[k] {
			return res, invalidParameter("tag_invalid", "A session tag is not valid.")
		}
		seen[k] = true
	}
	packed := credential.Pack(credential.Attributes{Tags: req.Tags})
	if err := packedFits(packed); err != nil {
		return res, err
	}
	now := s.o.Clock.Now().UTC().Truncate(time.Second)
	fed := req.Federation
	sess := &credential.Session{
		IssuedAt:   now,
		Expiration: now.Add(d),
		Issuer:     credential.IssuerWebIdentity,
		Principal:  role.Principal(),
		Name:       req.SessionName,
		Packed:     packed,
		Federation: &fed,
	}
	return s.issueRole(role, sess, len(req.Tags) > 0)
}
