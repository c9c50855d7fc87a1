"""Drive keyless with boto3 through the end-to-end scenario.

Input: $KEYLESS_SCENARIO (JSON, see test/e2e/scenario_test.go).
Output: one JSON report on stdout, a step name to {"ok": response} or
{"error": code, "status": http status, "message": ...}.
"""
import json
import os

import boto3
import botocore.exceptions

cfg = json.loads(os.environ["KEYLESS_SCENARIO"])


def sts(creds, **extra):
    return boto3.client(
        "sts",
        endpoint_url=cfg["endpoint"],
        region_name="us-east-1",
        aws_access_key_id=creds["AccessKeyID"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds.get("SessionToken") or None,
        **extra,
    )


def call(fn):
    try:
        resp = fn()
        resp.pop("ResponseMetadata", None)
        return {"ok": resp}
    except botocore.exceptions.ClientError as e:
        return {
            "error": e.response["Error"]["Code"],
            "status": e.response["ResponseMetadata"]["HTTPStatusCode"],
            "message": e.response["Error"]["Message"],
        }


def session(resp):
    c = resp["ok"]["Credentials"]
    return {"AccessKeyID": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"], "SessionToken": c["SessionToken"]}


report = {}
alice, bob = cfg["alice"], cfg["bob"]
report["gci_alice"] = call(lambda: sts(alice).get_caller_identity())
report["gst_alice"] = call(lambda: sts(alice).get_session_token(DurationSeconds=900))
alice_session = session(report["gst_alice"])
report["gci_session"] = call(lambda: sts(alice_session).get_caller_identity())
report["gst_with_session"] = call(lambda: sts(alice_session).get_session_token())
report["gst_bob_mfa"] = call(lambda: sts(bob).get_session_token(SerialNumber=cfg["serial"], TokenCode=cfg["code"]))
report["gci_bob_session"] = call(lambda: sts(session(report["gst_bob_mfa"])).get_caller_identity())
report["gst_bob_mfa_replay"] = call(lambda: sts(bob).get_session_token(SerialNumber=cfg["serial"], TokenCode=cfg["code"]))
report["gaki"] = call(lambda: sts(alice).get_access_key_info(AccessKeyId=bob["AccessKeyID"]))
report["wrong_secret"] = call(lambda: sts(dict(alice, SecretAccessKey="not-the-secret")).get_caller_identity())
report["expired"] = call(lambda: sts(cfg["expired"]).get_caller_identity())
report["tampered"] = call(lambda: sts(cfg["tampered"]).get_caller_identity())
print(json.dumps(report, default=str))
