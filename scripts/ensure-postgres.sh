#!/usr/bin/env bash
# The fleet office's tests and `make fleet` run a throwaway PostgreSQL cluster (initdb into a
# temporary directory, as the `postgres` user when run as root): only the server's binaries
# are needed. Install Debian's PostgreSQL (15 or newer) when it is missing and we are allowed
# to (root with apt), without starting or enabling Debian's own cluster service.
set -euo pipefail
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
    # no cluster made at install: the tests make their own throwaway ones
    mkdir -p /etc/postgresql-common
    if ! grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf; then
      echo 'create_main_cluster = false' >> /etc/postgresql-common/createcluster.conf
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  } || status=$?
  if [ "$made_policy" = yes ]; then
    rm -f "$policy"
  fi
  if [ "$status" != 0 ]; then
    echo "Could not install PostgreSQL: the fleet office's tests cannot run." >&2
    exit 1
  fi
  if [ -d /run/systemd/system ]; then
    systemctl disable --quiet postgresql.service 2>/dev/null || true
  fi
  have_server && exit 0
  echo "PostgreSQL was installed but no server 15 or newer was found." >&2
  exit 1
fi
echo "PostgreSQL 15 or newer is not installed: the fleet office's tests need it." \
  "Install it with: sudo apt-get install postgresql (then: sudo systemctl disable --now" \
  "postgresql)" >&2
exit 1
