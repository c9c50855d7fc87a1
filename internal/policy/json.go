package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// jkind is the type of a JSON value.
type jkind uint8

const (
	jString jkind = iota + 1
	jNumber
	jBool
	jNull
	jObject
	jArray
)

// jvalue is a JSON value with object members kept in order, so that the
// validator can refuse duplicates and name unknown fields.
type jvalue struct {
	kind    jkind
	text    string // string, number (as written) or bool ("true"/"false")
	members []jmember
	items   []jvalue
}

type jmember struct {
	name  string
	value jvalue
}

// maxDepth bounds nesting; the deepest legal policy element
// (Statement[].Condition.Op.Key[]) is five levels down.
const maxDepth = 8

var errSyntax = errors.New("syntax")

// decodeJSON reads exactly one JSON value from b. Duplicate object keys,
// trailing data and nesting deeper than maxDepth are syntax errors
// (security.md AR-06).
func decodeJSON(b []byte) (jvalue, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	v, err := readValue(dec, 0)
	if err != nil {
		return jvalue{}, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return jvalue{}, errSyntax
	}
	return v, nil
}

func readValue(dec *json.Decoder, depth int) (jvalue, error) {
	tok, err := dec.Token()
	if err != nil {
		return jvalue{}, errSyntax
	}
	switch t := tok.(type) {
	case string:
		return jvalue{kind: jString, text: t}, nil
	case json.Number:
		return jvalue{kind: jNumber, text: t.String()}, nil
	case bool:
		if t {
			return jvalue{kind: jBool, text: "true"}, nil
		}
		return jvalue{kind: jBool, text: "false"}, nil
	case nil:
		return jvalue{kind: jNull}, nil
	case json.Delim:
		if depth >= maxDepth {
			return jvalue{}, errSyntax
		}
		switch t {
		case '{':
			v := jvalue{kind: jObject}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return jvalue{}, errSyntax
				}
				name, ok := kt.(string)
				if !ok {
					return jvalue{}, errSyntax
				}
				for _, m := range v.members {
					if m.name == name {
						return jvalue{}, errSyntax
					}
				}
				mv, err := readValue(dec, depth+1)
				if err != nil {
					return jvalue{}, err
				}
				v.members = append(v.members, jmember{name, mv})
			}
			if _, err := dec.Token(); err != nil {
				return jvalue{}, errSyntax
			}
			return v, nil
		case '[':
			v := jvalue{kind: jArray}
			for dec.More() {
				iv, err := readValue(dec, depth+1)
				if err != nil {
					return jvalue{}, err
				}
				v.items = append(v.items, iv)
			}
			if _, err := dec.Token(); err != nil {
				return jvalue{}, errSyntax
			}
			return v, nil
		}
	}
	return jvalue{}, errSyntax
}

// list returns v's items when v is an array, else v itself: most policy
// elements take a value or an array of values.
func (v *jvalue) list() []jvalue {
	if v.kind == jArray {
		return v.items
	}
	return []jvalue{*v}
}
