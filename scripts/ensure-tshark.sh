#!/usr/bin/env bash
# The capture tests open the HHT's pcapng files with Debian's tshark (never a downloaded one).
# Install it when it is missing and we are allowed to (root with apt), without apt asking
# whether non-root users may capture (they may not: wireshark-common/install-setuid false).
set -euo pipefail
if [ -x /usr/bin/tshark ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's tshark for the capture tests..."
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tshark >/dev/null
  exit 0
fi
echo "tshark is not installed: the capture tests that open files with it will be skipped." \
  "Install it with: echo 'wireshark-common wireshark-common/install-setuid boolean false'" \
  "| sudo debconf-set-selections && sudo apt-get install tshark" >&2
