// Drive keyless with @aws-sdk/client-sts through the end-to-end scenario.
// Input: $KEYLESS_SCENARIO (JSON, see test/e2e/scenario_test.go).
// Output: one JSON report on stdout (step name -> {ok} or {error, status}).
import {
  STSClient,
  GetCallerIdentityCommand,
  GetSessionTokenCommand,
  GetAccessKeyInfoCommand,
} from "@aws-sdk/client-sts";

const cfg = JSON.parse(process.env.KEYLESS_SCENARIO);

const sts = (c) =>
  new STSClient({
    region: "us-east-1",
    endpoint: cfg.endpoint,
    credentials: {
      accessKeyId: c.AccessKeyID,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken || undefined,
    },
  });

async function call(fn) {
  try {
    const { $metadata, ...rest } = await fn();
    return { ok: rest };
  } catch (e) {
    return { error: e.name, status: e.$metadata?.httpStatusCode ?? 0, message: e.message };
  }
}

const session = (r) => ({
  AccessKeyID: r.ok.Credentials.AccessKeyId,
  SecretAccessKey: r.ok.Credentials.SecretAccessKey,
  SessionToken: r.ok.Credentials.SessionToken,
});

const { alice, bob } = cfg;
const report = {};
report.gci_alice = await call(() => sts(alice).send(new GetCallerIdentityCommand({})));
report.gst_alice = await call(() => sts(alice).send(new GetSessionTokenCommand({ DurationSeconds: 900 })));
const aliceSession = session(report.gst_alice);
report.gci_session = await call(() => sts(aliceSession).send(new GetCallerIdentityCommand({})));
report.gst_with_session = await call(() => sts(aliceSession).send(new GetSessionTokenCommand({})));
report.gst_bob_mfa = await call(() =>
  sts(bob).send(new GetSessionTokenCommand({ SerialNumber: cfg.serial, TokenCode: cfg.code })),
);
report.gci_bob_session = await call(() => sts(session(report.gst_bob_mfa)).send(new GetCallerIdentityCommand({})));
report.gst_bob_mfa_replay = await call(() =>
  sts(bob).send(new GetSessionTokenCommand({ SerialNumber: cfg.serial, TokenCode: cfg.code })),
);
report.gaki = await call(() => sts(alice).send(new GetAccessKeyInfoCommand({ AccessKeyId: bob.AccessKeyID })));
report.wrong_secret = await call(() =>
  sts({ ...alice, SecretAccessKey: "not-the-secret" }).send(new GetCallerIdentityCommand({})),
);
report.expired = await call(() => sts(cfg.expired).send(new GetCallerIdentityCommand({})));
report.tampered = await call(() => sts(cfg.tampered).send(new GetCallerIdentityCommand({})));
console.log(JSON.stringify(report));
