package integrationapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/awserrors"
	"github.com/keyless-dev/keyless/internal/edge"
	"github.com/keyless-dev/keyless/internal/integration"
	"github.com/keyless-dev/keyless/internal/jsontext"
	"github.com/keyless-dev/keyless/internal/sigauth"
	"github.com/keyless-dev/keyless/internal/sigv4"
	"github.com/keyless-dev/keyless/internal/sts"
)

// Paths and IAM actions.
const (
	PathList = "/v1/integrations"
	pathOne  = "/v1/integrations/{space}/{name}"

	ActionList        = "keyless:ListIntegrations"
	ActionGet         = "keyless:GetIntegration"
	ActionPing        = "keyless:PingIntegration"
	ActionCredentials = "keyless:GetIntegrationCredentials"

	// SigningService is the SigV4 service name of these calls.
	SigningService = "keyless"
)

// Options wire a Handler.
type Options struct {
	Integrations *integration.Service
	Service      *sts.Service
	Auth         *sigauth.Authenticator
	Region       string
}

// Handler serves the integration calls.
type Handler struct{ o Options }

// New returns a Handler.
func New(o Options) *Handler { return &Handler{o: o} }

// Surface mounts the calls.
func (h *Handler) Surface() *edge.Surface {
	route := func(path, event string, readOnly bool, methods []string, handle func(*edge.Call, *sts.Caller, string) (any, error)) edge.Route {
		return edge.Route{Pattern: path, MaxBody: 16 << 10,
			Event:  &edge.Event{Source: "keyless", Name: event, Category: "Management", Management: true, ReadOnly: readOnly, Region: h.o.Region, Params: true},
			Handle: h.authorized(methods, event, handle)}
	}
	return &edge.Surface{Name: "integrations", Wire: wire{}, Routes: []edge.Route{
		route(PathList, "ListIntegrations", true, []string{http.MethodGet}, h.list),
		route(pathOne, "GetIntegration", true, []string{http.MethodGet}, h.get),
		route(pathOne+"/ping", "PingIntegration", false, []string{http.MethodPost}, h.ping),
		route(pathOne+"/credentials", "GetIntegrationCredentials", false, []string{http.MethodGet, http.MethodPost}, h.credentials),
	}}
}

// actions maps each event to its IAM action.
var actions = map[string]string{"ListIntegrations": ActionList, "GetIntegration": ActionGet, "PingIntegration": ActionPing,
	"GetIntegrationCredentials": ActionCredentials}

var (
	errMethod  = errors.New("method not allowed")
	errUnknown = errors.New("no such integration")
)

// authorized checks the method, the signature and the caller's permission
// on the integration's ARN (in the caller's account), then serves.
func (h *Handler) authorized(methods []string, event string, serve func(*edge.Call, *sts.Caller, string) (any, error)) edge.Handler {
	return func(c *edge.Call) (any, error) {
		r := c.Request
		ok := false
		for _, m := range methods {
			ok = ok || r.Method == m
		}
		if !ok {
			f := wire{}.Refuse(errMethod)
			f.Allow = strings.Join(methods, ", ") // RFC 9110 section 15.5.6
			return nil, &f
		}
		body, err := c.Body()
		if err != nil {
			return nil, err
		}
		caller, err := c.Authenticate(h.o.Auth, SigningService, nil, body)
		if err != nil {
			return nil, err
		}
		space := r.PathValue("space")
		if space == "" {
			return serve(c, caller, "") // a list: each entry is authorized
		}
		name := r.PathValue("name")
		if len(space) > 63 || len(name) > 64 {
			// Longer than any space id or integration name: nothing to
			// authorize or to record at that length.
			return nil, errUnknown
		}
		resource := integration.ARN(caller.Principal.Account, space, name)
		c.Event.RequestParameters["integration"] = resource
		if err := h.o.Service.CheckAccess(c.Context(), *caller, sts.AccessRequest{Action: actions[event], Resource: resource}); err != nil {
			return nil, err
		}
		return serve(c, caller, resource)
	}
}

// View is an integration as the API shows it (and the CLI reads it).
type View struct {
	ARN         string `json:"arn"`
	ID          string `json:"id"`
	Space       string `json:"space,omitempty"`
	Name        string `json:"name,omitempty"`
	Auth        string `json:"auth,omitempty"`
	RoleARN     string `json:"role_arn,omitempty"`
	Audience    string `json:"audience,omitempty"`
	Subject     string `json:"wif_subject,omitempty"`
	Endpoint    string `json:"sts_endpoint,omitempty"`
	Status      string `json:"status"`
	DeclaredAt  string `json:"declared_at,omitempty"`
	CheckedAt   string `json:"last_checked_at,omitempty"`
	SucceededAt string `json:"last_success_at,omitempty"`
	AssumedARN  string `json:"assumed_arn,omitempty"`
	Failure     string `json:"failure,omitempty"`
	Diagnosis   string `json:"diagnosis,omitempty"`
	KeyID       string `json:"access_key_id,omitempty"`
	KeyAgeDays  *int   `json:"access_key_age_days,omitempty"`
	KeyWarning  string `json:"access_key_warning,omitempty"`
	Setup       *Setup `json:"setup,omitempty"`
}

// List is GET /v1/integrations's answer.
type List struct {
	Integrations []View `json:"integrations"`
}

// Setup is what the target account needs (integration.Setup).
type Setup struct {
	ProviderURL string   `json:"provider_url"`
	ProviderARN string   `json:"provider_arn"`
	Audience    string   `json:"audience"`
	Subject     string   `json:"wif_subject"`
	TrustPolicy string   `json:"trust_policy"`
	Commands    []string `json:"aws_cli_commands"`
}

func when(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func toJSON(v integration.View) View {
	out := View{ARN: v.ARN, ID: v.ID, Space: v.Space, Name: v.Name, Auth: string(v.Method), RoleARN: v.RoleARN, Audience: v.Audience,
		Subject: v.Subject, Endpoint: v.Endpoint, Status: string(v.Status), DeclaredAt: when(v.DeclaredAt), CheckedAt: when(v.CheckedAt),
		SucceededAt: when(v.SucceededAt), AssumedARN: v.AssumedARN, Failure: v.Failure, Diagnosis: v.Diagnosis, KeyID: v.KeyID,
		KeyWarning: v.KeyWarning}
	if v.KeyID != "" {
		d := int(v.KeyAge / (24 * time.Hour))
		out.KeyAgeDays = &d
	}
	return out
}

// list shows the integrations of the caller's account it may list: each
// is authorized on its own ARN, so that a policy scoped to a space (or
// denying one) shows just that. A caller who may list none, not even on
// integration/*, is refused.
func (h *Handler) list(c *edge.Call, caller *sts.Caller, _ string) (any, error) {
	prefix := "arn:aws:keyless::" + caller.Principal.Account + ":integration/"
	out := List{Integrations: []View{}}
	for _, v := range h.o.Integrations.Current(c.Context()) {
		if strings.HasPrefix(v.ARN, prefix) &&
			h.o.Service.CheckAccess(c.Context(), *caller, sts.AccessRequest{Action: ActionList, Resource: v.ARN}) == nil {
			out.Integrations = append(out.Integrations, toJSON(v))
		}
	}
	if len(out.Integrations) == 0 {
		if err := h.o.Service.CheckAccess(c.Context(), *caller, sts.AccessRequest{Action: ActionList, Resource: prefix + "*"}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (h *Handler) find(ctx context.Context, arn string) (integration.View, error) {
	for _, v := range h.o.Integrations.Current(ctx) {
		if v.ARN == arn {
			return v, nil
		}
	}
	return integration.View{}, errUnknown
}

func (h *Handler) get(c *edge.Call, _ *sts.Caller, arn string) (any, error) {
	v, err := h.find(c.Context(), arn)
	if err != nil {
		return nil, err
	}
	out := toJSON(v)
	if s, err := h.o.Integrations.Setup(arn); err == nil && s.ProviderURL != "" {
		out.Setup = &Setup{ProviderURL: s.ProviderURL, ProviderARN: s.ProviderARN, Audience: s.Audience, Subject: s.Subject,
			TrustPolicy: s.TrustPolicy, Commands: s.Commands}
	}
	return out, nil
}

func (h *Handler) ping(c *edge.Call, _ *sts.Caller, arn string) (any, error) {
	v, err := h.o.Integrations.Ping(c.Context(), arn)
	if errors.Is(err, integration.ErrUnknown) {
		return nil, errUnknown
	}
	if err != nil {
		return nil, err
	}
	c.Event.ResponseElements = map[string]any{"status": string(v.Status)}
	if v.Failure != "" {
		c.Event.AdditionalEventData = map[string]string{"failure": v.Failure}
	}
	return toJSON(v), nil
}

// ProcessCredentials is the credential_process output, version 1 (AWS
// CLI User Guide, cli-configure-sourcing-external).
type ProcessCredentials struct {
	Version         int    `json:"Version"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	SessionToken    string `json:"SessionToken,omitempty"`
	Expiration      string `json:"Expiration"`
}

// AppendJSON appends p as encoding/json would write it, without its
// reflection: a cached hand-out is answered many times a second.
func (p ProcessCredentials) AppendJSON(b []byte) []byte {
	b = strconv.AppendInt(append(b, `{"Version":`...), int64(p.Version), 10)
	b = jsontext.AppendString(append(b, `,"AccessKeyId":`...), p.AccessKeyID)
	b = jsontext.AppendString(append(b, `,"SecretAccessKey":`...), p.SecretAccessKey)
	if p.SessionToken != "" {
		b = jsontext.AppendString(append(b, `,"SessionToken":`...), p.SessionToken)
	}
	b = jsontext.AppendString(append(b, `,"Expiration":`...), p.Expiration)
	return append(b, '}')
}

func (h *Handler) credentials(c *edge.Call, _ *sts.Caller, arn string) (any, error) {
	out, err := h.o.Integrations.Credentials(c.Context(), arn)
	if errors.Is(err, integration.ErrUnknown) {
		return nil, errUnknown
	}
	ev := c.Event
	if err != nil {
		if f, ok := errors.AsType[*integration.Failure](err); ok {
			ev.AdditionalEventData = map[string]string{"failure": f.Code}
		}
		return nil, err
	}
	ev.IssuedKeyID = out.AccessKeyID
	ev.ResponseElements = map[string]any{
		"credentials":    map[string]string{"accessKeyId": out.AccessKeyID, "expiration": when(out.Expiration)},
		"assumedRoleArn": out.AssumedRoleARN,
	}
	ev.AdditionalEventData = map[string]string{"integrationId": out.Integration.ID, "cached": strconv.FormatBool(out.Cached)}
	return ProcessCredentials{Version: 1, AccessKeyID: out.AccessKeyID, SecretAccessKey: out.Secret.Reveal(),
		SessionToken: out.SessionToken.Reveal(), Expiration: when(out.Expiration)}, nil
}

// wire writes JSON answers and AWS JSON-protocol errors ({"__type",
// "message"} and x-amzn-ErrorType).
type wire struct{}

func (wire) Refuse(err error) edge.Refusal {
	switch {
	case errors.Is(err, errMethod):
		return edge.Refusal{Code: "MethodNotAllowed", Message: "This method is not allowed here.", Status: http.StatusMethodNotAllowed,
			Reason: "method_not_allowed"}
	case errors.Is(err, errUnknown):
		return edge.Refusal{Code: "ResourceNotFoundException", Message: "No integration has this ARN.", Status: http.StatusNotFound,
			Reason: "integration_unknown"}
	}
	if f, ok := errors.AsType[*integration.Failure](err); ok {
		// The diagnosis (trust policy, subject, endpoint, network errors)
		// is for those who may GetIntegration; a consumer learns the code.
		msg := "The target account did not issue credentials (" + f.Code + "); GetIntegration shows the diagnosis."
		if f.Temporary {
			return edge.Refusal{Code: "TargetUnavailable", Message: msg, Status: http.StatusServiceUnavailable, Reason: f.Code, Cause: f.Cause}
		}
		return edge.Refusal{Code: "TargetRefused", Message: msg, Status: http.StatusBadGateway, Reason: f.Code, Cause: f.Cause}
	}
	_, isSTS := errors.AsType[*sts.Error](err)
	_, isSig := errors.AsType[*sigv4.Error](err)
	_, isEdge := errors.AsType[*edge.Error](err)
	if isSTS || isSig || isEdge {
		return awserrors.Refuse(err)
	}
	return edge.Refusal{Code: "InternalFailure", Message: awserrors.MsgInternal, Status: http.StatusInternalServerError, Reason: "internal", Cause: err}
}

func (wire) Write(w http.ResponseWriter, c *edge.Call, answer any, f *edge.Refusal) {
	body, status := answer, http.StatusOK
	hdr := w.Header()
	if f != nil {
		status = f.Status
		msg := f.Message
		if f.Detail != "" {
			msg += " Encoded authorization failure message: " + f.Detail
		}
		body = map[string]string{"__type": f.Code, "message": msg}
		hdr.Set("x-amzn-ErrorType", f.Code)
		if f.Allow != "" {
			hdr.Set("Allow", f.Allow)
		}
	}
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", "no-store")
	var out []byte
	if a, ok := body.(interface{ AppendJSON([]byte) []byte }); ok {
		out = a.AppendJSON(make([]byte, 0, 1024))
	} else {
		out, _ = json.Marshal(body)
	}
	out = append(out, '\n')
	hdr.Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(status)
	_, _ = w.Write(out)
}
