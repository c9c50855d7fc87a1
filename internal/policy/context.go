package policy

import "strings"

// Context holds the condition keys of one request (IAM User Guide,
// "The request context"). Key names are case-insensitive; a key may have
// several values (aws:TagKeys). A nil *Context is empty.
type Context struct {
	vals map[string][]string
}

// NewContext returns an empty context with room for n keys.
func NewContext(n int) *Context { return &Context{vals: make(map[string][]string, n)} }

// Set sets a key's values, replacing earlier ones. A key set with no
// values is present with an empty set.
func (c *Context) Set(key string, values ...string) {
	c.vals[strings.ToLower(key)] = values
}

func (c *Context) get(lower string) ([]string, bool) {
	if c == nil {
		return nil, false
	}
	v, ok := c.vals[lower]
	return v, ok
}
