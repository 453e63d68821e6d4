#!/usr/bin/env bash
# Starts the demo host (a systemd container), converges it with site.yml and
# checks that the login page answers through Nginx.
set -euo pipefail

name=omero-web-demo
port=${DEMO_PORT:-8080}
url="http://127.0.0.1:$port/"

if ! podman container exists "$name"; then
  podman run -d --name "$name" --hostname "$name" --systemd=always --privileged \
    -p "127.0.0.1:$port:80" localhost/debian-systemd:bookworm /lib/systemd/systemd >/dev/null
fi
podman start "$name" >/dev/null
# Right after start, exec can fail until systemd's bus is up.
for _ in $(seq 1 30); do
  state=$(podman exec "$name" systemctl is-system-running --wait 2>/dev/null || true)
  case "$state" in running|degraded) break ;; esac
  sleep 1
done

ansible-playbook site.yml

for _ in $(seq 1 20); do
  if curl -fsS --max-time 5 "${url}webclient/login/" 2>/dev/null | grep -q "OMERO.web - Login"; then
    echo
    echo "OMERO.web is ready: $url"
    exit 0
  fi
  sleep 1
done
echo "The login page did not answer at ${url}webclient/login/" >&2
exit 1
