package app

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"strconv"

	"github.com/keyless-dev/keyless/internal/config"
	"github.com/keyless-dev/keyless/internal/edge"
)

// Admin listener paths and the header its POSTs must carry.
const (
	AdminReloadPath = "/reload"
	// AdminHeader must be sent, with value AdminHeaderValue, with every
	// POST: a cross-site form or fetch without CORS cannot send it.
	AdminHeader      = "X-Keyless-Admin"
	AdminHeaderValue = "1"
	// maxProfileSeconds bounds a CPU profile or trace.
	maxProfileSeconds = 60
)

// adminHandler serves the admin listener (server.admin_addr): profiling
// with net/http/pprof, and POST /reload. It is never mounted on the public
// listener. It answers only requests whose Host is the listener's own
// address or a loopback name, so that a web page cannot reach it through
// DNS rebinding.
func (a *App) adminHandler(addr string) (http.Handler, error) {
	plain := func(pattern string, h http.HandlerFunc) edge.Route { return edge.Route{Pattern: pattern, Plain: h} }
	router, err := a.edge.Mount(&edge.Surface{Name: "admin", Wire: adminWire{}, Routes: []edge.Route{
		// Reload records its own event, before the configuration changes.
		{Pattern: AdminReloadPath, Handle: a.adminReload, MaxBody: 1 << 10, Operation: reloadEvent},
		plain("/debug/pprof/", pprof.Index),
		plain("/debug/pprof/cmdline", pprof.Cmdline),
		plain("/debug/pprof/profile", boundedSeconds(pprof.Profile)),
		plain("/debug/pprof/symbol", pprof.Symbol),
		plain("/debug/pprof/trace", boundedSeconds(pprof.Trace)),
	}})
	if err != nil {
		return nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, p, err := net.SplitHostPort(r.Host)
		if err != nil {
			host, p = r.Host, port
		}
		if r.Host != addr && (!config.IsLoopback(host) || p != port) {
			http.Error(w, "not this admin listener's host", http.StatusMisdirectedRequest)
			return
		}
		router.ServeHTTP(w, r)
	}), nil
}

// boundedSeconds refuses a profile or trace longer than maxProfileSeconds.
func boundedSeconds(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s := r.URL.Query().Get("seconds"); s != "" {
			if n, err := strconv.Atoi(s); err != nil || n < 1 || n > maxProfileSeconds {
				http.Error(w, "seconds must be 1 to "+strconv.Itoa(maxProfileSeconds), http.StatusBadRequest)
				return
			}
		}
		h(w, r)
	}
}

// adminReload reloads the configuration for POST /reload.
func (a *App) adminReload(c *edge.Call) (any, error) {
	if c.Request.Method != http.MethodPost {
		return nil, &edge.Refusal{Code: "MethodNotAllowed", Message: "POST " + AdminReloadPath + ".", Status: http.StatusMethodNotAllowed,
			Reason: "method_not_allowed", Allow: http.MethodPost}
	}
	if c.Request.Header.Get(AdminHeader) != AdminHeaderValue {
		return nil, &edge.Refusal{Code: "MissingHeader", Message: "Send " + AdminHeader + ": " + AdminHeaderValue + " (keyless reload does).",
			Status: http.StatusForbidden, Reason: "admin_header_missing"}
	}
	res, err := a.Reload(c.Context(), Trigger{Name: "admin", SourceIP: c.SourceIP, RequestID: c.ID})
	switch {
	case errors.Is(err, ErrNoReload):
		return nil, &edge.Refusal{Code: "ReloadUnsupported", Message: err.Error(), Status: http.StatusNotImplemented, Reason: "reload_unsupported"}
	case errors.Is(err, ErrReloadUnaudited):
		return nil, &edge.Refusal{Code: "ServiceUnavailable", Message: err.Error(), Status: http.StatusServiceUnavailable, Reason: "audit_unavailable"}
	case err != nil:
		// The problems go to the operator who asked; the event has their
		// count only.
		return nil, &edge.Refusal{Code: "InvalidConfiguration", Message: "The configuration was not reloaded; the previous one stays in force.",
			Status: http.StatusUnprocessableEntity, Reason: "reload_refused", Detail: err.Error()}
	}
	return res, nil
}

// adminWire answers JSON: {"reloaded": true, ...} or {"error": {...}}.
type adminWire struct{}

func (adminWire) Refuse(err error) edge.Refusal {
	if e, ok := errors.AsType[*edge.Error](err); ok && e.Failure == edge.BodyTooLarge {
		return edge.Refusal{Code: "RequestEntityTooLarge", Message: "The reload takes no body.", Status: http.StatusRequestEntityTooLarge,
			Reason: "body_too_large"}
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
