# keyless: the README's two commands are `make run` and `make test`.

GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/keyless-dev/keyless/internal/version.Version=$(VERSION)
CONFIG  ?= examples/quickstart.yaml

.PHONY: build run test test-deps lint bench fuzz clean

## build: compile bin/keyless
build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/keyless ./cmd/keyless

## run: serve the quickstart configuration on 127.0.0.1:8080 (data in ./data)
run: build
	./bin/keyless serve --config $(CONFIG)

## test: install the real clients, lint, and run every test with -race
## (test/samlidp, the SAML IdP the end-to-end tests run, is its own module)
test: test-deps lint
	$(GO) test -race -count=1 ./...
	cd test/samlidp && $(GO) test -race -count=1 ./...

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
