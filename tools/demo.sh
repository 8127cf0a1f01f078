#!/usr/bin/env bash
# demo.sh: install what is missing, build dolen, and run the pipeline on
# built-in demo data: synthetic Welsh carers data (dolen synth), a linkage
# key (keygen), spec check, and the custodians' prepare. Later stages (link,
# extract, report) join as they are built. Work goes to demo-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/deps.sh
bash tools/build.sh build --buildtype=release -Db_sanitize=none
dolen=build/dolen
out=demo-out
rm -rf "$out"
mkdir -p "$out"
export SOURCE_DATE_EPOCH=1767225600   # fixed timestamps in manifests: byte-identical reruns

step() { printf '\n== %s\n' "$*"; }

step "dolen keygen: the custodians' shared linkage key"
$dolen keygen -o "$out/linkage.key"

step "dolen check: the spec both custodians use"
$dolen check -q config/examples/demo.yaml && echo "config/examples/demo.yaml: valid"
$dolen check config/examples/demo.yaml | tail -n 1

if $dolen help synth >/dev/null 2>&1; then
    step "dolen synth: 2,000 synthetic Welsh people and their records in four datasets"
    $dolen synth -o "$out/raw" --seed 1 -n 2000
fi

if $dolen help prepare >/dev/null 2>&1 && [ -d "$out/raw" ]; then
    step "dolen prepare: each custodian pseudonymises its dataset (same key, same spec hash)"
    for name in spine gp la_carers carers_allowance; do
        spec=config/examples/demo-$name.yaml
        [ -f "$spec" ] || spec=config/examples/demo.yaml
        $dolen prepare -s "$spec" -k "$out/linkage.key" -d "$name" -o "$out/prepared" \
            --seed 1 "$out/raw/$name.csv"
    done
    printf '\nfirst row of the GP ids file (what the linkage unit sees):\n'
    (gzip -dc "$out/prepared/gp.ids.csv.gz" || true) | head -2 | cut -c1-160 | sed 's/^/  /'
fi

if $dolen help link >/dev/null 2>&1 && [ -d "$out/prepared" ]; then
    step "dolen link: the linkage unit links the four datasets from their encodings only"
    $dolen link -s config/examples/demo.yaml -o "$out/linked" "$out"/prepared/*.ids.csv.gz
    printf '\nstrongest links (dataset, SLF, dataset, SLF, weight, probability, pattern):\n'
    (gzip -dc "$out/linked/links.csv.gz" || true) | head -4 | sed 's/^/  /'
fi

if $dolen help evaluate >/dev/null 2>&1 && [ -d "$out/linked" ]; then
    step "dolen evaluate: quality against the synthetic ground truth"
    maps=()
    for f in "$out"/prepared/*.slfmap.csv.gz; do maps+=(--map "$f"); done
    $dolen evaluate --truth "$out/raw/truth.csv" "${maps[@]}" \
        --links "$out/linked/links.csv.gz" -o "$out/evaluation.json"
fi

if $dolen help extract >/dev/null 2>&1 && [ -d "$out/linked" ]; then
    step "dolen extract: the data bank's anonymised extracts for one research project"
    $dolen keygen -q -o "$out/project.key"
    # address and middle_names are clear identifiers the spine's custodian kept: left
    # out, and searched for in every cell; dates of birth published to the month.
    $dolen extract -c "$out/linked/clusters.csv.gz" -k "$out/project.key" -o "$out/extract" \
        --identifying address --identifying middle_names --coarsen week_of_birth=month \
        "$out"/prepared/*.content.csv.gz
    printf '\nfirst rows of the GP extract (what the researcher sees):\n'
    (gzip -dc "$out/extract/gp.extract.csv.gz" || true) | head -3 | sed 's/^/  /'
fi

step "summary: files in $out"
find "$out" -type f | sort | while read -r f; do
    printf '  %-48s %10s bytes\n' "$f" "$(stat -c %s "$f")"
done

if $dolen help report >/dev/null 2>&1 && [ -d "$out/linked" ]; then
    step "dolen report: the linkage quality report (one HTML page; its numbers in JSON)"
    maps=()
    for f in "$out"/prepared/*.slfmap.csv.gz; do maps+=(--map "$f"); done
    # Written last, so that its path is the last line: open it in a browser.
    report=$($dolen report -o "$out/report.html" --truth "$out/raw/truth.csv" "${maps[@]}" \
        "$out/linked")
    for c in chromium chromium-browser google-chrome; do
        command -v "$c" >/dev/null || continue
        profile=$(mktemp -d)
        "$c" --headless --no-sandbox --disable-gpu --no-first-run \
            --disable-background-networking --disable-component-update --disable-sync \
            --screenshot="$PWD/$out/report.png" --window-size=1200,3000 \
            --user-data-dir="$profile" "file://$PWD/$report" >/dev/null 2>&1 &&
            echo "screenshot: $out/report.png"
        rm -rf "$profile"
        break
    done
    echo "report: $(realpath "$report")"
fi
