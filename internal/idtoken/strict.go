package idtoken

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
)

var errStrict = errors.New("idtoken: not strict JSON")

// maxDepth bounds nesting in headers, claims and key sets.
const maxDepth = 16

// checkStrict accepts exactly one JSON object in which no object has two
// members whose names are equal or equal under Unicode case folding
// ("sub" and "Sub", or "ſub"): decoders disagree on which one wins
// (security.md section 1.11, JWT-20).
func checkStrict(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return errStrict
	}
	if err := walkObject(dec, 1); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errStrict
	}
	return nil
}

func walkObject(dec *json.Decoder, depth int) error {
	var names []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return errStrict
		}
		name, ok := tok.(string)
		if !ok {
			return errStrict
		}
		for _, n := range names {
			if strings.EqualFold(n, name) {
				return errStrict
			}
		}
		names = append(names, name)
		if err := walkValue(dec, depth); err != nil {
			return err
		}
	}
	_, err := dec.Token()
	return err
}

func walkValue(dec *json.Decoder, depth int) error {
	tok, err := dec.Token()
	if err != nil {
		return errStrict
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil
	}
	if depth >= maxDepth {
		return errStrict
	}
	if d == '{' {
		return walkObject(dec, depth+1)
	}
	for dec.More() {
		if err := walkValue(dec, depth+1); err != nil {
			return err
		}
	}
	_, err = dec.Token()
	return err
}
