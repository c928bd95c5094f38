# chaosctl — see `make help`.
GO       ?= go
BIN      ?= bin/chaosctl
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
# The build date is the commit's (or SOURCE_DATE_EPOCH's), not the clock's, so
# that building one commit twice gives the same bytes.
DATE     ?= $(shell if [ -n "$$SOURCE_DATE_EPOCH" ]; then date -u -d "@$$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null || date -u -r "$$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ; \
                    else TZ=UTC git log -1 --date=format-local:%Y-%m-%dT%H:%M:%SZ --format=%cd 2>/dev/null; fi)
# -s -w drop the symbol table and DWARF debug information (about a third of
# the binary; panics keep their stack traces); -X embeds what `chaosctl
# version` prints.
LDFLAGS  := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.date=$(DATE)
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
DIST     ?= dist
# GOOS/GOARCH pairs `make dist` builds.
PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64
SHA256SUM ?= $(shell command -v sha256sum >/dev/null 2>&1 && echo sha256sum || echo 'shasum -a 256')
PKGS     := ./...
# A count of executions, not a duration: Go before 1.27 can fail a duration-bounded
# fuzz run with "context deadline exceeded" and no crasher (a race in its fuzzing
# coordinator at the deadline, golang/go#75804); a count has no deadline to race.
FUZZTIME ?= 40000x
BENCHTIME ?= 1x

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets with a line each
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build bin/chaosctl (static, CGO_ENABLED=0)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/chaosctl

.PHONY: install
install: build ## install bin/chaosctl as $(DESTDIR)$(BINDIR)/chaosctl (PREFIX=/usr/local, DESTDIR for packaging)
	install -d '$(DESTDIR)$(BINDIR)'
	install -m 0755 $(BIN) '$(DESTDIR)$(BINDIR)/chaosctl'

.PHONY: dist
dist: ## static release binaries for linux and darwin, amd64 and arm64, in dist/ with SHA256SUMS
	rm -rf '$(DIST)' && mkdir -p '$(DIST)'
	for p in $(PLATFORMS); do \
		os=$${p%/*}; arch=$${p#*/}; \
		echo "$(DIST)/chaosctl-$(VERSION)-$$os-$$arch"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags '$(LDFLAGS)' \
			-o '$(DIST)/chaosctl-$(VERSION)-'$$os-$$arch ./cmd/chaosctl || exit 1; \
	done
	cd '$(DIST)' && $(SHA256SUM) chaosctl-* > SHA256SUMS

# The end-to-end runs of cmd/chaosctl judge latency SLOs of a real cluster: they
# run on their own after the other packages, not beside them on a 2-core machine.
E2E := ./cmd/chaosctl

.PHONY: image
image: build ## build the FROM-scratch container image chaosctl:<version> through the Docker API
	$(BIN) image build

.PHONY: test
test: vet ## vet, then every test with -race (end-to-end runs last, alone), then short fuzz runs of both decoders, the ledger parser and a member's HTTP API
	$(GO) test -race -count=1 -timeout 20m $$($(GO) list $(PKGS) | grep -v '/cmd/chaosctl$$')
	$(GO) test -race -count=1 -timeout 60m $(E2E)
	@# Minimizing a large seed may take the whole run: bound it so the
	@# fuzzers spend their time on new inputs.
	$(GO) test -run='^$$' -fuzz='^FuzzDecode$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=200x ./experiments/
	$(GO) test -run='^$$' -fuzz='^FuzzGameDay$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=200x ./experiments/
	$(GO) test -run='^$$' -fuzz='^FuzzLedger$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=200x ./injectors/
	$(GO) test -run='^$$' -fuzz='^FuzzMemberHTTP$$' -fuzztime=$(FUZZTIME) -fuzzminimizetime=200x ./targets/demo/member/

# Every example whose header promises a verdict ("# expect: ...") over seeds
# 1..CHAOSCTL_LONG_SEEDS, at most CHAOSCTL_LONG_PARALLEL runs at a time whose
# demo clusters have at most CHAOSCTL_LONG_MEMBERS members in all; each run must
# keep the promise. CHAOSCTL_LONG_EXAMPLES=a.yaml,b.yaml narrows it,
# CHAOSCTL_LONG_FIRST_SEED=11 starts the seeds there, and
# CHAOSCTL_LONG_OUT keeps every run's output folder there.
CHAOSCTL_LONG_SEEDS    ?= 20
CHAOSCTL_LONG_PARALLEL ?= 3
CHAOSCTL_LONG_MEMBERS  ?= 14
export CHAOSCTL_LONG_SEEDS CHAOSCTL_LONG_PARALLEL CHAOSCTL_LONG_MEMBERS

.PHONY: test-long
test-long: ## every example's promised verdict on every one of 20 seeds (about 50 minutes on 2 cores, up to three runs at a time)
	CHAOSCTL_LONG=1 $(GO) test -count=1 -timeout 120m -run '^(TestExamplesKeepTheirPromisesOnEverySeed|TestExploreFindsNoFailureWithResync)$$' -v $(E2E)

.PHONY: vet
vet: ## go vet over every package
	$(GO) vet $(PKGS)

.PHONY: lint
lint: vet ## gofmt check, go vet, and the duplicates report when the tool is installed
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	@if command -v duplicates >/dev/null 2>&1; then duplicates . || true; fi

.PHONY: bench
bench: ## benchmarks: cache hit path, ring, storage, generator (and against vegeta), cluster throughput, docker vs process timing
	$(GO) test -run='^$$' -bench=. -benchtime=$(BENCHTIME) -timeout 30m $(PKGS)

# A one-node Kubernetes cluster on this machine for the kubernetes runtime's
# tests (root only): binaries built once from the Go module proxy into
# ~/.cache/chaosctl-k8s, etcd and containerd from Debian. See scripts/k8s/README.md.
.PHONY: k8s-build
k8s-build: ## build the test node's Kubernetes binaries once (cached outside the repository)
	scripts/k8s/build.sh

.PHONY: k8s-up
k8s-up: ## start the one-node Kubernetes test cluster (KUBECONFIG=/var/lib/chaosctl-k8s/admin.kubeconfig)
	scripts/k8s/up.sh

.PHONY: k8s-down
k8s-down: ## stop the test cluster and remove every process, mount, cgroup, bridge and rule it made
	scripts/k8s/down.sh

.PHONY: clean
clean: ## remove build output
	rm -rf bin chaosctl-out '$(DIST)'
