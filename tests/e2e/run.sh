#!/usr/bin/env bash
# Runs the end-to-end tests in the real app window: an Xvfb display, a private D-Bus session with
# a freshly unlocked gnome-keyring (a real Secret Service, like a caseworker's desktop session),
# and Debian's WebKitWebDriver driving the app (TAURI_WEBVIEW_AUTOMATION=true).
# Needs TANDEM_APP_BINARY (set by ./dev.sh test).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${TANDEM_APP_BINARY:?point TANDEM_APP_BINARY at the built app}"

if [ -z "${TANDEM_E2E_IN_SESSION:-}" ]; then
  export TANDEM_E2E_IN_SESSION=1
  exec xvfb-run -a -s "-screen 0 1366x768x24" dbus-run-session -- bash "$0" "$@"
fi

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
# A keyring of our own: never the developer's, never shared between runs.
export XDG_DATA_HOME="$scratch/data" XDG_RUNTIME_DIR="$scratch/run"
mkdir -p "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
printf 'e2e-login' | gnome-keyring-daemon --unlock --components=secrets >/dev/null
export GTK_A11Y=none NO_AT_BRIDGE=1
node --test --test-concurrency=1 "$here"/*.test.mjs
