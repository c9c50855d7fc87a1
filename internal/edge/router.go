package edge

import (
	"fmt"
	"net/http"
	"path"
)

// Router serves the surfaces mounted on it.
type Router struct {
	mux *http.ServeMux
	// root serves "/" and every path that is not in clean form.
	root http.Handler
}

// Mount builds a router from the surfaces' routes. Two routes with the
// same or conflicting patterns are an error, as is a pattern ServeMux
// does not take.
func (e *Edge) Mount(surfaces ...*Surface) (rt *Router, err error) {
	rt = &Router{mux: http.NewServeMux()}
	defer func() {
		// ServeMux reports a bad or conflicting pattern by panicking.
		if p := recover(); p != nil {
			rt, err = nil, fmt.Errorf("edge: %v", p)
		}
	}()
	for _, s := range surfaces {
		for i := range s.Routes {
			route := &s.Routes[i]
			h := route.Plain
			if h == nil {
				if route.Handle == nil || s.Wire == nil {
					return nil, fmt.Errorf("edge: route %q of %s has no handler or wire", route.Pattern, s.Name)
				}
				h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { e.serve(s, route, w, r) })
			}
			rt.mux.Handle(route.Pattern, h)
			if route.Pattern == "/" {
				rt.root = h
			}
		}
	}
	return rt, nil
}

// ServeHTTP routes a request. A path that is not in clean form goes to the
// surface at "/" (STS, whose SigV4 path rules take "//" and "/./"), where
// ServeMux would answer a redirect that no signed client follows; so does
// CONNECT, which ServeMux answers itself, unaudited.
func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rt.root != nil && (r.Method == http.MethodConnect || !isClean(r.URL.Path)) {
		rt.root.ServeHTTP(w, r)
		return
	}
	rt.mux.ServeHTTP(w, r)
}

// isClean reports whether ServeMux would take p as it is: rooted, and
// path.Clean's form but for a trailing slash.
func isClean(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	c := path.Clean(p)
	if p[len(p)-1] == '/' && c != "/" {
		c += "/"
	}
	return c == p
}
