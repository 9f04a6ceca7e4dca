#!/usr/bin/env bash
# The real-engine checks on a GPU host: builds llama-server with CUDA (-DGGML_CUDA=ON) into its
# own cache folder (llama-<release>-cuda), then runs the same end-to-end tests `make test` runs
# against llama-server on CPU, and the real-engine section of the bench, with every layer
# offloaded to the GPU (-ngl 99). Needs an NVIDIA driver, the CUDA toolkit (nvcc), git, cmake and
# a C++ compiler; see docs/RUNTIMES.md.
#
#   scripts/gpu-check.sh                  build (once), test, bench; results in bench/results-gpu.json
#   LLAMA_JOBS=16 scripts/gpu-check.sh    compile jobs (default: all cores)
#   BASIS_LLAMA_ARGS="-ngl 99 -fa on"     more llama-server flags for the tests and the bench
set -euo pipefail
cd "$(dirname "$0")/.."

fail() { echo "gpu-check: $*" >&2; exit 1; }
command -v nvidia-smi >/dev/null 2>&1 || fail "nvidia-smi not found: this script is for a host with an NVIDIA GPU and driver"
nvidia-smi -L | grep -q '^GPU ' || fail "nvidia-smi lists no GPU"
command -v nvcc >/dev/null 2>&1 || [ -x /usr/local/cuda/bin/nvcc ] || fail "nvcc not found: install the CUDA toolkit (or put /usr/local/cuda/bin on PATH)"
[ -x /usr/local/cuda/bin/nvcc ] && export PATH="/usr/local/cuda/bin:$PATH"

nvidia-smi -L
make deps build
started=$(date +%s)
dir=$(LLAMA_VARIANT=cuda LLAMA_JOBS="${LLAMA_JOBS:-$(nproc)}" scripts/llama-engine.sh | tail -n 1)
echo "gpu-check: engine at $dir ($(( $(date +%s) - started )) s, including any build)"
node_modules/.bin/bun scripts/make-tiny-model.ts --engine-dir "$dir" >/dev/null

# The build must see the GPU, or the checks below would silently measure the CPU.
devices=$("$dir/bin/llama-server" --list-devices 2>&1 || true)
echo "$devices"
grep -q CUDA <<<"$devices" || fail "the CUDA build of llama-server lists no CUDA device"

export BASIS_LLAMA_DIR="$dir"
export BASIS_LLAMA_ARGS="-ngl 99 ${BASIS_LLAMA_ARGS:-}"
export BASIS_LLAMA_THREADS="${BASIS_LLAMA_THREADS:-4}"
status=0
node_modules/.bin/bun test --timeout 60000 tests/engine/ tests/e2e/llamacpp.test.ts || status=$?
node_modules/.bin/bun bench/run-bench.ts --only engine --out bench/results-gpu.json || status=$?
echo "gpu-check: $([ $status -eq 0 ] && echo passed || echo FAILED); bench figures in bench/results-gpu.json"
exit $status
