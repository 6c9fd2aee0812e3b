# Sourced by the ensure-*.sh scripts: install Debian packages whose service must not start.
#
# install_service_off PACKAGE... runs apt-get update and install with a policy-rc.d that
# answers "no" (101) when a package asks to start its service, removes that policy again,
# then disables the service named SERVICE (when set) under systemd. Returns apt's status.
install_service_off() {
  local policy=/usr/sbin/policy-rc.d made_policy=no status=0
  if [ ! -e "$policy" ]; then
    # invoke-rc.d asks this script whether the package may start its service: no (101).
    printf '#!/bin/sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    made_policy=yes
  fi
  {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  } || status=$?
  if [ "$made_policy" = yes ]; then
    rm -f "$policy"
  fi
  if [ "$status" = 0 ] && [ -n "${SERVICE:-}" ] && [ -d /run/systemd/system ]; then
    systemctl disable --quiet "$SERVICE" 2>/dev/null || true
  fi
  return "$status"
}
