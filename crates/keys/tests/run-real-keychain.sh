#!/bin/sh
# Runs tests/secret_service.rs against a real Secret Service: a private D-Bus session with a
# throwaway gnome-keyring whose login keyring is created and unlocked with the password "test".
# Needs dbus-run-session (dbus) and gnome-keyring-daemon (gnome-keyring). Leaves the user's own
# keyring alone: the keyring lives in a temporary XDG_DATA_HOME that is removed afterwards.
set -eu

for tool in dbus-run-session gnome-keyring-daemon dbus-send; do
    command -v "$tool" >/dev/null || { echo "run-real-keychain: $tool is not installed" >&2; exit 1; }
done

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -m 700 "$scratch/data" "$scratch/runtime"

XDG_DATA_HOME="$scratch/data" XDG_RUNTIME_DIR="$scratch/runtime" \
dbus-run-session -- sh -eu -c '
    # First unlock of a keyring that does not exist yet creates "login" with this password
    # and makes it the default collection. The daemon forks and exits with the session bus.
    printf test | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    # The login keyring is locked by one test; gcr-prompter then fails for want of a display,
    # which is the point. Its complaints on stderr are expected.
    tries=0
    until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
            org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets | grep -q "boolean true"; do
        tries=$((tries + 1))
        [ "$tries" -le 50 ] || { echo "run-real-keychain: gnome-keyring did not come up" >&2; exit 1; }
        sleep 0.1
    done
    TANDEM_REAL_KEYCHAIN=1 TANDEM_THROWAWAY_KEYRING=1 cargo test -p tandem-keys --test secret_service "$@"
' run-real-keychain "$@"
