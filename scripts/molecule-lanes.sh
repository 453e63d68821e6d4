#!/usr/bin/env bash
# Every container scenario, in two lanes at once: the default scenario (the
# longest) in one, the others one after another in the other. Most of a
# scenario's time is spent waiting on containers, so two lanes share the
# controller's cores well.
#
# The second lane starts once the default scenario has converged: by then
# the build-once caches both lanes use (the zeroc-ice wheel of each Python
# ABI, the appliance's own wheel, the collections) hold what every scenario
# needs, so no two runs build the same file at once.
#
# Each line carries its scenario's name; the exit status is non-zero when a
# scenario failed. Bounded: the second lane waits at most LANE_WAIT seconds.
set -uo pipefail
cd "$(dirname "$0")/.."

first=default
# The VM scenarios are test-vm's and users' (vagrant).
others=()
for file in molecule/*/molecule.yml; do
    name=$(basename "$(dirname "$file")")
    case $name in "$first" | vm | vagrant) ;; *) others+=("$name") ;; esac
done
wait_limit=${LANE_WAIT:-2700}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
converged=$work/converged

# molecule test -s NAME, each line prefixed; touches $converged once the
# scenario has converged.
scenario() {
    local name=$1 line
    molecule test -s "$name" 2>&1 | while IFS= read -r line; do
        printf '[%s] %s\n' "$name" "$line"
        if [[ $line == *converge*"Executed: Successful"* ]]; then
            touch "$converged"
        fi
    done
    return "${PIPESTATUS[0]}"
}

started=$SECONDS
scenario "$first" &
first_lane=$!

waited=0
while [[ ! -e $converged ]] && kill -0 "$first_lane" 2>/dev/null && ((waited < wait_limit)); do
    sleep 5
    waited=$((waited + 5))
done
echo "[lanes] second lane starts after ${waited} s"

status=0
for name in "${others[@]}"; do
    lane_started=$SECONDS
    if ! scenario "$name"; then
        echo "[lanes] $name failed after $((SECONDS - lane_started)) s"
        status=1
        break
    fi
    echo "[lanes] $name passed in $((SECONDS - lane_started)) s"
done

if ! wait "$first_lane"; then
    echo "[lanes] $first failed"
    status=1
fi
echo "[lanes] every scenario took $((SECONDS - started)) s in all"
exit "$status"
