#!/usr/bin/env bash
# `hht serve` runs its own nginx in front of gunicorn (README "Serving"): only the binary is
# needed, with its own configuration in the data directory. Install Debian's nginx when it is
# missing and we are allowed to (root with apt), without starting Debian's own nginx service
# (its default site would answer on port 80) and without enabling it at boot.
set -euo pipefail
# shellcheck source=scripts/apt-service-off.sh
. "$(dirname "$0")/apt-service-off.sh"
if [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's nginx (the HHT's front; its own service stays off)..."
  if ! SERVICE=nginx.service install_service_off nginx; then
    echo "Could not install nginx: 'hht serve' will serve directly, with fewer protections." >&2
    exit 0
  fi
  exit 0
fi
echo "nginx is not installed: 'hht serve' will serve directly, without its front (slow and" \
  "idle clients can then hold the server's threads), and its front tests are skipped." \
  "Install it with: sudo apt-get install nginx (then: sudo systemctl disable --now nginx)" >&2
