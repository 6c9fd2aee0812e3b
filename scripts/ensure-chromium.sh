#!/usr/bin/env bash
# The browser tests drive Debian's chromium (never a downloaded browser).
# Install it when it is missing and we are allowed to (root with apt).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "chromium is not installed: the browser tests will fail. Install it with: sudo apt-get install chromium" >&2
