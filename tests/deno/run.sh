#!/usr/bin/env bash
# CI entry for the Deno checks: the worker CLI's sources run under Deno (from the npm registry).
# Each check runs once its command exists; the summary lists what ran and what was skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."
deno=node_modules/.bin/deno
[[ -x "$deno" ]] || { echo "deno-check: $deno is missing; run npm ci (deno is a devDependency)" >&2; exit 1; }
echo "deno-check: $("$deno" --version | head -n 1)"
exec node_modules/.bin/bun test --timeout 60000 tests/deno
