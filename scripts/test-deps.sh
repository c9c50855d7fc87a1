#!/usr/bin/env bash
# Installs the real AWS clients that test/e2e drives, from the registries
# reachable on a machine of this kind:
#   - @aws-sdk/client-sts, pinned by test/e2e/js/package-lock.json (npm);
#   - the AWS CLI v2 at /usr/bin/aws (Debian's awscli package).
# boto3 and the AWS CLI v1 come with the machine's Python (PyPI is not
# reachable). The tests themselves fail under CI=true if a client is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

npm ci --prefix test/e2e/js --no-audit --no-fund --loglevel=error

if [ ! -x /usr/bin/aws ]; then
	if [ "$(id -u)" -eq 0 ]; then
		export DEBIAN_FRONTEND=noninteractive
		apt-get install -y -q awscli >/dev/null ||
			{ apt-get update -q >/dev/null && apt-get install -y -q awscli >/dev/null; }
	else
		echo "test-deps: /usr/bin/aws (Debian's awscli) is missing and this is not root; install it with sudo apt-get install awscli" >&2
	fi
fi

python3 -c 'import boto3' 2>/dev/null || echo "test-deps: python3 cannot import boto3" >&2
command -v aws >/dev/null || echo "test-deps: no aws command (AWS CLI v1) on PATH" >&2
