#!/usr/bin/env bash
# Starts the demo host (a systemd container), converges it with site.yml and
# checks that the login page answers through Nginx, over HTTPS.
set -euo pipefail

name=omero-web-demo
# The ports inventory/demo sets (nginx_http_port, nginx_https_port).
http_url="http://127.0.0.1:8080/"
url="https://127.0.0.1:8443/"

# A demo container from before HTTPS publishes no 8443: make it anew.
if podman container exists "$name" && ! podman port "$name" 8443/tcp >/dev/null 2>&1; then
  podman rm -f "$name" >/dev/null
fi
if ! podman container exists "$name"; then
  podman run -d --name "$name" --hostname "$name" --systemd=always --privileged \
    -p 127.0.0.1:8080:8080 -p 127.0.0.1:8443:8443 localhost/debian-systemd:bookworm /lib/systemd/systemd >/dev/null
fi
podman start "$name" >/dev/null
# Right after start, exec can fail until systemd's bus is up.
for _ in $(seq 1 30); do
  state=$(podman exec "$name" systemctl is-system-running --wait 2>/dev/null || true)
  case "$state" in running|degraded) break ;; esac
  sleep 1
done

ansible-playbook site.yml

# --insecure: the demo's certificate is self-signed (browsers warn too).
for _ in $(seq 1 20); do
  if curl -fsS --insecure --max-time 5 "${url}webclient/login/" 2>/dev/null | grep -q "OMERO.web - Login" &&
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$http_url")" = 301 ]; then
    echo
    echo "OMERO.web is ready: $url"
    echo "(self-signed certificate: the browser warns once; $http_url leads there)"
    exit 0
  fi
  sleep 1
done
echo "The login page did not answer at ${url}webclient/login/" >&2
exit 1
