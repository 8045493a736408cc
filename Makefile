# reglock: make run (sandbox), make test (with a private Redis), make bench.
GO       ?= go
BIN      := bin/reglock
GOFLAGS  ?=
# What `reglock version` and reglock_build_info report.
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS  := -X main.version=$(VERSION) -X main.commit=$(shell git rev-parse HEAD 2>/dev/null) -X main.commitTime=$(shell git log -1 --format=%cI 2>/dev/null)

.PHONY: all build run test soak lint vulncheck fuzz bench clean

all: build

build:
	$(GO) build $(GOFLAGS) -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/reglock

## run: the sandbox: embedded Redis, simulated registrars, API on 127.0.0.1:8080.
## It says so before building: the first build takes a minute or two.
run:
	@echo "make run: building $(BIN) first (the first build downloads and compiles the dependencies: a minute or two), then starting the sandbox"
	@$(MAKE) --no-print-directory build
	./$(BIN) serve

## test: every test, with the race detector, against a private redis-server
## started (and installed if missing) for this run only, and with Chromium
## (installed if missing) for the browser tests, and with promtool (Debian's
## prometheus package, installed if missing) for the alert rules' tests, and
## with php-cli and php-curl (installed if missing) for the WHMCS module's test.
test:
	./scripts/with-redis.sh ./scripts/with-chromium.sh ./scripts/with-promtool.sh ./scripts/with-php.sh $(GO) test -race -count=1 -timeout 25m ./...

## soak: the convergence simulation over many more seeds than make test's
## 1,000 (SEEDS=100000 takes about an hour on two cores); FIRST picks the
## first seed. A failing seed prints the command that replays it.
SEEDS ?= 100000
FIRST ?= 1
soak:
	$(GO) test -count=1 -timeout 0 -run '^TestConvergence$$' ./simulation -sim.seeds=$(SEEDS) -sim.first=$(FIRST)

## bench: Go micro-benchmarks and reglock-bench (pipeline, producer path,
## sweeps, rate budget) against a private redis-server; BENCH_QUICK=1 for a
## smoke run under a minute.
bench: build
	./scripts/with-redis.sh sh -c '$(GO) test -run "^$$" -bench . -benchmem -benchtime $${BENCHTIME:-1s} ./store ./ratelimit ./tasks ./providers/... && $(GO) run ./cmd/reglock-bench -reglock $(BIN)'

## lint: formatting, vet, and go.mod/go.sum exactly what the code needs
## (nothing unused, nothing missing) and matching what was downloaded.
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) mod tidy -diff
	$(GO) mod verify

## vulncheck: govulncheck ./... (pinned) against GOVULNDB (default
## https://vuln.go.dev; a file:// copy works offline). Fails on a reachable
## vulnerability; warns loudly when the database cannot be reached, unless
## VULNCHECK_REQUIRED=1.
vulncheck:
	./scripts/vulncheck.sh

## fuzz: run every fuzz target for FUZZTIME each (the seeds also run in make test).
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin
