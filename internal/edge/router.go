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
	shared := map[string]*choice{}
	var patterns []string
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
			ch := shared[route.Pattern]
			if ch == nil {
				ch = &choice{}
				shared[route.Pattern] = ch
				patterns = append(patterns, route.Pattern)
			}
			switch {
			case route.Accepts != nil:
				ch.when = append(ch.when, route.Accepts)
				ch.then = append(ch.then, h)
			case ch.rest != nil:
				return nil, fmt.Errorf("edge: pattern %q has two routes that accept every request", route.Pattern)
			default:
				ch.rest = h
			}
		}
	}
	for _, p := range patterns {
		ch := shared[p]
		var h http.Handler
		switch {
		case ch.rest == nil && len(ch.when) == 1:
			h = ch.then[0] // alone on its pattern, a route serves every request
		case ch.rest == nil:
			return nil, fmt.Errorf("edge: pattern %q has no route for the requests its routes do not accept", p)
		case len(ch.when) == 0:
			h = ch.rest
		default:
			h = ch
		}
		rt.mux.Handle(p, h)
		if p == "/" {
			rt.root = h
		}
	}
	return rt, nil
}

// choice serves a pattern several routes share: the first that accepts
// the request, else rest.
type choice struct {
	when []func(*http.Request) bool
	then []http.Handler
	rest http.Handler
}

func (ch *choice) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	for i, accepts := range ch.when {
		if accepts(r) {
			ch.then[i].ServeHTTP(w, r)
			return
		}
	}
	ch.rest.ServeHTTP(w, r)
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
