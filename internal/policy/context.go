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
}

type entry struct {
	key    string // as first set, for reports
	values []string
}

// NewContext returns an empty context with room for n keys.
func NewContext(n int) *Context { return &Context{vals: make(map[string]entry, n)} }

// Set sets a key's values, replacing earlier ones. A key set with no
// values is present with an empty set.
func (c *Context) Set(key string, values ...string) {
	c.vals[strings.ToLower(key)] = entry{key: key, values: values}
}

// Each calls fn for every key, in lexical order of the lower-case keys,
// so that reports are deterministic.
func (c *Context) Each(fn func(key string, values []string)) {
	if c == nil {
		return
	}
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
	e, ok := c.vals[lower]
	return e.values, ok
}
