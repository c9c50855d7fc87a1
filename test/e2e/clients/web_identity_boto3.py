"""Drive keyless's AssumeRoleWithWebIdentity with boto3.

Input: $KEYLESS_WEB_IDENTITY (JSON, see test/e2e/web_identity_test.go):
{"endpoint": URL, "calls": [{"name", "roleArn", "session", "token"}]}.
Each call is AssumeRoleWithWebIdentity with no credentials (the action is
unsigned); when it succeeds, GetCallerIdentity with the credentials it
returned is added to the result as "CallerIdentity".

When $AWS_ROLE_ARN is set, step "env_chain" is GetCallerIdentity from a
client given nothing but the environment: botocore's web identity
credential provider reads AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE and
AWS_ROLE_SESSION_NAME, and finds keyless through AWS_ENDPOINT_URL_STS.

Output: one JSON report on stdout, a step name to {"ok": response} or
{"error": code, "status": http status, "message": ...}.
"""
import json
import os

import boto3
from report import call

cfg = json.loads(os.environ["KEYLESS_WEB_IDENTITY"])


def sts(**creds):
    return boto3.client("sts", endpoint_url=cfg["endpoint"], region_name="us-east-1", **creds)


report = {}
for c in cfg["calls"]:
    r = call(
        lambda: sts().assume_role_with_web_identity(
            RoleArn=c["roleArn"], RoleSessionName=c["session"], WebIdentityToken=c["token"]
        )
    )
    if "ok" in r:
        creds = r["ok"]["Credentials"]
        gci = call(
            lambda: sts(
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
            ).get_caller_identity()
        )
        r["ok"]["CallerIdentity"] = gci.get("ok", gci)
    report[c["name"]] = r

if os.environ.get("AWS_ROLE_ARN"):
    # No endpoint_url, no keys: the environment decides both.
    report["env_chain"] = call(lambda: boto3.client("sts").get_caller_identity())

print(json.dumps(report, default=str))
