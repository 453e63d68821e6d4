#!/usr/bin/env bash
# Builds a Debian systemd image for Podman from Debian's archive (no registry
# is needed): localhost/debian-systemd:SUITE. Skips the build when the image
# exists; set REBUILD=1 to force it.
set -euo pipefail

suite=${1:?usage: build-base-image.sh bookworm|trixie}
case "$suite" in
  bookworm|trixie) ;;
  *) echo "build-base-image.sh: unsupported suite '$suite' (expected bookworm or trixie)" >&2; exit 2 ;;
esac
image=localhost/debian-systemd:$suite
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

if [ "${REBUILD:-0}" != 1 ] && podman image exists "$image"; then
  echo "$image exists"
  exit 0
fi

root=$(mktemp -d "/var/tmp/debian-$suite.XXXXXX")
trap 'rm -rf "$root"' EXIT

echo "Building $image with debootstrap (about 90 s)"
debootstrap --variant=minbase \
  --include=systemd,systemd-sysv,python3,python3-venv,python3-apt,dbus,iproute2,sudo,ca-certificates \
  "$suite" "$root" "$mirror" >"$root.log" 2>&1 || { tail -20 "$root.log" >&2; exit 1; }
rm -f "$root.log"

# trixie boots "degraded" without this: containers cannot load kernel modules.
ln -sf /dev/null "$root/etc/systemd/system/systemd-modules-load.service"
# debootstrap writes only the main suite.
cat >"$root/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security_mirror $suite-security main
SOURCES
# Keep the package lists: a new host can install at once; Ansible refreshes
# them when they are older than a day.
chroot "$root" apt-get -o APT::Sandbox::User=root update -qq
rm -rf "$root/var/cache/apt/archives/"*.deb

tar -C "$root" -c . | podman import --quiet --change 'CMD ["/lib/systemd/systemd"]' - "$image" >/dev/null
echo "Built $image"
