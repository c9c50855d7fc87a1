package loginapi

import (
	"context"
	"errors"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/keyless-dev/keyless/internal/dpop"
	"github.com/keyless-dev/keyless/internal/edge"
	"github.com/keyless-dev/keyless/internal/jsontext"
	"github.com/keyless-dev/keyless/internal/login"
	"github.com/keyless-dev/keyless/internal/secret"
	"github.com/keyless-dev/keyless/internal/signin"
	"github.com/keyless-dev/keyless/internal/strictjson"
)

// PathToken is CreateOAuth2Token's path.
const PathToken = "/v1/token"

// Service is what the token call needs of package login.
type Service interface {
	Redeem(ctx context.Context, r login.Redemption) (login.Tokens, error)
	Refresh(ctx context.Context, r login.RefreshRequest) (login.Tokens, error)
}

// Options wire a Handler.
type Options struct {
	Login Service
	// PublicURL is keyless's public URL, without a trailing slash: DPoP
	// proofs must name PublicURL+PathToken (never a URL the request's
	// headers suggest).
	PublicURL string
	Region    string
}

// Handler serves the token call.
type Handler struct{ o Options }

// New returns a Handler.
func New(o Options) *Handler { return &Handler{o: o} }

// Surface mounts the token call. Every call records one
// CreateOAuth2Token event, as CloudTrail's signin.amazonaws.com does.
func (h *Handler) Surface() *edge.Surface {
	return &edge.Surface{Name: "signin", Wire: wire{}, Routes: []edge.Route{{
		Pattern: PathToken, MaxBody: 8 << 10, Handle: h.token, Accepts: IsTokenCall,
		Event: &edge.Event{Source: "signin.amazonaws.com", Name: "CreateOAuth2Token", Category: "Management", Management: true,
			Region: h.o.Region, Params: true},
	}}}
}

// IsTokenCall tells CreateOAuth2Token from the RFC 8693 token endpoint
// that shares its path: the signin clients send a DPoP proof with every
// call, RFC 8693 clients none (a call without one is answered as RFC
// 8693's, docs/compatibility.md).
func IsTokenCall(r *http.Request) bool { return len(r.Header.Values("DPoP")) > 0 }

// Bounds of the body's members (the signin model's constraints).
const (
	maxCode         = 512
	maxRefreshToken = 2048
	maxRedirectURI  = 2048
)

func invalid(reason, msg string) *login.Error {
	return &login.Error{Code: login.InvalidRequest, Reason: reason, Msg: msg}
}

var errMethod = errors.New("method not allowed")

func (h *Handler) token(c *edge.Call) (any, error) {
	r := c.Request
	if r.Method != http.MethodPost {
		f := wire{}.Refuse(errMethod)
		f.Allow = http.MethodPost
		return nil, &f
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, invalid("content_type", "Send the request as application/json.")
	}
	raw, err := c.Body()
	if err != nil {
		return nil, err
	}
	body, err := strictjson.ParseObject(raw)
	if err != nil {
		return nil, invalid("body_not_strict_json", "The request body is not a JSON object.")
	}
	field := func(name string, max int) (string, error) {
		v, ok := body[name]
		if !ok {
			return "", nil
		}
		s, ok := strictjson.Unquote(v)
		if !ok || len(s) > max {
			return "", invalid(name+"_invalid", name+" must be a string of at most "+strconv.Itoa(max)+" characters.")
		}
		return s, nil
	}
	var in struct{ client, grant, code, redirect, verifier, refresh string }
	for _, f := range []struct {
		name string
		max  int
		to   *string
	}{
		{"clientId", 64, &in.client}, {"grantType", 64, &in.grant}, {"code", maxCode, &in.code},
		{"redirectUri", maxRedirectURI, &in.redirect}, {"codeVerifier", 128, &in.verifier}, {"refreshToken", maxRefreshToken, &in.refresh},
	} {
		if *f.to, err = field(f.name, f.max); err != nil {
			return nil, err
		}
	}
	ev := c.Event
	ev.RequestParameters["clientId"] = in.client
	ev.RequestParameters["grantType"] = in.grant
	if in.redirect != "" {
		ev.RequestParameters["redirectUri"] = in.redirect
	}
	if in.client != login.SameDevice && in.client != login.CrossDevice {
		return nil, invalid("client_id_invalid", "clientId must be "+login.SameDevice+" or "+login.CrossDevice+".")
	}
	proofs := r.Header.Values("DPoP")
	if len(proofs) > 1 {
		return nil, invalid("dpop_repeated", "Send one DPoP header.")
	}
	proof, err := dpop.Verify(strings.Join(proofs, ""), http.MethodPost, h.o.PublicURL+PathToken, c.Now())
	if err != nil {
		return nil, err
	}
	var t login.Tokens
	switch in.grant {
	case "authorization_code":
		if in.code == "" || in.redirect == "" || in.verifier == "" {
			return nil, invalid("authorization_code_incomplete", "An authorization_code call needs code, redirectUri and codeVerifier.")
		}
		t, err = h.o.Login.Redeem(c.Context(), login.Redemption{Client: in.client, Code: secret.NewString(in.code), RedirectURI: in.redirect,
			Origin:   c.Origin(h.o.Region),
			Verifier: secret.NewString(in.verifier), Proof: proof})
	case "refresh_token":
		if in.refresh == "" {
			return nil, invalid("refresh_token_missing", "A refresh_token call needs refreshToken.")
		}
		t, err = h.o.Login.Refresh(c.Context(), login.RefreshRequest{Client: in.client, Token: secret.NewString(in.refresh), Proof: proof,
			Origin: c.Origin(h.o.Region)})
	default:
		return nil, invalid("grant_type_unsupported", "grantType must be authorization_code or refresh_token.")
	}
	if le, ok := errors.AsType[*login.Error](err); ok && le.Family != "" {
		// A replayed code or token: whose session it was, and which.
		t.Principal = le.Principal
		ev.AdditionalEventData = map[string]string{"success": "false", "family": le.Family}
	}
	if t.Principal.ARN != "" {
		ev.UserIdentity = signin.UserIdentity(t.Principal)
	}
	if err != nil {
		return nil, err
	}
	life := expiresIn(t, c)
	ev.IssuedKeyID = t.Credentials.AccessKeyID
	ev.ResponseElements = map[string]any{"accessKeyId": t.Credentials.AccessKeyID, "expiresIn": life}
	ev.AdditionalEventData = map[string]string{"success": "true", "family": t.Family, "generation": strconv.FormatUint(uint64(t.Generation), 10),
		"graced": strconv.FormatBool(t.Graced), "dpopKeyThumbprint": proof.JKT}
	return answer{t: t, expiresIn: life}, nil
}

// expiresIn is the credentials' remaining life in seconds, 1 to 900 (the
// model's bounds).
func expiresIn(t login.Tokens, c *edge.Call) int {
	s := int(t.Credentials.Expiration.Sub(c.Now()).Seconds())
	return min(max(s, 1), 900)
}

// answer is CreateOAuth2Token's output: the payload member, unwrapped.
type answer struct {
	t         login.Tokens
	expiresIn int
}

// AppendJSON writes the answer (signin-and-issuer.md section 1.2).
func (a answer) AppendJSON(b []byte) []byte {
	c := a.t.Credentials
	b = jsontext.AppendString(append(b, `{"accessToken":{"accessKeyId":`...), c.AccessKeyID)
	b = jsontext.AppendString(append(b, `,"secretAccessKey":`...), c.Secret.Reveal())
	b = jsontext.AppendString(append(b, `,"sessionToken":`...), c.SessionToken.Reveal())
	b = append(b, `},"tokenType":"aws_sigv4","expiresIn":`...)
	b = strconv.AppendInt(b, int64(a.expiresIn), 10)
	b = jsontext.AppendString(append(b, `,"refreshToken":`...), a.t.RefreshToken.Reveal())
	if !a.t.IDToken.IsZero() {
		b = jsontext.AppendString(append(b, `,"idToken":`...), a.t.IDToken.Reveal())
	}
	return append(b, '}')
}
