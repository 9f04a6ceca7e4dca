#!/bin/sh
# Installs basis-worker (and basis-canary) for this machine.
#
#   curl -fsSL "$BASIS_DOWNLOAD_BASE/install.sh" | BASIS_DOWNLOAD_BASE=... sh
#   sh install.sh --from ./bundle-folder          (air-gapped: no network at all)
#
# Every file is checked against SHA256SUMS before anything is installed; on a mismatch nothing
# is installed and nothing is left behind. No sudo unless the chosen prefix needs it.
set -eu

usage() {
  cat <<'EOF'
Usage: install.sh [--prefix DIR] [--from DIR | --base URL] [--target OS-ARCH] [--worker-only]

  --prefix DIR    install into DIR/bin (default: $HOME/.local)
  --from DIR      install from a local folder holding the binaries and SHA256SUMS
  --base URL      download from URL (default: $BASIS_DOWNLOAD_BASE)
  --target T      override the detected target (linux-x64, linux-arm64, darwin-x64,
                  darwin-arm64, windows-x64)
  --worker-only   skip basis-canary (the end-to-end self-test)
EOF
}

say() { printf '%s\n' "$*" >&2; }
fail() {
  say "install.sh: $*"
  exit 1
}

PREFIX="${HOME:-}/.local"
FROM=""
BASE="${BASIS_DOWNLOAD_BASE:-}"
TARGET=""
PROGRAMS="basis-worker basis-canary"

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || fail "--prefix needs a folder"; PREFIX="$2"; shift 2 ;;
    --prefix=*) PREFIX="${1#*=}"; shift ;;
    --from) [ $# -ge 2 ] || fail "--from needs a folder"; FROM="$2"; shift 2 ;;
    --from=*) FROM="${1#*=}"; shift ;;
    --base) [ $# -ge 2 ] || fail "--base needs a URL"; BASE="$2"; shift 2 ;;
    --base=*) BASE="${1#*=}"; shift ;;
    --target) [ $# -ge 2 ] || fail "--target needs a value"; TARGET="$2"; shift 2 ;;
    --target=*) TARGET="${1#*=}"; shift ;;
    --worker-only) PROGRAMS="basis-worker"; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; fail "unknown option: $1" ;;
  esac
done

[ -n "$PREFIX" ] || fail "no install prefix: set HOME or pass --prefix DIR"

detect_target() {
  os=$(uname -s)
  arch=$(uname -m)
  case "$os" in
    Linux) os=linux ;;
    Darwin) os=darwin ;;
    MINGW* | MSYS* | CYGWIN*) os=windows ;;
    *) fail "unsupported operating system: $os" ;;
  esac
  case "$arch" in
    x86_64 | amd64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) fail "unsupported CPU architecture: $arch" ;;
  esac
  # A shell under Rosetta reports x86_64 on Apple Silicon; the native build is the right one.
  if [ "$os" = darwin ] && [ "$arch" = x64 ] && [ "$(sysctl -n sysctl.proc_translated 2>/dev/null || echo 0)" = 1 ]; then
    arch=arm64
  fi
  printf '%s-%s\n' "$os" "$arch"
}

[ -n "$TARGET" ] || TARGET=$(detect_target)
case "$TARGET" in
  linux-x64 | linux-arm64 | darwin-x64 | darwin-arm64) EXT="" ;;
  windows-x64) EXT=".exe" ;;
  *) fail "unknown target: $TARGET" ;;
esac

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d ' ' -f 1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d ' ' -f 1
  elif command -v openssl >/dev/null 2>&1; then
    openssl dgst -sha256 -r "$1" | cut -d ' ' -f 1
  else
    fail "no sha256sum, shasum or openssl found: cannot verify the download"
  fi
}

fetch() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --proto '=https,http' --retry 2 -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$2" "$1"
  else
    fail "neither curl nor wget is installed"
  fi
}

# Everything is staged here first; the trap removes it whatever happens.
BIN="$PREFIX/bin"
SUDO=""
STAGE=$(mktemp -d "${TMPDIR:-/tmp}/basis-install.XXXXXX") || fail "cannot create a temporary folder"
cleanup() {
  rm -rf "$STAGE"
  for program in $PROGRAMS; do
    [ ! -e "$BIN/.$program$EXT.new.$$" ] || $SUDO rm -f "$BIN/.$program$EXT.new.$$"
  done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

get() {
  if [ -n "$FROM" ]; then
    [ -f "$FROM/$1" ] || fail "$FROM/$1 not found"
    cp "$FROM/$1" "$STAGE/$1"
  else
    fetch "${BASE%/}/$1" "$STAGE/$1" || fail "download failed: ${BASE%/}/$1"
  fi
}

if [ -z "$FROM" ] && [ -z "$BASE" ]; then
  fail "nowhere to download from: set BASIS_DOWNLOAD_BASE, or pass --base URL or --from DIR"
fi

get SHA256SUMS
for program in $PROGRAMS; do
  file="$program-$TARGET$EXT"
  get "$file"
  # sha256sum lines read "<hash>  <name>" (or " *<name>" in binary mode).
  expected=$(awk -v f="$file" '$2 == f || $2 == "*" f { print $1; exit }' "$STAGE/SHA256SUMS")
  [ -n "$expected" ] || fail "$file is not listed in SHA256SUMS; nothing was installed"
  actual=$(sha256_of "$STAGE/$file")
  if [ "$actual" != "$expected" ]; then
    fail "checksum mismatch for $file (expected $expected, got $actual); nothing was installed"
  fi
done
say "Checksums match SHA256SUMS."

if ! mkdir -p "$BIN" 2>/dev/null || [ ! -w "$BIN" ]; then
  [ "$(id -u)" -ne 0 ] || fail "cannot write to $BIN"
  command -v sudo >/dev/null 2>&1 || fail "$BIN is not writable and sudo is not available; pass --prefix DIR"
  say "$BIN is not writable by you: using sudo to install there."
  SUDO=sudo
  $SUDO mkdir -p "$BIN"
fi

# Copy next to the target, then rename: a running old binary is never overwritten in place,
# and an interrupted copy never leaves a half-written program under the real name.
for program in $PROGRAMS; do
  file="$program-$TARGET$EXT"
  $SUDO cp "$STAGE/$file" "$BIN/.$program$EXT.new.$$"
  $SUDO chmod 0755 "$BIN/.$program$EXT.new.$$"
  $SUDO mv -f "$BIN/.$program$EXT.new.$$" "$BIN/$program$EXT"
done

"$BIN/basis-worker$EXT" --version >&2 || fail "the installed basis-worker does not run on this machine"
say "Installed into $BIN: $PROGRAMS"
case ":${PATH:-}:" in
  *":$BIN:"*) ;;
  *) say "Note: $BIN is not on your PATH. Add it: export PATH=\"$BIN:\$PATH\"" ;;
esac
say ""
say "Next: check this machine (GPU, Docker, Ollama, vLLM) and see what to run after that:"
say "  basis-worker setup --check"
