// Drive keyless's AssumeRoleWithWebIdentity with @aws-sdk/client-sts and
// its web identity credential providers.
// Input: $KEYLESS_WEB_IDENTITY (JSON, see test/e2e/web_identity_test.go):
// {endpoint, calls: [{name, roleArn, session, token}], provider}.
// Each call is AssumeRoleWithWebIdentityCommand from a client without
// credentials (the action is unsigned); when it succeeds, GetCallerIdentity
// with the credentials it returned is added to the result as
// CallerIdentity. With provider ({roleArn, session, token}):
//   from_web_token   fromWebToken with those arguments
//   from_token_file  fromTokenFile, from AWS_WEB_IDENTITY_TOKEN_FILE,
//                    AWS_ROLE_ARN and AWS_ROLE_SESSION_NAME
//   env_chain        a client given only a region: the default chain,
//                    with keyless found through AWS_ENDPOINT_URL_STS
// each reporting GetCallerIdentity with the provider's credentials.
// Output: one JSON report on stdout (step name -> {ok} or {error, status}),
// with the wire's error code, and step "exceptions": the SDK's exception
// class of each refused call.
import { STSClient, AssumeRoleWithWebIdentityCommand, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
// Installed with @aws-sdk/client-sts (its default credential chain uses
// it); package-lock.json pins it.
import { fromTokenFile, fromWebToken } from "@aws-sdk/credential-provider-web-identity";

const cfg = JSON.parse(process.env.KEYLESS_WEB_IDENTITY);
const clientConfig = { region: "us-east-1", endpoint: cfg.endpoint };

// The SDK's exception class of each refused step: a modeled error
// (InvalidIdentityTokenException) has a class of its own, named apart
// from its code.
const exceptions = {};
let current = "";

async function call(fn) {
  try {
    const { $metadata, ...rest } = await fn();
    return { ok: rest };
  } catch (e) {
    exceptions[current] = e.name;
    return { error: e.Code ?? e.name, status: e.$metadata?.httpStatusCode ?? 0, message: e.message };
  }
}

const callerIdentity = (credentials, config = clientConfig) =>
  call(() => new STSClient({ ...config, credentials }).send(new GetCallerIdentityCommand({})));

const report = {};
for (const c of cfg.calls) {
  current = c.name;
  const r = await call(() =>
    new STSClient(clientConfig).send(
      new AssumeRoleWithWebIdentityCommand({ RoleArn: c.roleArn, RoleSessionName: c.session, WebIdentityToken: c.token }),
    ),
  );
  if (r.ok) {
    const { AccessKeyId, SecretAccessKey, SessionToken } = r.ok.Credentials;
    const gci = await callerIdentity({ accessKeyId: AccessKeyId, secretAccessKey: SecretAccessKey, sessionToken: SessionToken });
    r.ok.CallerIdentity = gci.ok ?? gci;
  }
  report[c.name] = r;
}
report.exceptions = { ok: exceptions };

const p = cfg.provider;
if (p) {
  report.from_web_token = await callerIdentity(
    fromWebToken({ roleArn: p.roleArn, roleSessionName: p.session, webIdentityToken: p.token, clientConfig }),
  );
  report.from_token_file = await callerIdentity(fromTokenFile({ clientConfig }));
  // Nothing but a region: credentials and endpoint from the environment.
  report.env_chain = await call(() => new STSClient({ region: "us-east-1" }).send(new GetCallerIdentityCommand({})));
}

console.log(JSON.stringify(report));
