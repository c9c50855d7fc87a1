# keyless: the README's two commands are `make run` and `make test`.

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
# COMMIT: HEAD, plus "-dirty" if `git status --porcelain` lists anything; set
# here because GOFLAGS=-buildvcs=false leaves it out of the build info.
COMMIT  ?= $(shell c=$$(git rev-parse -q --verify HEAD 2>/dev/null) && \
	{ [ -z "$$(git status --porcelain 2>/dev/null)" ] || c=$$c-dirty; echo $$c; })
LDFLAGS := -X github.com/keyless-dev/keyless/internal/version.Version=$(VERSION) \
	-X github.com/keyless-dev/keyless/internal/version.commit=$(COMMIT)
CONFIG  ?= examples/quickstart.yaml

.PHONY: build run test test-deps lint bench fuzz clean

## build: compile bin/keyless
# go build is silent while it fetches modules, so say so when the cache lacks them.
build:
	@GOPROXY=off $(GO) list -deps ./cmd/keyless 2>&1 >/dev/null | grep -q 'GOPROXY=off' && \
		echo "build: bin/keyless: the first build downloads Go modules; this can take a few minutes..." || true
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/keyless ./cmd/keyless

## run: serve the quickstart configuration on 127.0.0.1:8080 (data in ./data),
## in development mode: the key-encryption key that seals the master keys
## at rest is made once and kept in ~/.config/keyless (not for production)
run: build
	@echo "make run: development mode (--dev): master keys are sealed with a development key-encryption key in $${XDG_CONFIG_HOME:-$$HOME/.config}/keyless"
	./bin/keyless serve --dev --config $(CONFIG)

## test: install the real clients, lint, and run every test with -race
## (test/samlidp, the SAML IdP the end-to-end tests run, is its own module)
test:
	@echo "make test [1/4]: install the real clients the end-to-end tests drive (scripts/test-deps.sh)"
	@$(MAKE) --no-print-directory test-deps
	@echo "make test [2/4]: lint: gofmt, go vet, staticcheck (built on first use), go mod tidy -diff"
	@$(MAKE) --no-print-directory lint
	@echo "make test [3/4]: unit and end-to-end tests of the main module with -race (the longest phase; a line per package)"
	$(GO) test -race -count=1 ./...
	@echo "make test [4/4]: tests of test/samlidp, its own module, with -race"
	cd test/samlidp && $(GO) test -race -count=1 ./...
	@echo "make test: passed"

## test-deps: install what the end-to-end tests drive (npm, Debian packages)
test-deps:
	scripts/test-deps.sh

## lint: gofmt, go vet, staticcheck (pinned in tools/go.mod), tidy go.mod
lint:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "not gofmt-clean:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool -modfile=tools/go.mod staticcheck ./...
	$(GO) mod tidy -diff
	cd test/samlidp && $(GO) vet ./... && $(GO) mod tidy -diff

## bench: loopback load test of the real binary against a trivial handler
bench: build
	$(GO) build -o bin/bench ./bench
	./bin/bench -keyless bin/keyless

## fuzz: run every fuzz target for a short while
fuzz:
	@for t in FuzzParse:./internal/sigv4 FuzzCanonicalURI:./internal/sigv4 FuzzDecodeClaims:./internal/credential \
	          FuzzEncodeRoundTrip:./internal/audit FuzzEncodeMatchesEncodingJSON:./internal/audit \
	          FuzzParse:./internal/policy FuzzParse:./internal/idtoken \
	          FuzzEnvelope:./internal/awsproof FuzzPatternMatch:./internal/exchange FuzzVerify:./internal/samlxml; do \
		$(GO) test -run='^$$' -fuzz="^$${t%%:*}$$" -fuzztime=30s $${t#*:} || exit 1; done

clean:
	rm -rf bin data
