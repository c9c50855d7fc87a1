"""Drive keyless with boto3 through the end-to-end scenario.

Input: $KEYLESS_SCENARIO (JSON, see test/e2e/scenario_test.go).
Output: one JSON report on stdout, a step name to {"ok": response} or
{"error": code, "status": http status, "message": ...}.
"""
import json
import os
import re

import boto3
from report import call

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

roles = cfg["roles"]
report["ar_demo"] = call(lambda: sts(alice).assume_role(
    RoleArn=roles["demo"], RoleSessionName=roles["demoSession"], Tags=roles["tags"],
    TransitiveTagKeys=roles["transitiveKeys"], SourceIdentity=roles["sourceIdentity"], Policy=roles["policy"]))
demo = session(report["ar_demo"])
report["gci_demo"] = call(lambda: sts(demo).get_caller_identity())
report["gaki_demo"] = call(lambda: sts(demo).get_access_key_info(AccessKeyId=bob["AccessKeyID"]))
report["ar_hop2"] = call(lambda: sts(demo).assume_role(RoleArn=roles["auditor"], RoleSessionName=roles["hop2Session"]))
report["gci_hop2"] = call(lambda: sts(session(report["ar_hop2"])).get_caller_identity())
report["ar_hop2_transitive_clash"] = call(lambda: sts(demo).assume_role(
    RoleArn=roles["auditor"], RoleSessionName=roles["hop2Session"], Tags=[{"Key": roles["transitiveKeys"][0], "Value": "other"}]))
report["ar_partner"] = call(lambda: sts(alice).assume_role(
    RoleArn=roles["partner"], RoleSessionName=roles["partnerSession"], ExternalId=roles["externalId"]))
report["ar_partner_no_external_id"] = call(lambda: sts(alice).assume_role(RoleArn=roles["partner"], RoleSessionName=roles["partnerSession"]))
report["ar_partner_wrong_external_id"] = call(lambda: sts(alice).assume_role(
    RoleArn=roles["partner"], RoleSessionName=roles["partnerSession"], ExternalId="not-the-external-id"))
report["gft"] = call(lambda: sts(alice).get_federation_token(Name=roles["federatedName"], Policy=roles["policy"]))
federated = session(report["gft"])
report["gci_federated"] = call(lambda: sts(federated).get_caller_identity())
report["gaki_federated"] = call(lambda: sts(federated).get_access_key_info(AccessKeyId=bob["AccessKeyID"]))
report["ar_admin"] = call(lambda: sts(alice).assume_role(RoleArn=roles["admin"], RoleSessionName=roles["adminSession"]))
found = re.search(r"Encoded authorization failure message: (\S+)", report["ar_admin"].get("message", ""))
encoded = found.group(1) if found else "no-encoded-message"
report["decode"] = call(lambda: sts(alice).decode_authorization_message(EncodedMessage=encoded))
report["decode_demo"] = call(lambda: sts(demo).decode_authorization_message(EncodedMessage=encoded))
# Role chaining from the shared config file, with the endpoint from
# $AWS_ENDPOINT_URL_STS.
report["profile_chain"] = call(lambda: boto3.Session(profile_name=cfg["profile"]).client("sts").get_caller_identity())
print(json.dumps(report, default=str))
