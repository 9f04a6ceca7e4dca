# basis-worker: every target installs what it needs first.
SHELL := /bin/bash
BUN := node_modules/.bin/bun
TSC := node_modules/.bin/tsc
COMMIT := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
HOST_OS := $(shell uname -s | tr A-Z a-z | sed 's/mingw.*\|msys.*/windows/')
HOST_ARCH := $(shell uname -m | sed 's/x86_64/x64/;s/aarch64/arm64/')
HOST_TARGET := $(HOST_OS)-$(HOST_ARCH)
SOURCES := $(shell find bin lib templates -type f 2>/dev/null) package.json
BUILD_FLAGS = --compile --minify --define BASIS_BUILD_COMMIT='"$(COMMIT)"'

.PHONY: deps build test canary check clean
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

test: build
	$(BUN) test --timeout 30000

canary: build
	./dist/basis-canary

check: node_modules/.installed
	$(TSC) --noEmit -p .

clean:
	rm -rf dist bench/results.json
