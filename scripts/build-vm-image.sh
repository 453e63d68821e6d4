#!/usr/bin/env bash
# Builds a Debian VM disk for QEMU from Debian's archive (no cloud image to
# download): an ext4 root file system with the cloud kernel, SSH and
# systemd-networkd, booted with QEMU's direct kernel boot. What does not
# belong to the appliance and is slow under emulation is done here, in a
# chroot at native speed: the controller's CA certificates, python3-venv.
# Output in $VM_CACHE/SUITE/: disk.qcow2 (the base that each run overlays),
# vmlinuz, initrd.img. Root logs in with the key $VM_CACHE/id_ed25519.
# Skips the build when the disk exists; REBUILD=1 forces it.
set -euo pipefail

suite=${1:?usage: build-vm-image.sh bookworm|trixie}
case "$suite" in
  bookworm|trixie) ;;
  *) echo "build-vm-image.sh: unsupported suite '$suite' (expected bookworm or trixie)" >&2; exit 2 ;;
esac
cache=${VM_CACHE:-$HOME/.cache/omero-web-appliance/vm}
out=$cache/$suite
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

if [ "${REBUILD:-0}" != 1 ] && [ -f "$out/disk.qcow2" ]; then
  echo "$out/disk.qcow2 exists"
  exit 0
fi
mkdir -p "$out"
# One key for every VM; builds of both suites run side by side.
(
  flock 9
  [ -f "$cache/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C omero-web-appliance-vm -f "$cache/id_ed25519"
) 9>"$cache/.key.lock"

root=$(mktemp -d "/var/tmp/vm-$suite.XXXXXX")
trap 'rm -rf "$root" "$root.raw"' EXIT

echo "Building $out/disk.qcow2 with debootstrap (about 3 min)"
debootstrap --variant=minbase \
  --include=systemd,systemd-sysv,udev,linux-image-cloud-amd64,initramfs-tools,openssh-server,python3,python3-venv,python3-apt,dbus,iproute2,sudo,ca-certificates,kmod \
  "$suite" "$root" "$mirror" >"$root.log" 2>&1 || { tail -20 "$root.log" >&2; exit 1; }
rm -f "$root.log"

cat >"$root/etc/apt/sources.list" <<SOURCES
deb $mirror $suite main
deb $mirror $suite-updates main
deb $security_mirror $suite-security main
SOURCES
echo "/dev/vda / ext4 defaults,errors=remount-ro 0 1" >"$root/etc/fstab"
echo "omero-web-vm" >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 omero-web-vm\n' >"$root/etc/hosts"
# QEMU's user network: DHCP on eth0 (net.ifnames=0), its DNS at 10.0.2.3.
mkdir -p "$root/etc/systemd/network"
printf '[Match]\nName=eth0\n\n[Network]\nDHCP=ipv4\n' >"$root/etc/systemd/network/20-eth0.network"
ln -sf /lib/systemd/system/systemd-networkd.service "$root/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
echo "nameserver 10.0.2.3" >"$root/etc/resolv.conf"
install -d -m 0700 "$root/root/.ssh"
install -m 0600 "$cache/id_ed25519.pub" "$root/root/.ssh/authorized_keys"
# The TLS-intercepting proxy's CA, if the controller has one.
cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/" 2>/dev/null || true
chroot "$root" update-ca-certificates >/dev/null
chroot "$root" apt-get -o APT::Sandbox::User=root update -qq
rm -rf "$root/var/cache/apt/archives/"*.deb

cp -L "$root/vmlinuz" "$out/vmlinuz"
cp -L "$root/initrd.img" "$out/initrd.img"
mkfs.ext4 -q -F -L root -d "$root" "$root.raw" 6G
qemu-img convert -O qcow2 "$root.raw" "$out/disk.qcow2"
echo "Built $out/disk.qcow2"
