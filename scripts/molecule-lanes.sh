#!/usr/bin/env bash
# Every container scenario, in LANES lanes at once (2). Most of a
# scenario's time is spent waiting on containers, so two lanes share two
# cores well; a third stretched every scenario on two cores (the apache
# one from 18 to 44 min). Each lane takes the next scenario nobody has taken yet,
# longest first (the default scenario, the cluster, then the smaller ones
# one after the other), so the lanes end about together.
#
# The other lanes start once the default scenario's converge has reached
# its hosts' venvs: by then the build-once caches every scenario uses (the
# zeroc-ice wheel of each Python ABI, the appliance's own wheel, the
# collections) hold what they need, so no two runs build the same file at
# once.
#
# Each line carries its scenario's name and the seconds since the start
# (bench/appliance.py --lanes-log reads the phases from them); the exit status is non-zero when a
# scenario failed; after a failure no lane starts another. Bounded: the
# other lanes wait at most LANE_WAIT seconds for the first converge.
set -uo pipefail
cd "$(dirname "$0")/.."

# Longest first; the VM scenarios are test-vm's and users' (vagrant).
queue=(default cluster apache)
for file in molecule/*/molecule.yml; do
    name=$(basename "$(dirname "$file")")
    case " ${queue[*]} vm vagrant " in *" $name "*) ;; *) queue+=("$name") ;; esac
done
wait_limit=${LANE_WAIT:-2700}
lanes=${LANES:-2}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
converged=$work/converged

# molecule test -s NAME, each line prefixed; touches $converged once a
# scenario's converge has built or found every wheel (it copies the
# appliance's own to the hosts after the zeroc-ice ones), or has converged.
scenario() {
    local name=$1 line
    molecule test -s "$name" 2>&1 | while IFS= read -r line; do
        printf '[%s +%d] %s\n' "$name" "$SECONDS" "$line"
        if [[ $line == *"TASK [omero_web : Copy the appliance's wheel]"* || $line == *converge*"Executed: Successful"* ]]; then
            touch "$converged"
        fi
    done
    return "${PIPESTATUS[0]}"
}

# Runs every scenario of the queue that no lane has taken yet (mkdir takes
# one atomically); once one has failed, in either lane, takes no more.
lane() {
    local name began
    for name in "${queue[@]}"; do
        [[ -e $work/failed ]] && return 1
        mkdir "$work/taken-$name" 2>/dev/null || continue
        began=$SECONDS
        if ! scenario "$name"; then
            echo "[lanes] $name failed after $((SECONDS - began)) s"
            touch "$work/failed"
            return 1
        fi
        echo "[lanes] $name passed in $((SECONDS - began)) s"
    done
}

started=$SECONDS
lane &
first_lane=$!

waited=0
while [[ ! -e $converged ]] && kill -0 "$first_lane" 2>/dev/null && ((waited < wait_limit)); do
    sleep 5
    waited=$((waited + 5))
done
echo "[lanes] the other $((lanes - 1)) lanes start after ${waited} s"

status=0
others=()
for ((n = 1; n < lanes; n++)); do
    lane &
    others+=($!)
done
for pid in "$first_lane" "${others[@]}"; do
    wait "$pid" || status=1
done
echo "[lanes] every scenario took $((SECONDS - started)) s in all"
exit "$status"
