"""What the client scripts report for one call: the answer, or the AWS error."""

import botocore.exceptions


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
