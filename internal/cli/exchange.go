package cli

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/keyless-dev/keyless/internal/awsproof"
	"github.com/keyless-dev/keyless/internal/exchange"
	"github.com/keyless-dev/keyless/internal/exchangeapi"
)

const (
	defaultEndpoint    = "http://127.0.0.1:8080"
	defaultSTSEndpoint = "https://sts.amazonaws.com"
	httpTimeout        = 30 * time.Second
	maxAnswer          = 1 << 20  // a server's answer
	maxToken           = 64 << 10 // a token read from a file, variable or GitHub
	maxIssuerToken     = 16 << 10 // a token whose iss is read
)

// kubernetesTokenFile is read when nothing else is found.
var kubernetesTokenFile = "/var/run/secrets/keyless/token"

// signNow is when the AWS proof is signed; tests fix the second.
var signNow = time.Now

type exchangeOpts struct {
	endpoint, audience   string
	aws, challenge       bool
	profile, stsEndpoint string
	stsRegion            string
	tokenFile, tokenEnv  string
	issuer               string
	explain              bool
	explainProfile       string
	out                  outputFlags
	keyless, plain       *http.Client // keyless's calls; others
}

// exchangeCmd trades a proof of identity for keyless credentials, or with
// --explain asks the server how it would decide; with --explain-profile
// alone, a refusal is explained.
func exchangeCmd(ctx context.Context, env Env, args []string) int {
	const name = "exchange"
	fs := flags(env, name)
	o := &exchangeOpts{}
	fs.StringVar(&o.endpoint, "endpoint", lookupOr(env, "KEYLESS_ENDPOINT", defaultEndpoint), "keyless's URL ($KEYLESS_ENDPOINT)")
	fs.StringVar(&o.audience, "audience", lookupOr(env, "KEYLESS_AUDIENCE", ""), "the audience to exchange for ($KEYLESS_AUDIENCE; required)")
	fs.BoolVar(&o.aws, "aws", false, "prove an AWS identity: sign GetCallerIdentity with the AWS SDK's credential chain")
	fs.StringVar(&o.profile, "profile", "", "with --aws: the AWS shared-config profile to sign with")
	fs.StringVar(&o.stsEndpoint, "sts-endpoint", defaultSTSEndpoint, "with --aws: the STS the server will send the request to")
	fs.StringVar(&o.stsRegion, "sts-region", "", "with --aws: the signing region (default: the region in an sts.REGION.amazonaws.com host, else us-east-1)")
	fs.BoolVar(&o.challenge, "challenge", false, "with --aws: fetch a challenge from the server and sign it into the request")
	fs.StringVar(&o.tokenFile, "token-file", "", "prove an identity with the OIDC token in this file")
	fs.StringVar(&o.tokenEnv, "token-env", "", "prove an identity with the OIDC token in this environment variable")
	fs.StringVar(&o.issuer, "issuer", "", "the token's issuer (default: its iss claim)")
	fs.BoolVar(&o.explain, "explain", false, "ask the server how it would decide instead of exchanging (needs --explain-profile)")
	fs.StringVar(&o.explainProfile, "explain-profile", "", "the AWS shared-config profile holding an operator's keyless credentials "+
		"(allowed keyless:ExplainExchange): with --explain, explain instead of exchanging; alone, exchange and explain a refusal")
	o.out = addOutputFlags(fs, "json")
	if err := fs.Parse(args); err != nil {
		return exitForFlags(err)
	}
	if msg := o.validate(fs); msg != "" {
		return usageError(env, name, "%s", msg)
	}
	o.endpoint = strings.TrimRight(o.endpoint, "/")
	if u, _ := url.Parse(o.endpoint); u.Scheme == "http" && !loopback(u.Hostname()) {
		fmt.Fprintf(env.Stderr, "keyless exchange: warning: %s is not HTTPS; the proof and the credentials travel in the clear\n", clean(o.endpoint))
	}
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	o.keyless = &http.Client{Timeout: httpTimeout, CheckRedirect: noRedirect}
	o.plain = &http.Client{Timeout: httpTimeout}

	issuer, token, source, err := o.proof(ctx, env)
	if err != nil {
		return failAs(env, name, "%v", err)
	}
	body := map[string]string{"audience": o.audience, "issuer_uri": issuer, "jwt_token": token}
	if o.explain {
		return o.runExplain(ctx, env, body, source)
	}
	var answer struct {
		Credential string `json:"base64_credential"`
	}
	if err := o.post(ctx, exchangeapi.PathExchange, body, nil, &answer); err != nil {
		failAs(env, name, "%v", err)
		r, ok := errors.AsType[*refusal](err)
		switch {
		case !ok || r.code == "" || r.status >= 500:
			// Not a refusal of the proof: an outage is retried, not explained.
		case o.explainProfile != "":
			o.explainRefusal(ctx, env, body, source)
		default:
			fmt.Fprintf(env.Stderr, "keyless %s: %s\n", name, r.hint())
		}
		return 1
	}
	d, err := decodeCredential(answer.Credential)
	if err != nil {
		return failAs(env, name, "the server's answer: %v", err)
	}
	if err := o.out.write(env, d); err != nil {
		return failAs(env, name, "%v", err)
	}
	return 0
}

func lookupOr(env Env, key, def string) string {
	if v, ok := env.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}

// validate returns what is wrong with the flags, if anything.
func (o *exchangeOpts) validate(fs *flag.FlagSet) string {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	sources := 0
	for _, n := range []string{"aws", "token-file", "token-env"} {
		if set[n] {
			sources++
		}
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Sprintf("unexpected argument %q", fs.Arg(0))
	case o.audience == "":
		return "--audience (or $KEYLESS_AUDIENCE) is required"
	case sources > 1:
		return "give at most one of --aws, --token-file and --token-env"
	case !o.aws && (set["profile"] || set["sts-endpoint"] || set["sts-region"] || set["challenge"]):
		return "--profile, --sts-endpoint, --sts-region and --challenge need --aws"
	case o.aws && set["issuer"]:
		return "--issuer is for tokens; an AWS proof's issuer is " + exchange.AWSIssuer
	case set["token-file"] && o.tokenFile == "" || set["token-env"] && o.tokenEnv == "":
		return "--token-file and --token-env need a value"
	case set["explain-profile"] && o.explainProfile == "":
		return "--explain-profile needs a value"
	case o.explain && o.explainProfile == "":
		return "--explain needs --explain-profile"
	}
	if err := o.out.check(); err != nil {
		return err.Error()
	}
	if u, err := url.Parse(o.endpoint); err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Sprintf("--endpoint %q is not an http(s) URL", o.endpoint)
	}
	return ""
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// proof returns the issuer_uri and jwt_token to send, and where they came
// from.
func (o *exchangeOpts) proof(ctx context.Context, env Env) (issuer, token, source string, err error) {
	switch {
	case o.aws:
		token, err = o.awsProof(ctx)
		return exchange.AWSIssuer, token, "a signed AWS GetCallerIdentity request", err
	case o.tokenFile != "":
		token, err = readToken(o.tokenFile)
		source = "the token in " + o.tokenFile
	case o.tokenEnv != "":
		v, ok := env.LookupEnv(o.tokenEnv)
		if v = strings.TrimSpace(v); !ok || v == "" {
			return "", "", "", fmt.Errorf("$%s is empty", o.tokenEnv)
		}
		if len(v) > maxToken {
			return "", "", "", fmt.Errorf("$%s is larger than %d bytes", o.tokenEnv, maxToken)
		}
		token, source = v, "the token in $"+o.tokenEnv
	default:
		token, source, err = o.detect(ctx, env)
	}
	if err != nil {
		return "", "", "", err
	}
	issuer = o.issuer
	if issuer == "" {
		if issuer, err = tokenIssuer(token); err != nil {
			return "", "", "", err
		}
	}
	return issuer, token, source, nil
}

func readToken(path string) (string, error) {
	b, err := readBounded(path, maxToken)
	if err != nil {
		return "", err
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return t, nil
}

// tokenIssuer reads a JWT's iss claim without verifying anything.
func tokenIssuer(token string) (string, error) {
	if len(token) > maxIssuerToken {
		return "", fmt.Errorf("the token is larger than %d bytes; give --issuer", maxIssuerToken)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", errors.New("the token is not a JWT; give --issuer")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "", errors.New("the token's payload is not base64url; give --issuer")
	}
	var claims struct {
		Iss string `json:"iss"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Iss == "" {
		return "", errors.New("the token has no iss claim; give --issuer")
	}
	return claims.Iss, nil
}

// detect finds a token the way each platform's SDK does.
func (o *exchangeOpts) detect(ctx context.Context, env Env) (token, source string, err error) {
	ghURL, _ := env.LookupEnv("ACTIONS_ID_TOKEN_REQUEST_URL")
	ghToken, _ := env.LookupEnv("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
	if ghURL != "" && ghToken != "" {
		token, err = o.githubToken(ctx, ghURL, ghToken)
		return token, "the GitHub Actions ID token", err
	}
	if p, _ := env.LookupEnv("AZURE_FEDERATED_TOKEN_FILE"); p != "" {
		token, err = readToken(p)
		return token, "the Azure workload identity token in " + p, err
	}
	if p, _ := env.LookupEnv("KEYLESS_WEB_IDENTITY_TOKEN_FILE"); p != "" {
		token, err = readToken(p)
		return token, "the Kubernetes token in " + p, err
	}
	if _, err := os.Stat(kubernetesTokenFile); err == nil {
		token, err = readToken(kubernetesTokenFile)
		return token, "the Kubernetes token in " + kubernetesTokenFile, err
	}
	return "", "", errors.New("no proof of identity found; tried GitHub Actions ($ACTIONS_ID_TOKEN_REQUEST_URL and " +
		"$ACTIONS_ID_TOKEN_REQUEST_TOKEN), Azure workload identity ($AZURE_FEDERATED_TOKEN_FILE), Kubernetes " +
		"($KEYLESS_WEB_IDENTITY_TOKEN_FILE, " + kubernetesTokenFile + "); give --aws, --token-file or --token-env")
}

// githubToken asks the Actions runtime for an ID token for the audience.
func (o *exchangeOpts) githubToken(ctx context.Context, reqURL, bearer string) (string, error) {
	sep := "&"
	if !strings.Contains(reqURL, "?") {
		sep = "?"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, reqURL+sep+"audience="+url.QueryEscape(o.audience), nil)
	if err != nil {
		return "", errors.New("$ACTIONS_ID_TOKEN_REQUEST_URL is not a URL")
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Accept", "application/json")
	resp, err := o.plain.Do(req)
	if err != nil {
		return "", fmt.Errorf("GitHub Actions ID token: %w", err)
	}
	defer resp.Body.Close()
	b, err := readAnswer(resp.Body)
	if err != nil {
		return "", fmt.Errorf("GitHub Actions ID token: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GitHub Actions ID token: HTTP %d", resp.StatusCode)
	}
	var answer struct {
		Value string `json:"value"`
	}
	if json.Unmarshal(b, &answer) != nil || answer.Value == "" {
		return "", errors.New("GitHub Actions ID token: the answer has no value")
	}
	if len(answer.Value) > maxToken {
		return "", errors.New("GitHub Actions ID token: the token is too large")
	}
	return answer.Value, nil
}

// awsProof signs GetCallerIdentity for the audience and serializes it.
func (o *exchangeOpts) awsProof(ctx context.Context) (string, error) {
	stsURL, err := stsRequestURL(o.stsEndpoint)
	if err != nil {
		return "", err
	}
	region := o.stsRegion
	if region == "" {
		region = stsRegion(stsURL.Hostname())
	}
	creds, _, err := loadAWS(ctx, o.profile)
	if err != nil {
		return "", err
	}
	challenge := ""
	if o.challenge {
		if challenge, err = o.fetchChallenge(ctx); err != nil {
			return "", err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, stsURL.String(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set(awsproof.AudienceHeader, o.audience)
	if challenge != "" {
		req.Header.Set(awsproof.ChallengeHeader, challenge)
	}
	// 128 random bits, signed: two proofs signed in the same second are
	// two signatures, not one replayed (awsproof.NonceHeader, GCIX-13).
	nonce := make([]byte, 16)
	rand.Read(nonce)
	req.Header.Set(awsproof.NonceHeader, base64.RawURLEncoding.EncodeToString(nonce))
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, sha256Hex(nil), "sts", region, signNow()); err != nil {
		return "", fmt.Errorf("signing the AWS request: %w", err)
	}
	// Marshal adds the host the URL names, which is what was signed.
	env, err := awsproof.Marshal(req.Method, stsURL.String(), req.Header, "")
	if err != nil {
		return "", err
	}
	return string(env), nil
}

// loadAWS resolves credentials through the AWS SDK's default chain, with
// profile if given; it returns them and the configured region.
func loadAWS(ctx context.Context, profile string) (aws.Credentials, string, error) {
	var opts []func(*awsconfig.LoadOptions) error
	if profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(profile))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Credentials{}, "", fmt.Errorf("loading the AWS configuration: %w", err)
	}
	if cfg.Credentials == nil {
		return aws.Credentials{}, "", errors.New("no AWS credentials found")
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return aws.Credentials{}, "", fmt.Errorf("no AWS credentials: %w", err)
	}
	return creds, cfg.Region, nil
}

// stsRequestURL is the GetCallerIdentity URL of an STS endpoint given as
// scheme://host[:port][/].
func stsRequestURL(endpoint string) (*url.URL, error) {
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" || u.User != nil ||
		u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("--sts-endpoint %q is not scheme://host[:port]", endpoint)
	}
	host := strings.ToLower(u.Host)
	// The signer drops a default port from the signed host; so does the URL.
	if p := u.Port(); p == "443" && u.Scheme == "https" || p == "80" && u.Scheme == "http" {
		host = strings.TrimSuffix(host, ":"+p)
	}
	return url.Parse(u.Scheme + "://" + host + "/?" + awsproof.Body)
}

// stsRegion is the region of sts.REGION.amazonaws.com(.cn), else us-east-1.
func stsRegion(host string) string {
	host = strings.ToLower(host)
	for _, suffix := range []string{".amazonaws.com", ".amazonaws.com.cn"} {
		rest, ok := strings.CutSuffix(host, suffix)
		if !ok {
			continue
		}
		label, region, ok := strings.Cut(rest, ".")
		if ok && (label == "sts" || label == "sts-fips") && region != "" && !strings.Contains(region, ".") {
			return region
		}
	}
	return "us-east-1"
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (o *exchangeOpts) fetchChallenge(ctx context.Context) (string, error) {
	var answer struct {
		Challenge string `json:"challenge"`
		Header    string `json:"header"`
	}
	if err := o.post(ctx, exchangeapi.PathChallenge, map[string]string{"audience": o.audience}, nil, &answer); err != nil {
		return "", fmt.Errorf("getting a challenge: %w", err)
	}
	if answer.Challenge == "" {
		return "", errors.New("getting a challenge: the answer has none")
	}
	if answer.Header != "" && !strings.EqualFold(answer.Header, awsproof.ChallengeHeader) {
		return "", fmt.Errorf("the server wants the challenge in %q, which this client does not know", clean(answer.Header))
	}
	return answer.Challenge, nil
}

// refusal is a keyless error answer.
type refusal struct {
	status            int
	code, description string
	requestID         string
}

// hint says where an operator finds why the exchange was refused: the
// answer has only a request id (no oracle for the caller).
func (r *refusal) hint() string {
	id := ""
	if r.requestID != "" {
		id = "request id " + clean(r.requestID) + ": "
	}
	return id + "an operator allowed keyless:ExplainExchange can see the reason with " +
		"`keyless exchange ... --explain --explain-profile PROFILE` or in `keyless audit --event-name ExchangeExternalToken`"
}

func (r *refusal) Error() string {
	if r.code == "" {
		return fmt.Sprintf("the server answered HTTP %d", r.status)
	}
	return fmt.Sprintf("refused (%s): %s", clean(r.code), clean(r.description))
}

// post sends body as JSON to keyless's path, signed by sign if given, and
// decodes a 200 answer into out.
func (o *exchangeOpts) post(ctx context.Context, path string, body any, sign func(*http.Request, []byte) error, out any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(body); err != nil {
		return err
	}
	raw := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, o.endpoint+path, bytes.NewReader(raw))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if sign != nil {
		if err := sign(req, raw); err != nil {
			return err
		}
	}
	resp, err := o.keyless.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := readAnswer(resp.Body)
	if err != nil {
		return fmt.Errorf("reading the server's answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		r := &refusal{status: resp.StatusCode}
		var e struct {
			Code        string `json:"error"`
			Description string `json:"error_description"`
			RequestID   string `json:"request_id"`
		}
		if json.Unmarshal(b, &e) == nil {
			r.code, r.description, r.requestID = e.Code, e.Description, e.RequestID
		}
		return r
	}
	if json.Unmarshal(b, out) != nil {
		return errors.New("the server's answer is not the expected JSON")
	}
	return nil
}

func readAnswer(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxAnswer+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxAnswer {
		return nil, fmt.Errorf("the answer is larger than %d bytes", maxAnswer)
	}
	return b, nil
}

// explainAnswer is ExplainExchange's answer.
type explainAnswer struct {
	Granted  bool   `json:"granted"`
	Provider string `json:"provider"`
	RoleARN  string `json:"role_arn"`
	Subject  string `json:"subject"`
	Reason   string `json:"reason"`
	Upstream string `json:"upstream_error_code"`
	Trace    []struct {
		Provider string `json:"provider"`
		Check    string `json:"check"`
		Passed   bool   `json:"passed"`
		Detail   string `json:"detail"`
	} `json:"trace"`
}

// runExplain calls ExplainExchange signed with the operator's keyless
// credentials and prints the trace; exit 0 means granted.
func (o *exchangeOpts) runExplain(ctx context.Context, env Env, body map[string]string, source string) int {
	a, err := o.callExplain(ctx, body)
	if err != nil {
		return failAs(env, "exchange", "%v", err)
	}
	io.WriteString(env.Stdout, a.format(body, source))
	if !a.Granted {
		return 1
	}
	return 0
}

// explainRefusal explains a refused exchange to standard error (standard
// output is for credentials, and may be eval'd). An AWS proof is signed
// anew: the refused one's signature was used up if the refusal came after
// the upstream STS was asked (GCIX-13), and explaining it would only say
// "replayed". A token is explained as sent: a token refused before its
// single use is recorded is not used up (one refused after it, such as
// for the session's duration, is explained as token_replayed).
func (o *exchangeOpts) explainRefusal(ctx context.Context, env Env, body map[string]string, source string) {
	if o.aws {
		token, err := o.awsProof(ctx)
		if err != nil {
			failAs(env, "exchange", "explain: %v", err)
			return
		}
		body = map[string]string{"audience": body["audience"], "issuer_uri": body["issuer_uri"], "jwt_token": token}
		source = "a newly signed AWS GetCallerIdentity request"
	}
	a, err := o.callExplain(ctx, body)
	if err != nil {
		failAs(env, "exchange", "explain: %v", err)
		return
	}
	io.WriteString(env.Stderr, a.format(body, source))
}

// callExplain calls ExplainExchange signed with the operator's keyless
// credentials (--explain-profile).
func (o *exchangeOpts) callExplain(ctx context.Context, body map[string]string) (explainAnswer, error) {
	creds, region, err := loadAWS(ctx, o.explainProfile)
	if err != nil {
		return explainAnswer{}, fmt.Errorf("the --explain-profile credentials: %w", err)
	}
	if region == "" {
		region = "us-east-1"
	}
	sign := func(req *http.Request, raw []byte) error {
		return v4.NewSigner().SignHTTP(ctx, creds, req, sha256Hex(raw), "keyless", region, time.Now())
	}
	var a explainAnswer
	if err := o.post(ctx, exchangeapi.PathExplain, body, sign, &a); err != nil {
		return explainAnswer{}, err
	}
	return a, nil
}

// format prints the proof, the trace and the decision, a line each.
func (a explainAnswer) format(body map[string]string, source string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "proof: %s (issuer %s)\n", source, clean(body["issuer_uri"]))
	for _, s := range a.Trace {
		mark := "✗"
		if s.Passed {
			mark = "✓"
		}
		line := mark
		for _, f := range []string{s.Provider, s.Check, s.Detail} {
			if f != "" {
				line += " " + clean(f)
			}
		}
		b.WriteString(line + "\n")
	}
	if a.Granted {
		fmt.Fprintf(&b, "granted: %s by %s", clean(a.RoleARN), clean(a.Provider))
		if a.Subject != "" {
			fmt.Fprintf(&b, " for %s", clean(a.Subject))
		}
	} else {
		fmt.Fprintf(&b, "refused: %s", clean(a.Reason))
		if a.Upstream != "" {
			fmt.Fprintf(&b, " (upstream error %s)", clean(a.Upstream))
		}
	}
	b.WriteString("\n")
	return b.String()
}
