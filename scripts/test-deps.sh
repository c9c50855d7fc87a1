#!/usr/bin/env bash
# Installs the real AWS clients that test/e2e drives, from the registries
# reachable on a machine of this kind:
#   - @aws-sdk/client-sts, pinned by test/e2e/js/package-lock.json (npm);
#   - the AWS CLI v2 at /usr/bin/aws (Debian's awscli package);
#   - Dex (OIDC), OpenBao (a relying party of keyless's OIDC issuer) and
#     test/samlidp (a crewjam/saml IdP), built through the Go module proxy
#     into the user's cache;
#   - chromium and chromium-driver (Debian), for the sign-in page test.
# boto3 and the AWS CLI v1 come with the machine's Python (PyPI is not
# reachable). The tests themselves fail under CI=true if a client is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# Progress: one line when a step starts or is already done, another when
# it ends. Commands' own output is kept back and shown only if they fail.
steps=7 n=0 title= why= started=0 dexbuild= baobuild=
step() { n=$((n + 1)) title=$1 why=" ($2)" started=$SECONDS; }
say() { echo "test-deps [$n/$steps] $title$why: $*"; why=; }
warn() { echo "test-deps [$n/$steps] $title$why: $*" >&2; why=; }
took() { echo "$((SECONDS - started))s"; }
quiet() {
	local log rc=0
	log=$(mktemp)
	"$@" >"$log" 2>&1 || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "test-deps: \`$*\` failed (exit $rc); its output:" >&2
		cat "$log" >&2
	fi
	rm -f "$log"
	return "$rc"
}
# apt-get install; if that fails (its output is dropped), apt-get update and
# install again.
apt_install() {
	export DEBIAN_FRONTEND=noninteractive
	quiet apt-get install -y -q "$@" 2>/dev/null ||
		{ quiet apt-get update -q && quiet apt-get install -y -q "$@"; }
}
on_exit() {
	local rc=$?
	[ -z "$dexbuild" ] || rm -rf "$dexbuild"
	[ -z "$baobuild" ] || rm -rf "$baobuild"
	[ "$rc" -eq 0 ] || echo "test-deps [$n/$steps] ${title:-start}: FAILED (exit $rc)" >&2
}
trap on_exit EXIT

echo "test-deps: installs the real clients test/e2e drives, where missing: the AWS SDK for JavaScript (npm)," \
	"Debian's awscli, chromium and chromium-driver (apt-get, as root), Dex, OpenBao and the SAML IdP (go build)."
echo "test-deps: the first run takes a few minutes; later runs, seconds."

step "AWS SDK for JavaScript v3" "npm ci in test/e2e/js, pinned by its package-lock.json"
say "installing..."
quiet npm ci --prefix test/e2e/js --no-audit --no-fund --loglevel=error
say "done in $(took)"

step "AWS CLI v2" "Debian's awscli at /usr/bin/aws, for the e2e tests that drive the real CLI"
if [ -x /usr/bin/aws ]; then
	say "already installed"
elif [ "$(id -u)" -eq 0 ]; then
	say "installing with apt-get (usually under a minute)..."
	apt_install awscli
	say "done in $(took)"
else
	warn "/usr/bin/aws (Debian's awscli) is missing and this is not root; install it with sudo apt-get install awscli"
fi

step "boto3 and the AWS CLI v1" "from the machine's Python; PyPI is not reachable"
ok=true
python3 -c 'import boto3' 2>/dev/null || { ok=false; warn "python3 cannot import boto3"; }
command -v aws >/dev/null || { ok=false; warn "no aws command (AWS CLI v1) on PATH"; }
if $ok; then say "present"; fi

# Dex, a real and independent OIDC provider, for the web-identity tests
# (test/e2e/dex_test.go finds it here; KEYLESS_DEX overrides the path).
# `go install github.com/dexidp/dex/cmd/dex@...` does not work from this
# module proxy: @latest is a 2018 +incompatible tag, tag and branch queries
# are refused, and Dex's go.mod replaces its api/v2 module with a directory,
# which go install rejects. So a throwaway wrapper module requires tag
# v2.45.1 (commit 11d2eeb52b42) by pseudo-version, and api/v2 explicitly.
# Minimal version selection makes those two requirements fix the whole
# build list: the binary is identical to one built from the go.mod that
# `go mod tidy` fills with all 105 modules. go.sum pins Dex's own content;
# every other module is checked against sum.golang.org, which the go
# command reaches through the proxy (proxy.golang.org/sumdb), so nothing
# like GONOSUMDB or GOINSECURE is needed. The first build takes 1.5 to 2.5
# minutes; afterwards this section is one `dex version`.
dex_version=v2.45.1
dex="${XDG_CACHE_HOME:-$HOME/.cache}/keyless/dex-$dex_version/dex"
step "Dex $dex_version" "the OIDC provider of the web-identity tests"
if "$dex" version >/dev/null 2>&1; then
	say "already built: $dex"
else
	say "building through the Go module proxy (1.5 to 2.5 minutes, once)..."
	dexbuild=$(mktemp -d)
	cat >"$dexbuild/go.mod" <<'EOF'
module example.com/dexbuild

go 1.25.0

require (
	github.com/dexidp/dex v0.0.0-20260303133905-11d2eeb52b42
	github.com/dexidp/dex/api/v2 v2.4.0
)
EOF
	cat >"$dexbuild/go.sum" <<'EOF'
github.com/dexidp/dex v0.0.0-20260303133905-11d2eeb52b42 h1:alMakSpdG8hamu3RWuuymdCwkKG+1rbGq8fAtjZUGoI=
github.com/dexidp/dex v0.0.0-20260303133905-11d2eeb52b42/go.mod h1:1JrQ6VX250/cln+ls1EwsajUqv8CVDpAZuX9dLkZyvY=
github.com/dexidp/dex/api/v2 v2.4.0 h1:gNba7n6BKVp8X4Jp24cxYn5rIIGhM6kDOXcZoL6tr9A=
github.com/dexidp/dex/api/v2 v2.4.0/go.mod h1:/p550ADvFFh7K95VmhUD+jgm15VdaNnab9td8DHOpyI=
EOF
	printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/dexidp/dex/cmd/dex"\n' >"$dexbuild/tools.go"
	mkdir -p "$(dirname "$dex")"
	# -mod=mod lets go build add the checked sums of the other modules;
	# GOWORK=off keeps a go.work above the temporary directory out of it.
	quiet env GOWORK=off go build -C "$dexbuild" -mod=mod -trimpath -o "$dexbuild/dex" github.com/dexidp/dex/cmd/dex
	"$dexbuild/dex" version >/dev/null
	# A copy cut short fails `dex version` above and is built again next time.
	mv -f "$dexbuild/dex" "$dex"
	rm -rf "$dexbuild"
	dexbuild=
	say "done in $(took): $dex"
fi

# OpenBao, a real relying party of keyless's OIDC issuer: its JWT auth
# method verifies GetWebIdentityToken's tokens by discovery
# (test/e2e/openbao_test.go finds it here; KEYLESS_OPENBAO overrides the
# path). Only older pseudo-versions are served by the proxy (v2.4.0 is
# commit f9407a27fbee), its go.mod has replace directives, so it is built
# through a throwaway module; the checksum database has no entry for some
# of its go-kms-wrapping modules, hence GONOSUMDB. About 4 minutes once.
bao_version=v2.4.0
bao="${XDG_CACHE_HOME:-$HOME/.cache}/keyless/openbao-$bao_version/bao"
step "OpenBao $bao_version" "a relying party of keyless's OIDC issuer, for the identity provider tests"
if "$bao" version >/dev/null 2>&1; then
	say "already built: $bao"
else
	say "building from source through the Go module proxy (about 4 minutes)..."
	baobuild=$(mktemp -d)
	printf 'module example.com/baobuild\n\ngo 1.26\n' >"$baobuild/go.mod"
	quiet env -C "$baobuild" GOWORK=off GONOSUMDB=github.com/openbao go get github.com/openbao/openbao@v0.0.0-20250828202315-f9407a27fbee \
		github.com/openbao/openbao/api/v2@v2.4.0 github.com/openbao/openbao/sdk/v2@v2.4.0
	quiet env GOWORK=off GONOSUMDB=github.com/openbao go build -C "$baobuild" -trimpath -o "$baobuild/bao" github.com/openbao/openbao
	"$baobuild/bao" version >/dev/null
	mkdir -p "$(dirname "$bao")"
	mv -f "$baobuild/bao" "$bao"
	rm -rf "$baobuild"
	baobuild=
	say "done in $(took): $bao"
fi

# The SAML identity provider of the SAML tests (test/e2e/samlidp_test.go
# finds it here; KEYLESS_SAMLIDP overrides the path): crewjam/saml's
# samlidp in a small program, test/samlidp. It is a module of its own so
# that keyless's go.mod does not depend on crewjam/saml, and its go.mod
# requires goxmldsig v1.6.1 so that minimal version selection does not
# pick the v1.4.0 crewjam asks for. It is built every time: the program
# is part of this repository and changes with it, and the build cache
# makes a build without changes take a second.
samlidp="${XDG_CACHE_HOME:-$HOME/.cache}/keyless/samlidp"
step "SAML IdP" "test/samlidp, for the SAML tests"
say "building (seconds when the Go build cache is warm)..."
mkdir -p "$(dirname "$samlidp")"
# GOWORK=off: a go.work above the repository does not take part either.
quiet env GOWORK=off go build -C test/samlidp -trimpath -o "$samlidp" .
say "done in $(took): $samlidp"

# Chromium and its WebDriver for the SAML sign-in page's browser test,
# from Debian (chromium and chromium-driver, the same version).
step "Chromium" "Debian's chromium and chromium-driver, for the SAML sign-in page's browser test"
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
	say "already installed"
elif [ "$(id -u)" -eq 0 ]; then
	say "installing with apt-get (usually a minute or less)..."
	apt_install chromium chromium-driver
	say "done in $(took)"
else
	warn "/usr/bin/chromium or /usr/bin/chromedriver is missing and this is not root; install them with sudo apt-get install chromium chromium-driver"
fi
echo "test-deps: done in ${SECONDS}s"
