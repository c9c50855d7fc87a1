package cli

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/keyless-dev/keyless/internal/integrationapi"
	"github.com/keyless-dev/keyless/internal/sigv4"
)

// integrationFlags are what every integrations command takes.
type integrationFlags struct {
	endpoint, profile, space, output *string
}

func addIntegrationFlags(fs *flag.FlagSet, output string) integrationFlags {
	return integrationFlags{
		endpoint: fs.String("endpoint-url", "", "keyless's URL (default: $KEYLESS_ENDPOINT_URL, else $AWS_ENDPOINT_URL_STS)"),
		profile:  fs.String("profile", "", "AWS profile whose credentials sign the call (default: the SDK's default chain)"),
		space:    fs.String("space", "", "the integration's space (default: the only space with an integration of that name)"),
		output:   fs.String("output", output, "text or json"),
	}
}

// parseInterspersed parses flags before and after positional arguments
// (keyless integrations show NAME --space S).
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// apiClient calls keyless's integration API, signed with the caller's
// AWS credentials.
type apiClient struct {
	base   *url.URL
	region string
	creds  func(context.Context) (id, secret, token string, err error)
}

func newAPIClient(ctx context.Context, env Env, f integrationFlags) (*apiClient, error) {
	endpoint := *f.endpoint
	for _, name := range []string{"KEYLESS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS"} {
		if endpoint == "" {
			endpoint, _ = env.LookupEnv(name)
		}
	}
	if endpoint == "" {
		return nil, fmt.Errorf("give --endpoint-url (keyless's URL) or set KEYLESS_ENDPOINT_URL")
	}
	u, err := url.Parse(strings.TrimSuffix(endpoint, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("--endpoint-url %q is not an http(s) URL", endpoint)
	}
	creds, region, err := loadAWS(ctx, *f.profile)
	if err != nil {
		return nil, err
	}
	if region == "" {
		region = "us-east-1"
	}
	return &apiClient{base: u, region: region, creds: func(context.Context) (string, string, string, error) {
		return creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken, nil
	}}, nil
}

// apiError is a refusal of the API.
type apiError struct {
	Status  int
	Code    string `json:"__type"`
	Message string `json:"message"`
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s (HTTP %d): %s", e.Code, e.Status, e.Message)
}

// call sends a signed request and decodes the JSON answer into out.
func (c *apiClient) call(ctx context.Context, method, path string, out any) error {
	u := *c.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return err
	}
	id, sec, tok, err := c.creds(ctx)
	if err != nil {
		return err
	}
	sreq := &sigv4.Request{Method: method, EscapedURI: u.EscapedPath(), Query: url.Values{}, Host: req.URL.Host, Header: req.Header,
		BodySHA256: sha256.Sum256(nil)}
	sigv4.Sign(sreq, id, sec, tok, c.region, "keyless", time.Now())
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		e := &apiError{Status: resp.StatusCode}
		if json.Unmarshal(b, e) != nil || e.Code == "" {
			e.Code, e.Message = "HTTP"+fmt.Sprint(resp.StatusCode), strings.TrimSpace(string(b))
		}
		return e
	}
	return json.Unmarshal(b, out)
}

// resolve finds the space of a named integration when none is given.
func (c *apiClient) resolve(ctx context.Context, name, space string) (string, string, error) {
	if s, n, ok := strings.Cut(name, "/"); ok && space == "" {
		return s, n, nil
	}
	if space != "" {
		return space, name, nil
	}
	var list integrationapi.List
	if err := c.call(ctx, http.MethodGet, "/v1/integrations", &list); err != nil {
		return "", "", err
	}
	var found []string
	for _, in := range list.Integrations {
		if in.Name == name {
			found = append(found, in.Space)
		}
	}
	switch len(found) {
	case 1:
		return found[0], name, nil
	case 0:
		return "", "", fmt.Errorf("no integration named %s; `keyless integrations list` shows them", name)
	}
	return "", "", fmt.Errorf("integration %s is in several spaces (%s): give --space", name, strings.Join(found, ", "))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func integrationsList(ctx context.Context, env Env, args []string) int {
	const name = "integrations list"
	fs := flags(env, name)
	f := addIntegrationFlags(fs, "text")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return exitForFlags(err)
	}
	if len(pos) > 0 {
		return usageError(env, name, "unexpected argument %q", pos[0])
	}
	c, err := newAPIClient(ctx, env, f)
	if err != nil {
		return failAs(env, name, "%v", err)
	}
	var list integrationapi.List
	if err := c.call(ctx, http.MethodGet, "/v1/integrations", &list); err != nil {
		return failAs(env, name, "%v", err)
	}
	if *f.output == "json" {
		b, _ := json.MarshalIndent(list, "", "  ")
		fmt.Fprintln(env.Stdout, string(b))
		return 0
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SPACE\tNAME\tAUTH\tSTATUS\tLAST CHECK\tLAST SUCCESS\tROLE")
	for _, in := range list.Integrations {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", dash(in.Space), dash(in.Name), dash(in.Auth), in.Status, dash(in.CheckedAt),
			dash(in.SucceededAt), dash(in.RoleARN))
		if in.Space == "" {
			fmt.Fprintf(tw, "\t(%s, removed from the configuration)\t\t\t\t\t\n", in.ARN)
		}
	}
	tw.Flush()
	return 0
}

func integrationsShow(ctx context.Context, env Env, args []string) int {
	return callOne(ctx, env, "integrations show", "text", http.MethodGet, "", args, printView)
}

func integrationsPing(ctx context.Context, env Env, args []string) int {
	return callOne(ctx, env, "integrations ping", "text", http.MethodPost, "/ping", args, func(env Env, output string, raw json.RawMessage) int {
		if code := printView(env, output, raw); code != 0 {
			return code
		}
		var in integrationapi.View
		if json.Unmarshal(raw, &in) != nil || in.Status != "active" {
			return 1 // the check did not leave it active
		}
		return 0
	})
}

// integrationsCredentials prints the target's credentials in the
// credential_process shape, so that a profile can name this command.
func integrationsCredentials(ctx context.Context, env Env, args []string) int {
	return callOne(ctx, env, "integrations credentials", "json", http.MethodPost, "/credentials", args,
		func(env Env, _ string, raw json.RawMessage) int {
			fmt.Fprintln(env.Stdout, string(raw))
			return 0
		})
}

// callOne calls one integration's path (SUFFIX after
// /v1/integrations/SPACE/NAME) and hands the answer to show.
func callOne(ctx context.Context, env Env, name, output, method, suffix string, args []string,
	show func(env Env, output string, raw json.RawMessage) int) int {
	fs := flags(env, name)
	f := addIntegrationFlags(fs, output)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return exitForFlags(err)
	}
	if len(pos) != 1 {
		return usageError(env, name, "give one integration name (or SPACE/NAME)")
	}
	c, err := newAPIClient(ctx, env, f)
	if err != nil {
		return failAs(env, name, "%v", err)
	}
	space, iname, err := c.resolve(ctx, pos[0], *f.space)
	if err != nil {
		return failAs(env, name, "%v", err)
	}
	var raw json.RawMessage
	if err := c.call(ctx, method, "/v1/integrations/"+url.PathEscape(space)+"/"+url.PathEscape(iname)+suffix, &raw); err != nil {
		return failAs(env, name, "%v", err)
	}
	return show(env, *f.output, raw)
}

// printView prints an integration as text or JSON.
func printView(env Env, output string, raw json.RawMessage) int {
	var in integrationapi.View
	if err := json.Unmarshal(raw, &in); err != nil {
		return failAs(env, "integrations", "the answer is not an integration: %v", err)
	}
	if output == "json" {
		b, _ := json.MarshalIndent(in, "", "  ")
		fmt.Fprintln(env.Stdout, string(b))
	} else {
		printIntegration(env.Stdout, in)
	}
	return 0
}

func printIntegration(w io.Writer, in integrationapi.View) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s\t%s\n", k, v)
		}
	}
	row("Integration:", in.ARN)
	row("Id:", in.ID)
	row("Auth:", in.Auth)
	row("Role:", in.RoleARN)
	row("Target STS:", in.Endpoint)
	row("Status:", in.Status)
	row("Last check:", in.CheckedAt)
	row("Last success:", in.SucceededAt)
	row("Assumed:", in.AssumedARN)
	row("Failure:", in.Failure)
	if in.KeyID != "" {
		row("Access key:", in.KeyID)
		if in.KeyAgeDays != nil {
			row("Key age:", fmt.Sprintf("%d days", *in.KeyAgeDays))
		}
		row("Warning:", in.KeyWarning)
	}
	tw.Flush()
	if in.Diagnosis != "" {
		fmt.Fprintf(w, "\nDiagnosis:\n%s\n", in.Diagnosis)
	}
	if s := in.Setup; s != nil {
		fmt.Fprintf(w, "\nIn the target account (%s):\n", strings.SplitN(in.RoleARN+"::::", ":", 6)[4])
		fmt.Fprintf(w, "  OIDC provider URL:  %s\n  Audience:           %s\n  WIF subject:        %s\n  Provider ARN:       %s\n",
			s.ProviderURL, s.Audience, s.Subject, s.ProviderARN)
		fmt.Fprintf(w, "\nThe role's trust policy, pinned to this integration:\n%s\n", s.TrustPolicy)
		fmt.Fprintf(w, "\nWith the AWS CLI, signed in to the target account:\n")
		for _, c := range s.Commands {
			fmt.Fprintf(w, "%s\n", c)
		}
	}
}
