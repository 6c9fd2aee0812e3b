#!/usr/bin/env bash
# The fleet office's tests and `make fleet` run a throwaway PostgreSQL cluster (initdb into a
# temporary directory, as the `postgres` user when run as root): only the server's binaries
# are needed. Install Debian's PostgreSQL (15 or newer) when it is missing and we are allowed
# to (root with apt), without starting or enabling Debian's own cluster service.
set -euo pipefail
# shellcheck source=scripts/apt-service-off.sh
. "$(dirname "$0")/apt-service-off.sh"
have_server() {
  for dir in /usr/lib/postgresql/*/bin; do
    [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] || continue
    version=$(basename "$(dirname "$dir")")
    [ "${version%%.*}" -ge 15 ] 2>/dev/null && return 0
  done
  return 1
}
if have_server; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's PostgreSQL for the fleet office (its own service stays off)..."
  # no cluster made at install: the tests make their own throwaway ones
  mkdir -p /etc/postgresql-common
  if ! grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf; then
    echo 'create_main_cluster = false' >> /etc/postgresql-common/createcluster.conf
  fi
  if ! SERVICE=postgresql.service install_service_off postgresql; then
    echo "Could not install PostgreSQL: the fleet office's tests cannot run." >&2
    exit 1
  fi
  have_server && exit 0
  echo "PostgreSQL was installed but no server 15 or newer was found." >&2
  exit 1
fi
echo "PostgreSQL 15 or newer is not installed: the fleet office's tests need it." \
  "Install it with: sudo apt-get install postgresql (then: sudo systemctl disable --now" \
  "postgresql)" >&2
exit 1
