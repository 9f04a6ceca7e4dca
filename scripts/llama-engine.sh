#!/usr/bin/env bash
# Builds llama.cpp's llama-server offline from the source that the npm package node-llama-cpp
# ships as llama/gitRelease.bundle (version and checksum pinned in scripts/llama-engine.json),
# into a cache folder outside the repository, keyed by the llama.cpp release:
#   ${BASIS_LLAMA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/basis-worker}/llama-<release>[-<variant>]/
#     bin/llama-server  models/ggml-vocab-llama-spm.gguf  build.json
# Reused when present; safe when two checkouts build at once (a lock, then a temp folder
# renamed into place). Prints that folder as the last line of stdout.
#
# Only the package's tarball is fetched (`npm pack`, checked against the pinned sha512): not
# installed, so none of its install scripts or its ~700 MB of prebuilt binaries come along.
#
#   scripts/llama-engine.sh                       CPU build (GGML_NATIVE=OFF: runs on any x86-64/arm64)
#   LLAMA_VARIANT=cuda scripts/llama-engine.sh    CUDA build (-DGGML_CUDA=ON), for a GPU host
#   LLAMA_JOBS=N                                  parallel compile jobs (default 2)
#   scripts/llama-engine.sh --dir                 print the folder without building
set -euo pipefail

# The whole body is one function, so bash has read all of it before it runs: editing this file
# during a (long) build cannot change what the running build does.
main() {
  cd "$(dirname "$0")/.."

  pin() { sed -n "s/.*\"$1\": *\"\([^\"]*\)\".*/\1/p" scripts/llama-engine.json; }
  version=$(pin nodeLlamaCpp)
  sha512=$(pin sha512)
  release=$(pin llamaCppRelease)
  variant=${LLAMA_VARIANT:-cpu}
  case $variant in
    cpu) flags=(-DGGML_NATIVE=OFF) ;;
    cuda) flags=(-DGGML_NATIVE=OFF -DGGML_CUDA=ON) ;;
    *) echo "llama-engine: unknown LLAMA_VARIANT '$variant' (known: cpu cuda)" >&2; exit 2 ;;
  esac
  suffix=; [ "$variant" = cpu ] || suffix=-$variant
  root=${BASIS_LLAMA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/basis-worker}
  dest=$root/llama-$release$suffix
  jobs=${LLAMA_JOBS:-2}

  if [ "${1:-}" = --dir ]; then echo "$dest"; exit 0; fi
  if [ -x "$dest/bin/llama-server" ]; then echo "$dest"; exit 0; fi

  for tool in npm git cmake c++ tar; do
    command -v $tool >/dev/null 2>&1 || { echo "llama-engine: '$tool' is needed to build llama-server (Debian: apt-get install git cmake g++)" >&2; exit 1; }
  done
  if command -v sha512sum >/dev/null 2>&1; then sha512() { sha512sum "$1" | cut -d' ' -f1; }; else sha512() { shasum -a 512 "$1" | cut -d' ' -f1; }; fi

  mkdir -p "$root"
  # One builder at a time per release: flock where it exists (Linux), else a mkdir lock.
  lock=$root/.llama-$release$suffix.lock
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$lock"
    if ! flock -n 9; then
      echo "llama-engine: another checkout is building llama-server $release; waiting for it" >&2
      flock 9
    fi
    unlock() { :; }
  else
    until mkdir "$lock.d" 2>/dev/null; do sleep 5; done
    unlock() { rmdir "$lock.d" 2>/dev/null || true; }
  fi
  # Another checkout may have finished while this one waited.
  if [ -x "$dest/bin/llama-server" ]; then unlock; echo "$dest"; exit 0; fi

  # A fixed work folder under the lock: an interrupted build resumes where it stopped; a failed
  # one is wiped so the next try starts clean.
  work=$root/.build-$release$suffix
  trap unlock EXIT
  start=$(date +%s)

  tarball=$root/node-llama-cpp-$version.tgz
  if [ ! -f "$tarball" ] || [ "$(sha512 "$tarball")" != "$sha512" ]; then
    echo "llama-engine: fetching node-llama-cpp@$version's tarball (llama.cpp's source, ~35 MB) with npm pack" >&2
    mkdir -p "$work"
    (cd "$work" && npm pack "node-llama-cpp@$version" --silent >/dev/null) \
      || { echo "llama-engine: npm pack node-llama-cpp@$version failed (is the npm registry reachable?)" >&2; exit 1; }
    got=$(sha512 "$work/node-llama-cpp-$version.tgz")
    if [ "$got" != "$sha512" ]; then
      echo "llama-engine: node-llama-cpp-$version.tgz does not match the sha512 pinned in scripts/llama-engine.json" >&2
      exit 1
    fi
    mv "$work/node-llama-cpp-$version.tgz" "$tarball"
  fi
  if [ ! -d "$work/src/.git" ]; then
    rm -rf "$work/src" "$work/build" "$work/package"
    mkdir -p "$work"
    tar -xzf "$tarball" -C "$work" package/llama/gitRelease.bundle package/llama/llama.cpp.info.json
    shipped=$(sed -n 's/.*"tag": *"\([^"]*\)".*/\1/p' "$work/package/llama/llama.cpp.info.json")
    if [ "$shipped" != "$release" ]; then
      echo "llama-engine: node-llama-cpp@$version ships llama.cpp $shipped, scripts/llama-engine.json says $release" >&2
      exit 1
    fi
    git clone -q "$work/package/llama/gitRelease.bundle" "$work/src" 2>/dev/null
  fi

  echo "llama-engine: building llama-server $release ($variant, $jobs jobs; about 10 minutes on one core) in $work" >&2
  cmake -S "$work/src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
    -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_OPENSSL=OFF \
    -DBUILD_SHARED_LIBS=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF "${flags[@]}" >"$work/cmake.log" 2>&1 \
    || { tail -n 30 "$work/cmake.log" >&2; rm -rf "$work"; echo "llama-engine: cmake could not configure llama.cpp" >&2; exit 1; }
  nice -n 10 cmake --build "$work/build" --target llama-server -j "$jobs" >"$work/build.log" 2>&1 \
    || { tail -n 30 "$work/build.log" >&2; rm -rf "$work"; echo "llama-engine: building llama-server failed" >&2; exit 1; }

  mkdir -p "$work/out/bin" "$work/out/models"
  cp "$work/build/bin/llama-server" "$work/out/bin/"
  cp "$work/src/models/ggml-vocab-llama-spm.gguf" "$work/out/models/"
  cp "$work/src/LICENSE" "$work/out/LICENSE.llama.cpp"
  secs=$(( $(date +%s) - start ))
  printf '{"release":"%s","variant":"%s","node_llama_cpp":"%s","jobs":%s,"build_seconds":%s,"built_at":"%s"}\n' \
    "$release" "$variant" "$version" "$jobs" "$secs" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$work/out/build.json"
  rm -rf "$dest"
  mv "$work/out" "$dest"
  rm -rf "$work"
  echo "llama-engine: built $dest/bin/llama-server in ${secs}s" >&2
  echo "$dest"
}

main "$@"
