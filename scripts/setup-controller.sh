#!/usr/bin/env bash
# Prepares a Debian controller: the packages that make, the venv and the
# test containers need, and Podman configured to run systemd containers
# (runc, since crun fails on cgroup v1 hybrid hosts; ulimits that fit the
# host's open-files hard limit). Safe to run again.
set -euo pipefail

# chromium: the browser test (tests/infra/test_browser.py); qemu: the VM
# scenario (molecule/vm, make test-vm).
packages=(podman runc debootstrap curl make git python3-venv chromium qemu-system-x86 qemu-utils openssh-client)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "Installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

conf=/etc/containers/containers.conf
want='# Written by the OMERO.web appliance (scripts/setup-controller.sh).
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]

[engine]
runtime = "runc"'
if [ ! -f "$conf" ] || [ "$(cat "$conf")" != "$want" ]; then
  if [ -f "$conf" ] && ! grep -q "OMERO.web appliance" "$conf"; then
    cp "$conf" "$conf.orig"
  fi
  mkdir -p /etc/containers
  printf '%s\n' "$want" > "$conf"
  echo "Wrote $conf"
fi
