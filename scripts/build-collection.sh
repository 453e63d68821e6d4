#!/usr/bin/env bash
# Builds the omero_web_appliance.appliance collection (galaxy.yml) into
# OUTPUT (default build/collection): the files git knows, with the
# appliance's package as a wheel in roles/omero_web/files/, so the installed
# role builds nothing from a path outside it.
set -euo pipefail
cd "$(dirname "$0")/.."
output=$(realpath -m "${1:-build/collection}")
python=${PYTHON:-python3}

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
# Tracked files and new ones not ignored, as they are in the work tree; no
# link to a folder (collections/, which makes the checkout the collection,
# or a venv linked in).
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' path; do
    [[ -e $path && ! -d $path ]] && printf '%s\0' "$path"
done | xargs -0 cp --parents -t "$stage"
# With the hash the role names a wheel it builds by
# (omero_web_appliance_build_id), in build-id beside it.
build_id=$(cd omeroweb && find pyproject.toml src -name '*.py' -o -name '*.toml' | LC_ALL=C sort | xargs sha256sum | sha256sum)
shipped=$stage/roles/omero_web/files/appliance
SOURCE_DATE_EPOCH=315532800 "$python" -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir "$shipped" ./omeroweb
echo "${build_id:0:16}" > "$shipped/build-id"
mkdir -p "$output"
"$(dirname "$python")/ansible-galaxy" collection build "$stage" --output-path "$output" --force
