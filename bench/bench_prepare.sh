#!/bin/bash
# bench_prepare.sh: records per second per core and peak RSS of `dolen prepare`.
# Part of bench/; issue 3's throughput target. Makes a synthetic spine with
# `dolen synth`, prepares it with config/examples/demo-spine.yaml at each
# thread count, RUNS times, and reports medians of CPU time (user + system:
# the machine is shared, so wall time is reported but not trusted), records
# per second per core (rows / CPU seconds), wall time and peak RSS, plus the
# SHA-256 of the outputs, which must not change between runs, thread counts
# or builds. With BASE set, that binary runs interleaved with DOLEN in the same
# session and the ratio is reported. With OUT set, a Markdown report is
# written there too.
#
# usage: bench/bench_prepare.sh            (from the repository root)
#   DOLEN=build/dolen   the binary to measure
#   BASE=               an earlier binary to compare with (optional)
#   ROWS=1000000        synthetic population size (the spine has ~1% more rows)
#   RUNS=5              runs per binary and thread count (median reported)
#   THREADS="1 2"       thread counts
#   WORK=/tmp/dolen-bench-prepare   data and outputs (kept for reuse)
#   OUT=                Markdown report path (optional)
# Needs /usr/bin/time (GNU time), sha256sum, awk.
set -euo pipefail

DOLEN=${DOLEN:-build/dolen}
BASE=${BASE:-}
ROWS=${ROWS:-1000000}
RUNS=${RUNS:-5}
THREADS=${THREADS:-1 2}
WORK=${WORK:-/tmp/dolen-bench-prepare}
OUT=${OUT:-}
SPEC=config/examples/demo-spine.yaml
SEED=3

[ -x "$DOLEN" ] || { echo "bench_prepare: no binary at $DOLEN (set DOLEN)" >&2; exit 1; }
[ -z "$BASE" ] || [ -x "$BASE" ] || { echo "bench_prepare: no binary at $BASE" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench_prepare: needs GNU time at /usr/bin/time" >&2; exit 1; }
[ -f "$SPEC" ] || { echo "bench_prepare: run from the repository root" >&2; exit 1; }

mkdir -p "$WORK"
DATA="$WORK/data-$ROWS-$SEED"
if [ ! -f "$DATA/spine.csv" ]; then
    "$DOLEN" synth -o "$DATA" --seed "$SEED" -n "$ROWS" -q
fi
KEY="$WORK/key"
if [ ! -f "$KEY" ]; then
    # A fixed, public key: benchmarks must be repeatable, and these are synthetic people.
    (umask 077; printf '%064x\n' 1 > "$KEY")
fi
INPUT="$DATA/spine.csv"

# One run: prints "user sys wall maxrss_kb rows outputs_sha".
run_once() {
    local bin=$1 threads=$2 out="$WORK/out"
    rm -rf "$out"
    local t
    t=$( { /usr/bin/time -f "%U %S %e %M" "$bin" prepare -q -s "$SPEC" -k "$KEY" -d spine \
             -o "$out" --seed 1 --threads "$threads" "$INPUT" 2>&1 1>/dev/null; } | tail -n 1)
    local rows sha
    rows=$(grep -m1 '"rows_read"' "$out/spine.manifest.json" | tr -dc '0-9')
    sha=$(cat "$out/spine.ids.csv.gz" "$out/spine.content.csv.gz" "$out/spine.slfmap.csv.gz" \
              "$out/spine.rejects.csv" | sha256sum | cut -c1-16)
    echo "$t $rows $sha"
}

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

cpu_model=$(awk -F: '/model name/ {sub(/^ +/, "", $2); print $2; exit}' /proc/cpuinfo)
cores=$(nproc)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain 2>/dev/null | grep -q . && echo " (with uncommitted changes)" || true)
# The compiler and optimisation flags of DOLEN's build, from meson's compile database.
ccdb="$(dirname "$DOLEN")/compile_commands.json"
cc="unknown"
if [ -f "$ccdb" ]; then
    cc_cmd=$(grep -m1 '"command"' "$ccdb" | sed 's/.*"command": "//')
    cc="$(${cc_cmd%% *} --version 2>/dev/null | head -n1), $(echo "$cc_cmd" | grep -o -- ' -O[0-9s]\| -g\b\| -march=[^ ]*' | tr -d '\n')"
fi
kernel=$(uname -r)
load=$(cut -d' ' -f1-3 /proc/loadavg)

bins="$DOLEN"
[ -n "$BASE" ] && bins="$BASE $DOLEN"

declare -A results
for threads in $THREADS; do
    for i in $(seq "$RUNS"); do
        for bin in $bins; do
            r=$(run_once "$bin" "$threads")
            results["$bin|$threads"]+="$r"$'\n'
            echo "run $i threads $threads $(basename "$(dirname "$bin")")/$(basename "$bin"): $r" >&2
        done
    done
done

report() {
    echo "## prepare throughput"
    echo
    echo "- machine: $cpu_model, $cores cores online; kernel $kernel; load average at start $load"
    echo "- commit: $commit$dirty; compiler: $cc"
    echo "- input: \`dolen synth --seed $SEED -n $ROWS\` spine.csv, spec $SPEC"
    echo "- command: \`/usr/bin/time -f \"%U %S %e %M\" dolen prepare -q -s $SPEC -k KEY -d spine -o OUT --seed 1 --threads T spine.csv\`"
    echo "- $RUNS runs per binary and thread count, interleaved; medians; CPU = user + system seconds"
    echo
    echo "| binary | threads | rows | CPU s (min-max) | records/s per core | wall s | peak RSS MB | output sha256 |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    for bin in $bins; do
        for threads in $THREADS; do
            local data=${results["$bin|$threads"]}
            local cpu rows wall rss sha lo hi
            cpu=$(echo -n "$data" | awk '{print $1 + $2}' | median)
            lo=$(echo -n "$data" | awk '{print $1 + $2}' | sort -g | head -n1)
            hi=$(echo -n "$data" | awk '{print $1 + $2}' | sort -g | tail -n1)
            wall=$(echo -n "$data" | awk '{print $3}' | median)
            rss=$(echo -n "$data" | awk '{print $4 / 1024}' | median)
            rows=$(echo -n "$data" | awk 'NR == 1 {print $5}')
            sha=$(echo -n "$data" | awk '{print $6}' | sort -u | tr '\n' ' ')
            printf '| %s | %s | %s | %.2f (%.2f-%.2f) | %.0f | %.2f | %.0f | %s|\n' "$bin" "$threads" \
                "$rows" "$cpu" "$lo" "$hi" "$(awk -v r="$rows" -v c="$cpu" 'BEGIN {print r / c}')" \
                "$wall" "$rss" "$sha"
        done
    done
    if [ -n "$BASE" ]; then
        echo
        for threads in $THREADS; do
            local a b
            a=$(echo -n "${results["$BASE|$threads"]}" | awk '{print $1 + $2}' | median)
            b=$(echo -n "${results["$DOLEN|$threads"]}" | awk '{print $1 + $2}' | median)
            printf -- '- %s threads: CPU time ratio base/new = %.2f\n' "$threads" \
                "$(awk -v a="$a" -v b="$b" 'BEGIN {print a / b}')"
        done
    fi
}

report
if [ -n "$OUT" ]; then
    report > "$OUT"
    echo "bench_prepare: wrote $OUT" >&2
fi
