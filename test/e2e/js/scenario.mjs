// Drive keyless with @aws-sdk/client-sts through the end-to-end scenario.
// Input: $KEYLESS_SCENARIO (JSON, see test/e2e/scenario_test.go).
// Output: one JSON report on stdout (step name -> {ok} or {error, status}).
import {
  STSClient,
  AssumeRoleCommand,
  DecodeAuthorizationMessageCommand,
  GetCallerIdentityCommand,
  GetFederationTokenCommand,
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

const { roles } = cfg;
const assume = (c, input) => call(() => sts(c).send(new AssumeRoleCommand(input)));
report.ar_demo = await assume(alice, {
  RoleArn: roles.demo,
  RoleSessionName: roles.demoSession,
  Tags: roles.tags,
  TransitiveTagKeys: roles.transitiveKeys,
  SourceIdentity: roles.sourceIdentity,
  Policy: roles.policy,
});
const demo = session(report.ar_demo);
report.gci_demo = await call(() => sts(demo).send(new GetCallerIdentityCommand({})));
report.gaki_demo = await call(() => sts(demo).send(new GetAccessKeyInfoCommand({ AccessKeyId: bob.AccessKeyID })));
report.ar_hop2 = await assume(demo, { RoleArn: roles.auditor, RoleSessionName: roles.hop2Session });
report.gci_hop2 = await call(() => sts(session(report.ar_hop2)).send(new GetCallerIdentityCommand({})));
report.ar_hop2_transitive_clash = await assume(demo, {
  RoleArn: roles.auditor,
  RoleSessionName: roles.hop2Session,
  Tags: [{ Key: roles.transitiveKeys[0], Value: "other" }],
});
report.ar_partner = await assume(alice, {
  RoleArn: roles.partner,
  RoleSessionName: roles.partnerSession,
  ExternalId: roles.externalId,
});
report.ar_partner_no_external_id = await assume(alice, { RoleArn: roles.partner, RoleSessionName: roles.partnerSession });
report.ar_partner_wrong_external_id = await assume(alice, {
  RoleArn: roles.partner,
  RoleSessionName: roles.partnerSession,
  ExternalId: "not-the-external-id",
});
report.gft = await call(() =>
  sts(alice).send(new GetFederationTokenCommand({ Name: roles.federatedName, Policy: roles.policy })),
);
const federated = session(report.gft);
report.gci_federated = await call(() => sts(federated).send(new GetCallerIdentityCommand({})));
report.gaki_federated = await call(() =>
  sts(federated).send(new GetAccessKeyInfoCommand({ AccessKeyId: bob.AccessKeyID })),
);
report.ar_admin = await assume(alice, { RoleArn: roles.admin, RoleSessionName: roles.adminSession });
const found = /Encoded authorization failure message: (\S+)/.exec(report.ar_admin.message ?? "");
const encoded = found ? found[1] : "no-encoded-message";
report.decode = await call(() => sts(alice).send(new DecodeAuthorizationMessageCommand({ EncodedMessage: encoded })));
report.decode_demo = await call(() => sts(demo).send(new DecodeAuthorizationMessageCommand({ EncodedMessage: encoded })));
// Role chaining from the shared config file through the default credential
// chain, with the endpoint from $AWS_ENDPOINT_URL_STS.
report.profile_chain = await call(() =>
  new STSClient({ region: "us-east-1", profile: cfg.profile }).send(new GetCallerIdentityCommand({})),
);
console.log(JSON.stringify(report));
