# basis-worker: every target installs what it needs first.
SHELL := /bin/bash
BUN := node_modules/.bin/bun
TSC := node_modules/.bin/tsc
COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
HOST_OS := $(shell uname -s | tr A-Z a-z | sed 's/mingw.*\|msys.*/windows/')
HOST_ARCH := $(shell uname -m | sed 's/x86_64/x64/;s/aarch64/arm64/')
HOST_TARGET := $(HOST_OS)-$(HOST_ARCH)
SOURCES := $(shell find bin lib templates -type f 2>/dev/null) package.json Makefile
BUILD_FLAGS = --compile --minify --splitting --bytecode --format=esm --define BASIS_BUILD_COMMIT='"$(COMMIT)"'

.PHONY: deps build engine test canary bench check clean dist bundle deno-check
.DEFAULT_GOAL := build

deps: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

build: dist/basis-worker dist/basis-canary

dist/basis-worker: node_modules/.installed $(SOURCES)
	@mkdir -p dist
	$(BUN) build $(BUILD_FLAGS) --define BASIS_BUILD_TARGET='"$(HOST_TARGET)"' bin/basis-worker.ts --outfile $@

dist/basis-canary: node_modules/.installed $(SOURCES)
	@mkdir -p dist
	$(BUN) build $(BUILD_FLAGS) --define BASIS_BUILD_TARGET='"$(HOST_TARGET)"' bin/basis-canary.ts --outfile $@

# A real inference engine for the tests and the bench (scripts/llama-engine.sh): llama.cpp's llama-server,
# built offline from the source the npm package node-llama-cpp ships, into a cache outside the repo
# (${XDG_CACHE_HOME:-~/.cache}/basis-worker/llama-<release>/; the first build takes about 10 minutes
# on one core, later runs reuse it), plus the tiny random-weight model beside it.
engine: node_modules/.installed
	@dir=$$(scripts/llama-engine.sh | tail -n 1) && $(BUN) scripts/make-tiny-model.ts --engine-dir "$$dir" >/dev/null

# The type-check runs first: a type error fails `make test` (and so CI) before the suite runs.
test: build engine
	$(TSC) --noEmit -p .
	$(BUN) test --timeout 30000

canary: build
	./dist/basis-canary

# docs/PERFORMANCE.md: writes bench/results.json and prints a table (bounded under 5 minutes);
# then docs/SCALING.md's figures (orchestrators on PostgreSQL): bench/scaling.json.
bench: build engine
	$(BUN) bench/run-bench.ts
	$(BUN) bench/scaling.ts

check: node_modules/.installed
	$(TSC) --noEmit -p .

clean:
	rm -rf dist bench/results.json bench/scaling.json

# Release builds (docs/DISTRIBUTION.md): both programs for every target, named
# <program>-<os>-<arch>[.exe], plus install.sh and SHA256SUMS. Bun fetches each target's runtime
# from the npm registry once (@oven/bun-<os>-<arch>) and caches it; a target it cannot get fails
# the build with a message, it is never skipped.
DIST_TARGETS ?= linux-x64 linux-arm64 darwin-x64 darwin-arm64 windows-x64
DIST_DIR ?= dist
SHA256SUM := $(shell command -v sha256sum >/dev/null 2>&1 && echo sha256sum || echo 'shasum -a 256')
VERSION := $(shell sed -n 's/^export const VERSION = "\(.*\)";/\1/p' lib/version.ts)

dist: node_modules/.installed
	@mkdir -p $(DIST_DIR)
	@set -e; for t in $(DIST_TARGETS); do \
	  case $$t in linux-x64|linux-arm64|darwin-x64|darwin-arm64|windows-x64) ;; \
	    *) echo "make dist: unknown target '$$t' (known: linux-x64 linux-arm64 darwin-x64 darwin-arm64 windows-x64)" >&2; exit 1 ;; esac; \
	done; \
	files=""; for t in $(DIST_TARGETS); do \
	  ext=; case $$t in windows-*) ext=.exe ;; esac; \
	  for p in basis-worker basis-canary; do \
	    out=$(DIST_DIR)/$$p-$$t$$ext; rm -f $$out; echo "build $$out"; \
	    $(BUN) build $(BUILD_FLAGS) --target=bun-$$t --define BASIS_BUILD_TARGET="\"$$t\"" bin/$$p.ts --outfile $$out >/dev/null && test -s $$out \
	      || { echo "make dist: bun could not build $$p for $$t; cross builds need Bun's $$t runtime, fetched once from registry.npmjs.org (see docs/DISTRIBUTION.md)" >&2; exit 1; }; \
	    files="$$files $$p-$$t$$ext"; \
	  done; \
	done; \
	cp templates/install.sh $(DIST_DIR)/install.sh; \
	cd $(DIST_DIR) && $(SHA256SUM) $$files install.sh > SHA256SUMS
	@echo "wrote $(DIST_DIR)/SHA256SUMS"

# The air-gapped bundle: one .tar.gz with both binaries for TARGET, the templates, install.sh,
# an offline README and a SHA256SUMS over every file in it.
TARGET ?= $(HOST_TARGET)
BUNDLE_DIR ?= dist
BUNDLE_NAME = basis-worker-$(VERSION)-$(TARGET)
BUNDLE_FILES := templates/docker-compose.worker.yml templates/Dockerfile templates/basis-worker.service templates/worker.env.example templates/prices.example.json

bundle: node_modules/.installed
	@rm -rf $(BUNDLE_DIR)/$(BUNDLE_NAME) && mkdir -p $(BUNDLE_DIR)/$(BUNDLE_NAME)/skill
	@$(MAKE) --no-print-directory dist DIST_TARGETS=$(TARGET) DIST_DIR=$(BUNDLE_DIR)/$(BUNDLE_NAME)
	cp $(BUNDLE_FILES) $(BUNDLE_DIR)/$(BUNDLE_NAME)/
	cp templates/OFFLINE-README.md $(BUNDLE_DIR)/$(BUNDLE_NAME)/README.md
	cp templates/skill/SKILL.md $(BUNDLE_DIR)/$(BUNDLE_NAME)/skill/SKILL.md
	cd $(BUNDLE_DIR)/$(BUNDLE_NAME) && find . -type f ! -name 'SHA256SUMS*' | sed 's|^\./||' | LC_ALL=C sort | xargs $(SHA256SUM) > SHA256SUMS.new && mv SHA256SUMS.new SHA256SUMS
	tar -czf $(BUNDLE_DIR)/$(BUNDLE_NAME).tar.gz -C $(BUNDLE_DIR) $(BUNDLE_NAME)
	cd $(BUNDLE_DIR) && $(SHA256SUM) $(BUNDLE_NAME).tar.gz > $(BUNDLE_NAME).tar.gz.sha256
	@rm -rf $(BUNDLE_DIR)/$(BUNDLE_NAME)
	@echo "wrote $(BUNDLE_DIR)/$(BUNDLE_NAME).tar.gz"

# The worker's sources under Deno (node_modules/.bin/deno from the npm registry).
deno-check: node_modules/.installed
	bash tests/deno/run.sh
