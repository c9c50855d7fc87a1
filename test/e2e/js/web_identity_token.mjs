// Call keyless's GetWebIdentityToken with @aws-sdk/client-sts.
// Input: $KEYLESS_WIT (JSON, see test/e2e/web_identity_token_test.go):
// {endpoint, calls: [{name, creds: {AccessKeyID, SecretAccessKey,
// SessionToken}, audience, algorithm, duration (0: not sent), tags}]}.
// Output: one JSON report on stdout (call name -> {ok} or {error, status}).
import { STSClient, GetWebIdentityTokenCommand } from "@aws-sdk/client-sts";

const cfg = JSON.parse(process.env.KEYLESS_WIT);
const report = {};
for (const c of cfg.calls) {
  const client = new STSClient({
    region: "us-east-1",
    endpoint: cfg.endpoint,
    credentials: {
      accessKeyId: c.creds.AccessKeyID,
      secretAccessKey: c.creds.SecretAccessKey,
      sessionToken: c.creds.SessionToken || undefined,
    },
  });
  const input = { Audience: c.audience, SigningAlgorithm: c.algorithm };
  if (c.duration) input.DurationSeconds = c.duration;
  if (c.tags && c.tags.length) input.Tags = c.tags;
  try {
    const { $metadata, ...rest } = await client.send(new GetWebIdentityTokenCommand(input));
    report[c.name] = { ok: rest };
  } catch (e) {
    report[c.name] = { error: e.Code ?? e.name, status: e.$metadata?.httpStatusCode ?? 0, message: e.message };
  }
}
console.log(JSON.stringify(report));
