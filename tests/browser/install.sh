#!/bin/sh
# What tests/test_browser.py needs, installed once (idempotent: each part is skipped when present):
# - headless Chromium and its WebDriver from Debian (Selenium drives them); never a browser from elsewhere;
# - axe-core, the accessibility checker the tests inject into the page, from the npm registry: one pinned
#   version whose tarball must match the registry's sha512 integrity pinned here, unpacked into
#   $SITTER_AXE_DIR (default ~/.cache/sitter/axe-core-<version>). Nothing of it is served to users.
set -eu

AXE_VERSION=4.10.3
AXE_INTEGRITY="sha512-Xm7bpRXnDSX2YE2YFfBk2FnF0ep6tmG7xPh8iHee8MIcrgq762Nkce856dYtJYLkuIoYZvGfTs/PbZhideTcEg=="
AXE_DIR="${SITTER_AXE_DIR:-$HOME/.cache/sitter/axe-core-$AXE_VERSION}"

if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    SUDO=""
    if [ "$(id -u)" -ne 0 ]; then
        SUDO="sudo"
    fi
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends chromium chromium-driver
    chromium --version
    chromedriver --version
fi

if [ ! -f "$AXE_DIR/axe.min.js" ]; then
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    (cd "$work" && npm pack --silent "axe-core@$AXE_VERSION" >/dev/null)
    tarball="$work/axe-core-$AXE_VERSION.tgz"
    got="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
    if [ "$got" != "$AXE_INTEGRITY" ]; then
        echo "axe-core-$AXE_VERSION.tgz: integrity $got, expected $AXE_INTEGRITY" >&2
        exit 1
    fi
    tar -xzf "$tarball" -C "$work" package/axe.min.js package/LICENSE
    mkdir -p "$AXE_DIR"
    mv "$work/package/axe.min.js" "$work/package/LICENSE" "$AXE_DIR/"
    echo "axe-core $AXE_VERSION in $AXE_DIR"
fi
