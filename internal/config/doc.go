// Package config is the only package that knows keyless's configuration
// file format. It decodes YAML strictly (unknown keys, duplicate keys,
// aliases and values of the wrong kind are errors that name the file, line,
// column and field), validates every field, resolves secrets given inline,
// by file or by environment variable, and converts the result to plain
// domain values. Load reports every problem at once.
package config
