#!/usr/bin/env bash
# `hht serve` runs its own nginx in front of gunicorn (README "Serving"): only the binary is
# needed, with its own configuration in the data directory. Install Debian's nginx when it is
# missing and we are allowed to (root with apt), without starting Debian's own nginx service
# (its default site would answer on port 80) and without enabling it at boot.
set -euo pipefail
if [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's nginx (the HHT's front; its own service stays off)..."
  policy=/usr/sbin/policy-rc.d
  made_policy=no
  if [ ! -e "$policy" ]; then
    # invoke-rc.d asks this script whether the package may start its service: no (101).
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    made_policy=yes
  fi
  status=0
  {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
  } || status=$?
  if [ "$made_policy" = yes ]; then
    rm -f "$policy"
  fi
  if [ "$status" != 0 ]; then
    echo "Could not install nginx: 'hht serve' will serve directly, with fewer protections." >&2
    exit 0
  fi
  if [ -d /run/systemd/system ]; then
    systemctl disable --quiet nginx.service 2>/dev/null || true
  fi
  exit 0
fi
echo "nginx is not installed: 'hht serve' will serve directly, without its front (slow and" \
  "idle clients can then hold the server's threads), and its front tests are skipped." \
  "Install it with: sudo apt-get install nginx (then: sudo systemctl disable --now nginx)" >&2
