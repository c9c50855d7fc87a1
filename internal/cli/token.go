package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/aws-sdk-go-v2/service/sts/types"
)

// listFlag is a flag given any number of times.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// tokenCmd prints a token from GetWebIdentityToken for the caller's
// current AWS credentials (the SDK's default chain): keyless's, or real
// AWS's when no endpoint names keyless.
func tokenCmd(ctx context.Context, env Env, args []string) int {
	const name = "token"
	fs := flags(env, name)
	var audiences, tags listFlag
	fs.Var(&audiences, "audience", "the token's audience, the relying party's client id (repeat for up to 10)")
	fs.Var(&tags, "tag", "KEY=VALUE added to the token's request_tags claim (repeatable)")
	alg := fs.String("algorithm", "RS256", "signing algorithm: RS256 or ES384")
	lifetime := fs.Duration("duration", 5*time.Minute, "how long the token lives: 1m to 1h, and no longer than the credentials")
	endpoint := fs.String("endpoint-url", "", "keyless's URL (default: $AWS_ENDPOINT_URL_STS, the profile's endpoint_url, else AWS STS)")
	profile := fs.String("profile", "", "AWS profile whose credentials ask for the token (default: the SDK's default chain)")
	output := fs.String("output", "token", "token (the JWT alone), json (token and expiration), or claims (the decoded header and claims, to inspect)")
	if err := fs.Parse(args); err != nil {
		return exitForFlags(err)
	}
	if fs.NArg() > 0 {
		return usageError(env, name, "unexpected argument %q", fs.Arg(0))
	}
	if len(audiences) == 0 {
		return usageError(env, name, "give at least one --audience")
	}
	if *output != "token" && *output != "json" && *output != "claims" {
		return usageError(env, name, "--output must be token, json or claims")
	}
	in := &sts.GetWebIdentityTokenInput{Audience: audiences, SigningAlgorithm: alg,
		DurationSeconds: aws.Int32(int32(*lifetime / time.Second))}
	for _, t := range tags {
		k, v, ok := strings.Cut(t, "=")
		if !ok {
			return usageError(env, name, "--tag %q is not KEY=VALUE", t)
		}
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	var opts []func(*awsconfig.LoadOptions) error
	if *profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(*profile))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return failAs(env, name, "loading the AWS configuration: %v", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1" // keyless takes any region; GetWebIdentityToken needs a regional endpoint at AWS
	}
	client := sts.NewFromConfig(cfg, func(o *sts.Options) {
		if *endpoint != "" {
			o.BaseEndpoint = endpoint
		}
	})
	out, err := client.GetWebIdentityToken(ctx, in)
	if err != nil {
		return failAs(env, name, "%v", err)
	}
	tok := aws.ToString(out.WebIdentityToken)
	switch *output {
	case "json":
		b, _ := json.MarshalIndent(map[string]string{"WebIdentityToken": tok, "Expiration": out.Expiration.UTC().Format(time.RFC3339)}, "", "  ")
		fmt.Fprintln(env.Stdout, string(b))
	case "claims":
		parts := strings.Split(tok, ".")
		if len(parts) != 3 {
			return failAs(env, name, "the answer is not a JWT")
		}
		doc := map[string]json.RawMessage{}
		for i, part := range []string{"header", "claims"} {
			raw, err := base64.RawURLEncoding.DecodeString(parts[i])
			if err != nil || !json.Valid(raw) {
				return failAs(env, name, "the answer is not a JWT")
			}
			doc[part] = raw
		}
		b, _ := json.MarshalIndent(doc, "", "  ")
		fmt.Fprintln(env.Stdout, string(b))
	default:
		fmt.Fprintln(env.Stdout, tok)
	}
	return 0
}
