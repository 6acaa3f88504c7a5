#!/bin/sh
# Headless Chromium and its WebDriver from Debian, for tests/test_browser.py (Selenium drives them).
# Idempotent: does nothing when both are installed. Never downloads a browser from anywhere else.
set -eu
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends chromium chromium-driver
chromium --version
chromedriver --version
