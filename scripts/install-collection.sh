#!/usr/bin/env bash
# Builds the collection (scripts/build-collection.sh) and installs it, as a
# site installs it, into COLLECTIONS (an empty collections path of its own):
# the split scenario converges from it. Its dependencies (requirements.yml)
# are the controller's, in ~/.ansible/collections.
set -euo pipefail
cd "$(dirname "$0")/.."
collections=$(realpath -m "$1")
python=${PYTHON:-$(command -v python3)}

built=$(mktemp -d)
trap 'rm -rf "$built"' EXIT
PYTHON=$python scripts/build-collection.sh "$built"
rm -rf "$collections"
ANSIBLE_COLLECTIONS_PATH=$collections \
    "$(dirname "$python")/ansible-galaxy" collection install --no-deps -p "$collections" "$built"/*.tar.gz
