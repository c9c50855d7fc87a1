package sts

import (
	"strconv"
	"time"

	"github.com/keyless-dev/keyless/internal/arn"
	"github.com/keyless-dev/keyless/internal/credential"
	"github.com/keyless-dev/keyless/internal/iam"
)

// Role session durations (STS API reference, AssumeRole; aws-sts.md 5.3).
const (
	defaultRoleSession = time.Hour
	minRoleSession     = 15 * time.Minute
	chainedSessionCap  = time.Hour
)

const msgRoleDuration = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."

// roleSession is a role session about to be issued: every AssumeRole*
// action, and every identity source, ends by issuing one.
type roleSession struct {
	role   *iam.RoleInfo
	issuer credential.Issuer
	name   string
	// duration is the one asked for; zero is the default hour.
	duration time.Duration
	// shorten is an identity provider's own limit (SAML's SessionDuration
	// attribute): it only shortens the session.
	shorten time.Duration
	// notAfter, if set, is when the proof's own session ends (SAML's
	// SessionNotOnOrAfter, the token exchange's proof, the calling
	// session of AssumeRole): credentials never outlive it, and ended is
	// the refusal when no time is left.
	notAfter time.Time
	ended    error

	policy         string
	policyARNs     []string
	tags           []credential.Tag
	mfaAt          time.Time
	sourceIdentity string
	federation     *credential.Federation
	// passed reports session policies or tags in the request itself: the
	// answer then says how much of the packed space they take.
	passed bool
}

// issueRoleSession ends every role session alike (aws-sts.md sections 5.3
// to 5.5): the duration's default and the role's cap, the session policy
// ARNs, the packed size, the session, and the answer every AssumeRole*
// action gives.
func (s *Service) issueRoleSession(rs roleSession) (AssumeRoleResult, error) {
	if n := len(rs.name); n < 2 || n > 64 || !arn.IsNameChars(rs.name) {
		return AssumeRoleResult{}, validation("session_name_invalid", "The session name is not valid.")
	}
	d := rs.duration
	switch {
	case d == 0:
		d = defaultRoleSession
	case d < minRoleSession || d > rs.role.MaxSessionDuration:
		return AssumeRoleResult{}, validation("role_duration", msgRoleDuration)
	}
	if rs.shorten > 0 && rs.shorten < d {
		d = rs.shorten
	}
	if err := s.checkPolicyARNs(rs.policyARNs, rs.role.Account); err != nil {
		return AssumeRoleResult{}, err
	}
	packed := credential.Pack(credential.Attributes{Policy: rs.policy, PolicyARNs: rs.policyARNs, Tags: rs.tags})
	if err := packedFits(packed); err != nil {
		return AssumeRoleResult{}, err
	}
	issued := s.o.Clock.Now().UTC().Truncate(time.Second)
	expires := issued.Add(d)
	if end := rs.notAfter; !end.IsZero() && end.Before(expires) {
		expires = end.UTC().Truncate(time.Second)
	}
	if !expires.After(issued) {
		if rs.ended == nil {
			return AssumeRoleResult{}, &Error{Code: ExpiredIdentityToken, Reason: "session_expired", Msg: "The proof's session has ended."}
		}
		return AssumeRoleResult{}, rs.ended
	}
	sess := &credential.Session{
		IssuedAt:           issued,
		Expiration:         expires,
		Issuer:             rs.issuer,
		Principal:          rs.role.Principal(),
		Name:               rs.name,
		MFAAuthenticatedAt: rs.mfaAt,
		SourceIdentity:     rs.sourceIdentity,
		Packed:             packed,
		Federation:         rs.federation,
	}
	creds, err := s.issue(sess)
	if err != nil {
		return AssumeRoleResult{}, err
	}
	return AssumeRoleResult{
		Credentials:         creds,
		AssumedRoleARN:      arn.AssumedRole(rs.role.Account, rs.role.Name, sess.Name),
		AssumedRoleID:       rs.role.UniqueID + ":" + sess.Name,
		PackedPolicySize:    packed.Percent(),
		HasPackedPolicySize: rs.passed,
		SourceIdentity:      sess.SourceIdentity,
	}, nil
}

// packedFits refuses session policies and tags over the packed limit
// (aws-sts.md section 5.5).
func packedFits(p credential.Packed) error {
	if n := p.Percent(); n > 100 {
		return &Error{Code: PackedPolicyTooLarge, Reason: "packed_policy_too_large",
			Msg: "Packed policy consumes " + strconv.Itoa(n) + "% of allotted space, please use smaller policy."}
	}
	return nil
}

// checkPolicyARNs checks that each session policy ARN names a managed
// policy of the role's account.
func (s *Service) checkPolicyARNs(arns []string, account string) error {
	for _, a := range arns {
		acct, _, _, ok := arn.ParseIAM(a, "policy")
		if _, exists := s.o.Directory.ManagedPolicy(a); !ok || acct != account || !exists {
			return invalidParameter("policy_arn_unknown", "Policy "+a+" does not exist or is not attachable.")
		}
	}
	return nil
}

// issue seals a session and returns its credentials.
func (s *Service) issue(sess *credential.Session) (Credentials, error) {
	token, err := s.o.Tokens.Issue(sess)
	if err != nil {
		return Credentials{}, unavailable("seal_failed", err)
	}
	if len(token.Reveal()) > credential.MaxTokenLen {
		// Never hand out a token that no later request could use; the
		// inputs' own bounds should make this unreachable.
		return Credentials{}, &Error{Code: PackedPolicyTooLarge, Reason: "session_token_too_large",
			Msg: "The session would not fit in a session token; use fewer or shorter session policies, tags and names."}
	}
	return Credentials{AccessKeyID: sess.AccessKeyID, Secret: sess.Secret, SessionToken: token, Expiration: sess.Expiration}, nil
}
