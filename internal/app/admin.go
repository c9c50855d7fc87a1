package app

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/pprof"
	"strconv"

	"github.com/keyless-dev/keyless/internal/edge"
)

// AdminReloadPath is where the admin listener takes reloads.
const AdminReloadPath = "/reload"

// adminHandler serves the admin listener (server.admin_addr): profiling
// with net/http/pprof, and POST /reload, audited. It is never mounted on
// the public listener.
func (a *App) adminHandler() (http.Handler, error) {
	plain := func(pattern string, h http.HandlerFunc) edge.Route { return edge.Route{Pattern: pattern, Plain: h} }
	return a.edge.Mount(&edge.Surface{Name: "admin", Wire: adminWire{}, Routes: []edge.Route{
		{Pattern: AdminReloadPath, Handle: a.adminReload, MaxBody: 1 << 10,
			Event: &edge.Event{Source: "keyless", Name: reloadEvent, Category: "Management", Management: true}},
		plain("/debug/pprof/", pprof.Index),
		plain("/debug/pprof/cmdline", pprof.Cmdline),
		plain("/debug/pprof/profile", pprof.Profile),
		plain("/debug/pprof/symbol", pprof.Symbol),
		plain("/debug/pprof/trace", pprof.Trace),
	}})
}

// adminReload reloads the configuration for POST /reload.
func (a *App) adminReload(c *edge.Call) (any, error) {
	if c.Request.Method != http.MethodPost {
		return nil, &edge.Refusal{Code: "MethodNotAllowed", Message: "POST " + AdminReloadPath + ".", Status: http.StatusMethodNotAllowed,
			Reason: "method_not_allowed", Allow: http.MethodPost}
	}
	res, err := a.reload(c.Context(), c.Event)
	if err != nil {
		status := http.StatusUnprocessableEntity
		if errors.Is(err, ErrNoReload) {
			status = http.StatusNotImplemented
		}
		// The problems go to the operator who asked, not into the event.
		return nil, &edge.Refusal{Code: c.Event.ErrorCode, Message: c.Event.ErrorMessage, Status: status, Reason: "reload_refused",
			Detail: err.Error()}
	}
	return res, nil
}

// adminWire answers JSON: {"reloaded": true, ...} or {"error": {...}}.
type adminWire struct{}

func (adminWire) Refuse(err error) edge.Refusal {
	if e, ok := errors.AsType[*edge.Error](err); ok && e.Failure == edge.AuditUnavailable {
		return edge.Refusal{Code: "ServiceUnavailable", Message: "The reload's audit event could not be stored.", Status: http.StatusServiceUnavailable,
			Reason: "audit_unavailable", Cause: err}
	}
	return edge.Refusal{Code: "InternalFailure", Message: "An internal error occurred.", Status: http.StatusInternalServerError, Reason: "internal", Cause: err}
}

func (adminWire) Write(w http.ResponseWriter, _ *edge.Call, answer any, f *edge.Refusal) {
	status, body := http.StatusOK, any(nil)
	if f != nil {
		status = f.Status
		body = map[string]any{"error": map[string]string{"code": f.Code, "message": f.Message, "problems": f.Detail}}
	} else {
		r := answer.(Reloaded)
		body = map[string]any{"reloaded": true, "config_sha256": r.Digest, "restart_required": nonNil(r.RestartRequired), "notes": nonNil(r.Notes)}
	}
	out, _ := json.Marshal(body)
	out = append(out, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
