# reconcile — build, test and demo targets. `make test` is what CI runs.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
export CGO_ENABLED := 0

BIN      := bin/reconcile
PKGS     := ./...
# Integration tests share one lab per package and need root; they run here,
# not behind a flag. -p 1 keeps two lab packages from starting at once.
TESTFLAGS ?= -count=1 -timeout 25m -p 1
FUZZTIME ?= 15s

.PHONY: all build deps test unit lint fuzz demo bench clean lab-up lab-down

all: build

# deps installs the lab's system packages (idempotent, fast when present)
# and downloads the Go modules.
deps:
	@bash integration/install-deps.sh
	@go mod download

# The binary is static: reconcile copies itself to hosts to run as the node agent.
build:
	go build -trimpath -o $(BIN) ./cmd/reconcile

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet $(PKGS)

fuzz:
	go test -run='^$$' -fuzz=FuzzDecode -fuzztime=$(FUZZTIME) ./resources

test: deps build lint
	go test $(TESTFLAGS) $(PKGS)
	$(MAKE) --no-print-directory fuzz

# unit runs the tests that need neither root nor the lab.
unit:
	go test -short -count=1 $(PKGS)

demo: deps build
	bash examples/demo.sh

# Unit benchmarks run a second each (3 runs of a 5ms plan are noise). The lab
# bench is TestBench in integration/e2e: each of our figures next to its floor
# measured in the same run, printed and written to bench/results.md. It only
# runs with RECONCILE_BENCH set, so `make test` never runs it. -p 1: packages
# benchmarking at once on 2 cores would measure each other.
bench: deps build
	go test -p 1 -run='^$$' -bench=. -benchtime=1s -benchmem -timeout 30m $$(go list $(PKGS) | grep -v /integration/)
	RECONCILE_BENCH=1 RECONCILE_BENCH_OUT=$(CURDIR)/bench/results.md go test -count=1 -v -run='^TestBench$$' -timeout 25m ./integration/e2e

lab-up: deps build
	go run ./integration/labctl up

lab-down:
	go run ./integration/labctl down

clean:
	rm -rf bin
