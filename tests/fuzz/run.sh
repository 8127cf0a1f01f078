#!/usr/bin/env bash
# run.sh BUILD_DIR [SECONDS]: run every libFuzzer target for SECONDS (default 60)
# on a scratch copy of its corpus. A crash is saved under tests/fuzz/crashes/;
# copy it into tests/fuzz/corpus/<target>/ with the fix so the replay test keeps it.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:?usage: tests/fuzz/run.sh BUILD_DIR [SECONDS]}
secs=${2:-60}
mkdir -p tests/fuzz/crashes
status=0
for bin in "$build"/tests/fuzz/fuzz_*; do
    [ -f "$bin" ] && [ -x "$bin" ] || continue
    name=$(basename "$bin"); target=${name#fuzz_}
    work=$(mktemp -d)
    cp -r "tests/fuzz/corpus/$target/." "$work/"
    if "$bin" -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
            -print_final_stats=1 -artifact_prefix="tests/fuzz/crashes/$target-" "$work" >"$work.log" 2>&1; then
        echo "fuzz $target: ok ($(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$work.log" \
            | grep -Eo '[0-9]+$' || echo '?') runs in ${secs}s)"
    else
        echo "fuzz $target: FAILED, see tests/fuzz/crashes/ and the log below"
        tail -40 "$work.log"
        status=1
    fi
    rm -rf "$work" "$work.log"
done
exit $status
