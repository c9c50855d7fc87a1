"""Call keyless's GetWebIdentityToken with boto3.

Input: $KEYLESS_WIT (JSON, see test/e2e/web_identity_token_test.go):
{"endpoint": URL, "calls": [{"name", "creds": {AccessKeyID,
SecretAccessKey, SessionToken}, "audience": [...], "algorithm",
"duration" (0: not sent), "tags": [{Key, Value}]}]}.

Output: one JSON report on stdout, a call's name to {"ok": response} or
{"error": code, "status": http status, "message": ...}.
"""
import json
import os

import boto3
from report import call

cfg = json.loads(os.environ["KEYLESS_WIT"])
report = {}
for c in cfg["calls"]:
    creds = c["creds"]
    client = boto3.client(
        "sts",
        endpoint_url=cfg["endpoint"],
        region_name="us-east-1",
        aws_access_key_id=creds["AccessKeyID"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds.get("SessionToken") or None,
    )
    args = {"Audience": c["audience"], "SigningAlgorithm": c["algorithm"]}
    if c.get("duration"):
        args["DurationSeconds"] = c["duration"]
    if c.get("tags"):
        args["Tags"] = c["tags"]
    report[c["name"]] = call(lambda: client.get_web_identity_token(**args))
print(json.dumps(report, default=str))
