package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/keyless-dev/keyless/internal/exchangeapi"
	"github.com/keyless-dev/keyless/internal/integrationapi"
)

// credentialsCmd prints the credential document of $KEYLESS_CONFIG_BASE64
// (or --file), by default for AWS's credential_process.
func credentialsCmd(_ context.Context, env Env, args []string) int {
	const name = "credentials"
	fs := flags(env, name)
	file := fs.String("file", "", "read the base64 credential document from this file instead of $KEYLESS_CONFIG_BASE64")
	out := addOutputFlags(fs, "credential-process")
	if err := fs.Parse(args); err != nil {
		return exitForFlags(err)
	}
	if fs.NArg() > 0 {
		return usageError(env, name, "unexpected argument %q", fs.Arg(0))
	}
	if err := out.check(); err != nil {
		return usageError(env, name, "%v", err)
	}
	var encoded string
	if *file != "" {
		b, err := readBounded(*file, maxCredential)
		if err != nil {
			return failAs(env, name, "%v", err)
		}
		encoded = string(b)
	} else {
		v, ok := env.LookupEnv("KEYLESS_CONFIG_BASE64")
		if !ok || strings.TrimSpace(v) == "" {
			return failAs(env, name, "no credential: set KEYLESS_CONFIG_BASE64 or give --file")
		}
		encoded = v
	}
	d, err := decodeCredential(encoded)
	if err != nil {
		return failAs(env, name, "%v", err)
	}
	if !time.Now().Before(d.expires) {
		return failAs(env, name, "the credential of %s expired at %s; run keyless exchange for a new one",
			clean(d.c.ARN), d.expires.UTC().Format(time.RFC3339))
	}
	if err := out.write(env, d); err != nil {
		return failAs(env, name, "%v", err)
	}
	return 0
}

// maxCredential bounds an encoded credential document.
const maxCredential = 64 << 10

// credDoc is a decoded credential document and its base64 form.
type credDoc struct {
	encoded string
	c       exchangeapi.Credential
	expires time.Time
}

func decodeCredential(s string) (credDoc, error) {
	s = strings.Join(strings.Fields(s), "")
	if len(s) > maxCredential {
		return credDoc{}, errors.New("the credential document is too large")
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return credDoc{}, errors.New("the credential document is not valid base64")
	}
	var c exchangeapi.Credential
	if json.Unmarshal(raw, &c) != nil {
		return credDoc{}, errors.New("the credential document is not valid JSON")
	}
	if c.Version != 1 {
		return credDoc{}, fmt.Errorf("credential document version %d is not supported", c.Version)
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return credDoc{}, errors.New("the credential document has no access key")
	}
	exp, err := time.Parse(time.RFC3339, c.Expiration)
	if err != nil {
		return credDoc{}, errors.New("the credential document has no valid expiration")
	}
	return credDoc{encoded: s, c: c, expires: exp}, nil
}

var outputFormats = []string{"json", "env", "credential-process", "profile", "base64"}

// outputFlags say how exchange and credentials print a credential.
type outputFlags struct {
	format, profileName, credentialsFile *string
}

func addOutputFlags(fs *flag.FlagSet, def string) outputFlags {
	return outputFlags{
		format: fs.String("output", def, "how to print the credential: "+strings.Join(outputFormats, ", ")),
		profileName: fs.String("profile-name", "keyless",
			"with --output profile: the section of the shared credentials file to write"),
		credentialsFile: fs.String("credentials-file", "",
			"with --output profile: the file to write (default $AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials)"),
	}
}

func (o outputFlags) check() error {
	if !slices.Contains(outputFormats, *o.format) {
		return fmt.Errorf("--output must be one of %s", strings.Join(outputFormats, ", "))
	}
	if n := *o.profileName; n == "" || strings.TrimSpace(n) != n || strings.ContainsAny(n, "[]\r\n#;") {
		return fmt.Errorf("--profile-name %q is not a usable profile name", n)
	}
	return nil
}

func (o outputFlags) write(env Env, d credDoc) error {
	c := d.c
	switch *o.format {
	case "json":
		b, err := json.MarshalIndent(c, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(env.Stdout, "%s\n", b)
		return err
	case "env":
		return writeEnv(env.Stdout, c)
	case "credential-process":
		b, err := json.Marshal(integrationapi.ProcessCredentials{Version: 1, AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey,
			SessionToken: c.SessionToken, Expiration: d.expires.UTC().Format(time.RFC3339)})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(env.Stdout, "%s\n", b)
		return err
	case "profile":
		path, err := o.credentialsPath(env)
		if err != nil {
			return err
		}
		if err := writeProfile(path, *o.profileName, c); err != nil {
			return err
		}
		_, err = fmt.Fprintf(env.Stdout, "wrote profile %s to %s; it expires at %s\n",
			*o.profileName, path, d.expires.UTC().Format(time.RFC3339))
		return err
	case "base64":
		_, err := fmt.Fprintln(env.Stdout, d.encoded)
		return err
	}
	return fmt.Errorf("unknown output %q", *o.format)
}

func writeEnv(w io.Writer, c exchangeapi.Credential) error {
	var b strings.Builder
	export := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "export %s=%s\n", k, shellQuote(v))
		}
	}
	export("AWS_ACCESS_KEY_ID", c.AccessKeyID)
	export("AWS_SECRET_ACCESS_KEY", c.SecretAccessKey)
	if c.SessionToken == "" {
		b.WriteString("unset AWS_SESSION_TOKEN\n")
	}
	export("AWS_SESSION_TOKEN", c.SessionToken)
	export("AWS_ENDPOINT_URL", c.Endpoint)
	export("AWS_REGION", c.Region)
	export("AWS_DEFAULT_REGION", c.Region) // AWS CLI v1 and boto3 read this one
	_, err := io.WriteString(w, b.String())
	return err
}

// shellQuote leaves plain words alone and single-quotes the rest.
func shellQuote(s string) string {
	plain := s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_+/=.:,@%-", r))
	}) < 0
	if plain {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func (o outputFlags) credentialsPath(env Env) (string, error) {
	if *o.credentialsFile != "" {
		return *o.credentialsFile, nil
	}
	if p, ok := env.LookupEnv("AWS_SHARED_CREDENTIALS_FILE"); ok && p != "" {
		return p, nil
	}
	home, ok := env.LookupEnv("HOME")
	if !ok || home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return "", errors.New("no home directory; give --credentials-file")
		}
	}
	return filepath.Join(home, ".aws", "credentials"), nil
}

// writeProfile replaces (or appends) the section [name] of the shared
// credentials file at path, leaving every other line as it was.
func writeProfile(path, name string, c exchangeapi.Credential) error {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		if path, err = filepath.EvalSymlinks(path); err != nil {
			return err
		}
	}
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	text := string(old)
	nl := "\n"
	if strings.Contains(text, "\r\n") {
		nl = "\r\n"
	}
	section := "[" + name + "]" + nl +
		"aws_access_key_id = " + c.AccessKeyID + nl +
		"aws_secret_access_key = " + c.SecretAccessKey + nl
	if c.SessionToken != "" {
		section += "aws_session_token = " + c.SessionToken + nl
	}

	var out strings.Builder
	var dropped []string // lines of a replaced section
	inTarget, replaced := false, false
	// flush keeps the blank and comment lines that end a replaced section:
	// they separate it from, or describe, what follows.
	flush := func() {
		i := len(dropped)
		for i > 0 && blankOrComment(dropped[i-1]) {
			i--
		}
		for _, l := range dropped[i:] {
			out.WriteString(l)
		}
		dropped = nil
	}
	for _, line := range strings.SplitAfter(text, "\n") {
		if s, ok := sectionName(line); ok {
			if inTarget {
				flush()
			}
			inTarget = s == name
			if inTarget {
				if !replaced {
					out.WriteString(section)
				}
				replaced = true
				continue
			}
		}
		if inTarget {
			dropped = append(dropped, line)
			continue
		}
		out.WriteString(line)
	}
	if inTarget {
		flush()
	}
	if !replaced {
		if s := out.String(); s != "" {
			if !strings.HasSuffix(s, "\n") {
				out.WriteString(nl)
			}
			// A blank line before the new section, unless there is one.
			body := strings.TrimSuffix(strings.TrimSuffix(s, "\n"), "\r")
			if strings.TrimSpace(body[strings.LastIndexByte(body, '\n')+1:]) != "" {
				out.WriteString(nl)
			}
		}
		out.WriteString(section)
	}
	return replaceFile(path, []byte(out.String()))
}

// sectionName reads an INI section header line.
func sectionName(line string) (string, bool) {
	t := strings.TrimSpace(line)
	if !strings.HasPrefix(t, "[") {
		return "", false
	}
	end := strings.IndexByte(t, ']')
	if end < 0 {
		return "", false
	}
	return strings.TrimSpace(t[1:end]), true
}

func blankOrComment(line string) bool {
	t := strings.TrimSpace(line)
	return t == "" || t[0] == '#' || t[0] == ';'
}

// replaceFile writes b to path through a 0600 temporary file and a rename.
func replaceFile(path string, b []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(0o600)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return err
}

// readBounded reads a file of at most limit bytes.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, nil
}

// clean replaces control characters in text from elsewhere before it is
// printed.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 {
			return '?'
		}
		return r
	}, s)
}

// failAs reports an error of the command name; usageError one of its
// flags.
func failAs(env Env, name, format string, args ...any) int {
	fmt.Fprintf(env.Stderr, "keyless "+name+": "+format+"\n", args...)
	return 1
}

func usageError(env Env, name, format string, args ...any) int {
	failAs(env, name, format, args...)
	return 2
}
