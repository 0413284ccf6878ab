# reconcile — build, test and demo targets. `make test` is what CI runs.
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
export CGO_ENABLED := 0

BIN      := bin/reconcile
PKGS     := ./...
# The packages whose tests bring up the lab (labtest.Up, labtest.Main): they
# need root and run one package at a time. The lab lock would serialize them
# anyway, but two waiting test binaries would still hold the 2 cores' worth
# of builds and timeouts.
LAB_PKGS := ./integration/e2e ./integration/lab ./runtime
# The rest run UNIT_P packages at once: pure unit tests, and the root-only
# ones that share nothing (net's throwaway rcntest-* network namespaces,
# gitsource's sshd in a private mount namespace).
# (make 4.3 runs $(shell) without the PATH exported above, hence PATH=.)
UNIT_PKGS = $(filter-out $(shell PATH='$(PATH)' go list $(LAB_PKGS)),$(shell PATH='$(PATH)' go list $(PKGS)))
UNIT_P   ?= 2
# Integration tests need root; they run here, not behind a flag.
TESTFLAGS ?= -count=1 -timeout 25m
# Counts, not durations: Go 1.26's fuzz coordinator can report a bare
# "context deadline exceeded" when a -fuzztime duration ends while a worker is
# mid-input (golang/go#75804, fixed in 1.27), which failed CI with no crasher.
# A count has no deadline to race; 30000 execs is ~5-15 s on 2 cores.
FUZZTIME ?= 30000x
FUZZMINIMIZE ?= 200x

.PHONY: all build deps test unit lint fuzz demo bench clean lab-up lab-down

all: build

# deps installs the lab's system packages (idempotent, fast when present)
# and downloads the Go modules.
deps:
	@bash integration/install-deps.sh
	@go mod download

# The binary is static: reconcile copies itself to hosts to run as the node
# agent. Hosts of another architecture get bin/reconcile-linux-ARCH, found
# next to bin/reconcile (reconcile.AgentLookup): arm64, and amd64 too when
# this machine is not linux/amd64.
GO_PLATFORM := $(shell PATH='$(PATH)' go env GOOS)/$(shell PATH='$(PATH)' go env GOARCH)
AGENT_ARCHS := $(filter-out $(patsubst linux/%,%,$(filter linux/%,$(GO_PLATFORM))),amd64 arm64)
build:
	go build -trimpath -o $(BIN) ./cmd/reconcile
	@set -e; for a in $(AGENT_ARCHS); do \
		echo "GOOS=linux GOARCH=$$a go build -trimpath -o $(dir $(BIN))reconcile-linux-$$a ./cmd/reconcile"; \
		GOOS=linux GOARCH=$$a go build -trimpath -o $(dir $(BIN))reconcile-linux-$$a ./cmd/reconcile; \
	done

# staticcheck is pinned by the tool directive in go.mod (go.sum holds its
# hashes), so CI needs only the module proxy; it fails on any finding.
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	go vet $(PKGS)
	go tool staticcheck $(PKGS)

# Minimizing a new input pauses the exec count; a small cap keeps the run fuzzing.
fuzz:
	go test -run='^$$' -fuzz=FuzzDecode -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZE) ./resources

test: deps build lint
	go test $(TESTFLAGS) -p $(UNIT_P) $(UNIT_PKGS)
	go test $(TESTFLAGS) -p 1 $(LAB_PKGS)
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
	set -o pipefail; go test -count=1 -run='^$$' -bench='^BenchmarkLabClusterDNS$$' -benchtime=9x -timeout 10m ./integration/e2e | tee bench/dns.txt
	@{ echo; echo "## Cluster DNS from a pod (BenchmarkLabClusterDNS, the same run)"; echo; \
	  echo "Lookups of my-nginx.default.svc.cluster.local from a pod on node-1, 4 at a time: reconcile's"; \
	  echo "cluster DNS (dns-), dnsmasq on the same host serving it from a hosts file (dnsmasq-), and that"; \
	  echo "dnsmasq behind Docker's embedded resolver (embedded-). Medians of 9 rounds, each server once a round,"; \
	  echo "the order rotating; dns/dnsmasq-qps is the median of each round's ratio. The -c16 figures are"; \
	  echo "dns and dnsmasq again at 16 lookups at a time, which keeps the server busy on the 2 cores."; \
	  echo "Target: dns/dnsmasq-qps and dns/dnsmasq-c16-qps >= 1, dns-p99 < 1 ms."; \
	  echo; echo '```'; grep '^BenchmarkLabClusterDNS' bench/dns.txt; echo '```'; } >> bench/results.md
	@rm -f bench/dns.txt

lab-up: deps build
	go run ./integration/labctl up

lab-down:
	go run ./integration/labctl down

clean:
	rm -rf bin
