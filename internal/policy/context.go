package policy

import (
	"sort"
	"strings"
)

// Context holds the condition keys of one request (IAM User Guide,
// "The request context"). Key names are case-insensitive; a key may have
// several values (aws:TagKeys). A nil *Context is empty.
type Context struct {
	vals map[string]entry // by lower-case key
	// fill, if set, sets the keys that describe the caller and the
	// request on first read: a policy without conditions or variables
	// never pays for them. Keys set explicitly before it runs win.
	fill    func(*Context)
	filling bool
	size    int // the room to make in vals when it is first needed
}

type entry struct {
	key    string // as first set, for reports
	values []string
}

// NewContext returns an empty context with room for n keys.
func NewContext(n int) *Context { return &Context{vals: make(map[string]entry, n)} }

// NewLazyContext returns a context whose keys fill sets when one is first
// read (or listed). fill runs at most once.
func NewLazyContext(n int, fill func(*Context)) *Context {
	return &Context{fill: fill, size: n}
}

// Set sets a key's values, replacing earlier ones. A key set with no
// values is present with an empty set. While a lazy context fills
// itself, keys already set are kept.
func (c *Context) Set(key string, values ...string) {
	lower := strings.ToLower(key)
	if c.vals == nil {
		c.vals = make(map[string]entry, max(c.size, 4))
	}
	if c.filling {
		if _, set := c.vals[lower]; set {
			return
		}
	}
	c.vals[lower] = entry{key: key, values: values}
}

// resolve runs a lazy context's fill, once.
func (c *Context) resolve() {
	if c.fill == nil {
		return
	}
	fill := c.fill
	c.fill, c.filling = nil, true
	fill(c)
	c.filling = false
}

// Each calls fn for every key, in lexical order of the lower-case keys,
// so that reports are deterministic.
func (c *Context) Each(fn func(key string, values []string)) {
	if c == nil {
		return
	}
	c.resolve()
	keys := make([]string, 0, len(c.vals))
	for k := range c.vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		e := c.vals[k]
		fn(e.key, e.values)
	}
}

func (c *Context) get(lower string) ([]string, bool) {
	if c == nil {
		return nil, false
	}
	c.resolve()
	e, ok := c.vals[lower]
	return e.values, ok
}
