// Drive keyless's signin token endpoint with the SDK's own `aws login`
// credential provider, @aws-sdk/credential-provider-login, as a
// long-running app would: one provider and one STS client for the whole run.
// Input: the environment (AWS_CONFIG_FILE, AWS_LOGIN_CACHE_DIRECTORY,
// AWS_PROFILE, AWS_ENDPOINT_URL_SIGNIN, AWS_ENDPOINT_URL_STS, AWS_REGION;
// see test/e2e) and commands on stdin, one a line:
//   identity  GetCallerIdentity with the provider's credentials
//   quit      exit
// Output: one JSON line per identity:
// {ok: true, accessKeyId, arn, expiration} or {ok: false, name, message}.
// Secrets (secret key, session token, refresh token) are never printed.
import { createInterface } from "node:readline";
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { fromLoginCredentials } from "@aws-sdk/credential-provider-login";

const provider = fromLoginCredentials({ profile: process.env.AWS_PROFILE });
// The client memoizes what the provider returns; remember the last value
// so the report names the credentials the call was signed with.
let last;
const sts = new STSClient({ credentials: async (options) => (last = await provider(options)) });

// A JSON syntax error quotes what it parsed (the cache file): leave it out.
const redact = (m) => String(m).replace(/, ".*is not valid JSON/s, ", <redacted> is not valid JSON");

async function identity() {
  try {
    const { Arn } = await sts.send(new GetCallerIdentityCommand({}));
    return { ok: true, accessKeyId: last.accessKeyId, arn: Arn, expiration: last.expiration?.toISOString() };
  } catch (e) {
    return { ok: false, name: e.name, message: redact(e.message) };
  }
}

for await (const line of createInterface({ input: process.stdin })) {
  const cmd = line.trim();
  if (cmd === "quit") break;
  if (cmd === "identity") console.log(JSON.stringify(await identity()));
  else if (cmd) console.log(JSON.stringify({ ok: false, name: "UnknownCommand", message: cmd }));
}
sts.destroy();
process.exit(0);
