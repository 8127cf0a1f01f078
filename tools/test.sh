#!/usr/bin/env bash
# test.sh: install what is missing, build, and run the whole test suite:
# a release build and an AddressSanitizer + UndefinedBehaviorSanitizer build
# with gcc, and the same sanitizers with clang, all under Criterion (plus the
# fuzz corpus replays), then a short libFuzzer run of every fuzz target.
# Prints "N passed, N failed" last.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh --test

passed=0 failed=0
run_suite() { # DIR LABEL
    local dir=$1 label=$2 rc=0
    echo "== $label: meson test -C $dir"
    meson test -C "$dir" --print-errorlogs --num-processes 2 >"$dir/test-output.txt" 2>&1 || rc=$?
    grep -E '^(Ok|Fail|Timeout|Unexpected Pass|Expected Fail|Skipped):' "$dir/test-output.txt" || true
    if [ $rc -ne 0 ]; then
        grep -E 'FAIL|TIMEOUT|not ok' "$dir/test-output.txt" | head -40 || true
        echo "== $label: failures above; full log in $dir/meson-logs/testlog.txt"
    fi
    # Count Criterion subtests (TAP) and plain tests from meson's JSON log.
    read -r p f < <(python3 - "$dir/meson-logs/testlog.json" <<'PY'
import json, sys
p = f = 0
for line in open(sys.argv[1]):
    t = json.loads(line)
    subs = [s for s in t.get('stdout', '').splitlines() if s.startswith(('ok ', 'not ok '))]
    if subs:
        p += sum(1 for s in subs if s.startswith('ok '))
        f += sum(1 for s in subs if s.startswith('not ok '))
        if t['result'] not in ('OK', 'EXPECTEDFAIL') and not any(s.startswith('not ok ') for s in subs):
            f += 1
    elif t['result'] in ('OK', 'EXPECTEDFAIL', 'SKIP'):
        p += 1
    else:
        f += 1
print(p, f)
PY
)
    passed=$((passed + p)); failed=$((failed + f))
    return $rc
}

status=0
echo "== release build (gcc, -O3, -Werror)"
bash tools/build.sh build --buildtype=release -Db_sanitize=none
run_suite build release || status=1

echo "== sanitizer build (gcc, ASan + UBSan)"
bash tools/build.sh build-asan --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false
run_suite build-asan asan+ubsan || status=1

echo "== clang build (ASan + UBSan) and fuzz targets (libFuzzer, ${DL_FUZZ_SECONDS:-5} s each)"
if CC=clang bash tools/build.sh build-fuzz --buildtype=debug -Dfuzz=true \
        -Db_sanitize=address,undefined -Db_lundef=false -Dtests=true; then
    # The whole suite under the second compiler too: code whose result
    # depends on the compiler (unspecified order, uninitialised reads) shows.
    run_suite build-fuzz clang+asan+ubsan || status=1
    bash tests/fuzz/run.sh build-fuzz "${DL_FUZZ_SECONDS:-5}" | tee build-fuzz/fuzz-output.txt \
        || status=1
    passed=$((passed + $(grep -c ': ok (' build-fuzz/fuzz-output.txt || true)))
    failed=$((failed + $(grep -c ': FAILED' build-fuzz/fuzz-output.txt || true)))
else
    echo "fuzz build failed"; failed=$((failed + 1)); status=1
fi

echo "tests: $passed passed, $failed failed"
exit $status
