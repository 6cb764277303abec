# Strongbox build and test entry points. `make test` is what CI runs.
GO ?= go
PKGS := ./...
# Packages with concurrency run under the race detector too.
RACE_PKGS := ./internal/core/... ./internal/barrier/... ./internal/physical/... ./internal/audit/... ./internal/builtin/... ./internal/logical/... ./internal/seal/... ./internal/cluster/... ./internal/http/... ./internal/agent/...

.PHONY: test build vet fmt-check race bench deps

build:
	$(GO) build -o bin/strongbox ./cmd/strongbox

deps:
	@bash scripts/test-deps.sh

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

race:
	$(GO) test -race -count=1 $(RACE_PKGS)

test: deps fmt-check vet
	$(GO) test -count=1 -timeout 20m $(PKGS)
	$(MAKE) race

bench:
	$(GO) run ./bench/load -duration 5s
	$(GO) run ./bench/load -mode=raft -duration 5s
