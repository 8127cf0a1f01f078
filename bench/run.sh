#!/usr/bin/env bash
# bench/run.sh: the benchmark suite in one command. Runs the pipeline
# (synth -> prepare -> link -> evaluate) at chosen scales and on FEBRL
# dataset3, times every stage with /usr/bin/time -v, runs the kernel
# microbenchmarks, and writes bench/results/<date>-pipeline.md and .json.
# See bench/README.md.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: bash bench/run.sh [options]
Run the dolen pipeline benchmark and write bench/results/<date>-pipeline.{md,json}.
  --scales LIST   people for dolen synth, comma-separated (default 1e4,1e5,1e6;
                  1e7 on request: about 2.3e7 records, tens of GB of scratch)
  --runs N        runs per scale; medians are reported (default 3)
  --febrl         also run prepare -> link -> evaluate on FEBRL dataset3
  --threads N     worker threads for synth, prepare and link (default: all cores)
  --no-micro      skip the kernel microbenchmarks
  --build DIR     build folder (default build; built as release if needed)
  --work DIR      scratch folder (default: a new one under $TMPDIR, removed after)
  --keep          keep the scratch folder
  --name NAME     results file name part (default pipeline)
  -h, --help      this help
examples:
  bash bench/run.sh --scales 1e4 --runs 1 --febrl
  bash bench/run.sh --scales 1e4,1e5,1e6,1e7 --runs 3 --febrl --threads 2
EOF
}

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scales=1e4,1e5,1e6 runs=3 febrl=0 threads=$(nproc) micro=1 build=build work="" keep=0
name=pipeline
cmdline="bash bench/run.sh $*"
while [ $# -gt 0 ]; do
    case $1 in
    --scales) scales=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --febrl) febrl=1; shift ;;
    --threads) threads=$2; shift 2 ;;
    --no-micro) micro=0; shift ;;
    --build) build=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --name) name=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench/run.sh: unknown option '$1'" >&2; usage >&2; exit 1 ;;
    esac
done
case $runs in '' | *[!0-9]* | 0) echo "bench/run.sh: --runs needs a whole number >= 1" >&2; exit 1 ;; esac
case $threads in '' | *[!0-9]* | 0) echo "bench/run.sh: --threads needs a whole number >= 1" >&2; exit 1 ;; esac
[ -x /usr/bin/time ] || { echo "bench/run.sh: needs GNU time (/usr/bin/time; Debian: apt-get install time)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "bench/run.sh: needs python3 for the summary" >&2; exit 1; }

note() { printf 'bench: %s\n' "$*" >&2; }

# ---- build -----------------------------------------------------------------
if [ ! -x "$build/dolen" ] || [ "$(meson introspect "$build" --buildoptions 2>/dev/null |
    python3 -c 'import json,sys; print({o["name"]: o["value"] for o in json.load(sys.stdin)}.get("buildtype", ""))')" != release ]; then
    note "building release into $build"
    bash tools/build.sh "$build" --buildtype=release -Db_sanitize=none
else
    ninja -C "$build" >/dev/null
fi
dolen=$root/$build/dolen
[ "${build#/}" != "$build" ] && dolen=$build/dolen

has() { "$dolen" help "$1" >/dev/null 2>&1; }
notes=()
for stage in synth prepare link evaluate; do
    has "$stage" || notes+=("dolen $stage is not built yet: the $stage stage and those after it are skipped")
done

# ---- scratch ---------------------------------------------------------------
if [ -z "$work" ]; then
    work=$(mktemp -d "${TMPDIR:-/tmp}/dolen-bench.XXXXXX")
    [ "$keep" = 1 ] || trap 'rm -rf "$work"' EXIT
else
    mkdir -p "$work"
fi
times=$work/times.tsv
load_start=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
: >"$times"
export SOURCE_DATE_EPOCH=1767225600 # fixed manifest timestamps: same bytes each run
"$dolen" keygen -o "$work/linkage.key" >/dev/null 2>&1 || [ -f "$work/linkage.key" ]

# timed SET SCALE RUN STAGE RECORDS -- CMD...: run CMD under /usr/bin/time -v
# and append one line to times.tsv: wall, user, sys seconds and max RSS (kB).
timed() {
    local set=$1 scale=$2 run=$3 stage=$4 records=$5
    shift 6
    local tf=$work/time.out
    if ! /usr/bin/time -v -o "$tf" "$@" >"$work/stage.out" 2>"$work/stage.err"; then
        note "$stage failed at $set/$scale run $run: $*"
        cat "$work/stage.err" >&2
        return 1
    fi
    python3 - "$tf" "$set" "$scale" "$run" "$stage" "$records" >>"$times" <<'EOF'
import sys
tf, st, scale, run, stage, records = sys.argv[1:]
v = {}
for line in open(tf):
    k, _, val = line.strip().rpartition(": ")
    v[k] = val
def wall(s):
    t = 0.0
    for part in s.split(":"):
        t = t * 60 + float(part)
    return t
print("\t".join([st, scale, run, stage, records,
                 "%.3f" % wall(v["Elapsed (wall clock) time (h:mm:ss or m:ss)"]),
                 v["User time (seconds)"], v["System time (seconds)"],
                 v["Maximum resident set size (kbytes)"]]))
EOF
}

count_rows() { # data rows of a CSV (plain or gzip), header excluded
    if [[ $1 == *.gz ]]; then gzip -dc "$1" | tail -n +2 | wc -l; else tail -n +2 "$1" | wc -l; fi
}

datasets=(spine gp la_carers carers_allowance)
spec_of() { local s=config/examples/demo-$1.yaml; [ -f "$s" ] || s=config/examples/demo.yaml; echo "$s"; }

# pipeline SET SCALE RUN RAWDIR OUT SPEC TRUTH-ARGS DATASET=FILE...
pipeline_rest() {
    local set=$1 scale=$2 run=$3 out=$4 spec=$5 truth=$6
    shift 6
    local ids=() maps=() n=0
    has prepare || return 0
    for df in "$@"; do
        local ds=${df%%=*} file=${df#*=} dspec=$spec
        [ "$set" = synth ] && dspec=$(spec_of "$ds")
        local rows
        rows=$(count_rows "$file")
        n=$((n + rows))
        local popt=()
        [ "$set" = synth ] && popt=(--today 2024-03-31)
        timed "$set" "$scale" "$run" "prepare:$ds" "$rows" -- "$dolen" prepare -q -s "$dspec" \
            -k "$work/linkage.key" -d "$ds" -o "$out/prep" --seed 1 --threads "$threads" \
            "${popt[@]}" "$file" || return 1
        ids+=("$out/prep/$ds.ids.csv.gz")
        maps+=(--map "$out/prep/$ds.slfmap.csv.gz")
    done
    has link || return 0
    rm -rf "$out/linked"
    timed "$set" "$scale" "$run" link "$n" -- "$dolen" link -q -s "$spec" -o "$out/linked" \
        --threads "$threads" "${ids[@]}" || return 1
    python3 - "$out/linked/link-report.json" "$set" "$scale" "$run" >>"$work/pairs.tsv" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
print("\t".join(sys.argv[2:5] + [str(r.get("pairs_scored", 0)), r.get("link_type", "")]))
EOF
    has evaluate || return 0
    local cross=()
    grep -q '"link_type": "link"' "$out/linked/link-report.json" && cross=(--cross-only)
    local tr=(--truth "$truth")
    [ "$truth" = febrl ] && tr=(--truth-from-ids febrl)
    timed "$set" "$scale" "$run" evaluate "$n" -- "$dolen" evaluate "${tr[@]}" "${maps[@]}" \
        --links "$out/linked/links.csv.gz" --review "$out/linked/review.csv.gz" \
        --clusters "$out/linked/clusters.csv.gz" "${cross[@]}" \
        -o "$out/eval-$run.json" || return 1
    cp "$out/eval-$run.json" "$work/eval-$set-$scale-$run.json"
}

: >"$work/pairs.tsv"
# ---- synthetic scales ------------------------------------------------------
IFS=, read -r -a scale_list <<<"$scales"
for sc in "${scale_list[@]}"; do
    people=$(python3 -c "import sys; v=float(sys.argv[1]); assert v>=1 and v==int(v); print(int(v))" "$sc" 2>/dev/null) ||
        { echo "bench/run.sh: bad scale '$sc' (expected a number of people, e.g. 1e5)" >&2; exit 1; }
    for run in $(seq 1 "$runs"); do
        note "scale $sc ($people people), run $run of $runs"
        out=$work/s$people
        rm -rf "$out"
        mkdir -p "$out"
        has synth || break
        timed synth "$people" "$run" synth 0 -- "$dolen" synth -q -o "$out/raw" --seed 1 \
            -n "$people" --threads "$threads" || exit 1
        # synth's records are those it wrote: the truth file's rows.
        written=$(count_rows "$out/raw/truth.csv")
        sed -i '$ s/^\(\([^\t]*\t\)\{4\}\)[^\t]*/\1'"$written"'/' "$times"
        args=()
        for ds in "${datasets[@]}"; do args+=("$ds=$out/raw/$ds.csv"); done
        pipeline_rest synth "$people" "$run" "$out" config/examples/demo.yaml \
            "$out/raw/truth.csv" "${args[@]}" || exit 1
        [ "$keep" = 1 ] || rm -rf "$out/raw" "$out/prep"
    done
done

# ---- FEBRL -----------------------------------------------------------------
if [ "$febrl" = 1 ]; then
    for run in $(seq 1 "$runs"); do
        note "FEBRL dataset3, run $run of $runs"
        out=$work/febrl3
        rm -rf "$out"
        mkdir -p "$out"
        pipeline_rest febrl dataset3 "$run" "$out" config/examples/febrl.yaml febrl \
            "febrl3=tests/data/febrl/dataset3.csv" || exit 1
    done
fi

# ---- microbenchmarks -------------------------------------------------------
micro_out=$work/micro.txt
: >"$micro_out"
if [ "$micro" = 1 ]; then
    for b in "bench_token 5" "bench_csv_parse --size-mb 50 --runs 3" "bench_bloom" "bench_compare"; do
        exe=${b%% *}
        if [ -x "$build/bench/$exe" ]; then
            note "microbenchmark $b"
            # shellcheck disable=SC2086
            { printf '### %s\n\n```\n$ %s/bench/%s\n' "$exe" "$build" "$b"
              "$build/bench/"$b 2>&1 || echo "(exit status $?)"
              printf '```\n\n'; } >>"$micro_out"
        else
            printf '### %s\n\nnot built in %s: skipped\n\n' "$exe" "$build" >>"$micro_out"
        fi
    done
fi

# ---- results ---------------------------------------------------------------
mkdir -p bench/results
date=$(date +%F)
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null | head -n 1)" ] && commit="$commit (with uncommitted changes)"
cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
mem=$(free -g | awk '/^Mem:/ {print $2}')
load_end=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
printf '%s\n' "${notes[@]+"${notes[@]}"}" >"$work/notes.txt"
python3 - "$work" "bench/results/$date-$name" "$date" "$commit" "${cpu:-unknown}" "$(nproc)" \
    "$mem" "$cmdline" "$runs" "$threads" "$($dolen --version)" "$load_start" "$load_end" <<'EOF'
import json, os, statistics, sys
(work, base, date, commit, cpu, cores, mem, cmd, runs, threads, version, load_start,
 load_end) = sys.argv[1:]
rows = [l.rstrip("\n").split("\t") for l in open(os.path.join(work, "times.tsv")) if l.strip()]
pairs = {}
for l in open(os.path.join(work, "pairs.tsv")):
    if l.strip():
        s, sc, run, p, lt = l.rstrip("\n").split("\t")
        pairs.setdefault((s, sc), []).append(int(p))
notes = [l.strip() for l in open(os.path.join(work, "notes.txt")) if l.strip()]

def med(xs):
    return statistics.median(xs) if xs else None

# Group by (set, scale); prepare of each dataset is summed per run into one
# "prepare" stage (records summed, wall summed, RSS the largest).
groups = {}
for s, sc, run, stage, rec, wall, user, sys_, rss in rows:
    key = (s, sc)
    st = "prepare" if stage.startswith("prepare:") else stage
    g = groups.setdefault(key, {}).setdefault(st, {})
    r = g.setdefault(int(run), {"records": 0, "wall": 0.0, "user": 0.0, "sys": 0.0, "rss": 0})
    r["records"] += int(rec)
    r["wall"] += float(wall)
    r["user"] += float(user)
    r["sys"] += float(sys_)
    r["rss"] = max(r["rss"], int(rss))

def quality(s, sc):
    out = []
    for f in sorted(os.listdir(work)):
        if f.startswith("eval-%s-%s-" % (s, sc)):
            out.append(json.load(open(os.path.join(work, f))))
    return out

order = ["synth", "prepare", "link", "evaluate"]
result = {"date": date, "command": cmd, "commit": commit, "tool": version,
          "machine": {"cpu": cpu, "cores": int(cores),
                      "memory_gib": int(mem) if mem.isdigit() else mem,
                      "load_average_start": load_start, "load_average_end": load_end},
          "runs": int(runs), "threads": int(threads), "notes": notes, "sets": []}
for (s, sc), stages in groups.items():
    entry = {"set": s, "scale": sc, "stages": []}
    for st in order:
        if st not in stages:
            continue
        rs = list(stages[st].values())
        wall = med([r["wall"] for r in rs])
        recs = rs[0]["records"]
        d = {"stage": st, "runs": len(rs), "records": recs,
             "wall_s": wall, "wall_min_s": min(r["wall"] for r in rs),
             "wall_max_s": max(r["wall"] for r in rs),
             "user_s": med([r["user"] for r in rs]), "sys_s": med([r["sys"] for r in rs]),
             "peak_rss_mb": med([r["rss"] for r in rs]) / 1024.0,
             "records_per_s": recs / wall if wall else None}
        if st == "link" and (s, sc) in pairs:
            d["pairs_scored"] = pairs[(s, sc)][0]
            d["pairs_per_s"] = pairs[(s, sc)][0] / wall if wall else None
        entry["stages"].append(d)
    q = quality(s, sc)
    if q:
        e = q[-1]
        entry["quality"] = {
            "records": e["records"], "persons": e["persons"], "true_pairs": e["true_pairs"],
            "links": e["links"], "clusters": e["clusters"],
            "same_in_every_run": all(json.dumps(x["links"], sort_keys=True) ==
                                     json.dumps(e["links"], sort_keys=True) for x in q)}
    result["sets"].append(entry)

json.dump(result, open(base + ".json", "w"), indent=2)

def f(v, fmt):
    return "n/a" if v is None else fmt % v

md = []
md.append("# Pipeline benchmark (bench/run.sh)\n")
md.append("- date: %s" % date)
md.append("- machine: %s, %s cores online, %s GiB memory; load average (1, 5, 15 min) "
          "%s at the start, %s at the end: a load above the core count means other work "
          "shared the machine, and wall times suffer" % (cpu, cores, mem, load_start, load_end))
md.append("- dolen: %s; commit %s" % (version, commit))
md.append("- command: `%s`" % cmd)
md.append("- runs per set: %s (medians; wall min-max shown); threads: %s" % (runs, threads))
md.append("- stages timed with `/usr/bin/time -v`; prepare is the sum over the datasets, "
          "its RSS the largest; records/s = records in / wall; pairs/s = link's "
          "pairs_scored / link wall")
for n in notes:
    md.append("- note: %s" % n)
md.append("")
md.append("## Throughput and memory\n")
md.append("| set | scale | stage | records | wall s (min-max) | user s | sys s | records/s | pairs scored | pairs/s | peak RSS MB |")
md.append("|---|---|---|---|---|---|---|---|---|---|---|")
for e in result["sets"]:
    for d in e["stages"]:
        md.append("| %s | %s | %s | %d | %.2f (%.2f-%.2f) | %.2f | %.2f | %s | %s | %s | %.1f |" % (
            e["set"], e["scale"], d["stage"], d["records"], d["wall_s"], d["wall_min_s"],
            d["wall_max_s"], d["user_s"], d["sys_s"], f(d["records_per_s"], "%.0f"),
            f(d.get("pairs_scored"), "%d"), f(d.get("pairs_per_s"), "%.0f"), d["peak_rss_mb"]))
md.append("")
md.append("## Linkage quality (dolen evaluate)\n")
md.append("Pairwise: links against true pairs; clusters: pairs within a cluster. "
          "B-cubed over records. FN in review: true pairs scored but below the match "
          "threshold; unscored: missed by blocking or below review.\n")
md.append("| set | scale | records | true pairs | links P | links R | links F1 | FN in review | FN unscored | clusters P | clusters R | clusters F1 | B-cubed P | B-cubed R | B-cubed F1 |")
md.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for e in result["sets"]:
    q = e.get("quality")
    if not q:
        continue
    l, c = q["links"], q["clusters"]
    md.append("| %s | %s | %d | %d | %s | %s | %s | %d | %d | %s | %s | %s | %s | %s | %s |" % (
        e["set"], e["scale"], q["records"], q["true_pairs"],
        f(l["precision"], "%.4f"), f(l["recall"], "%.4f"), f(l["f1"], "%.4f"),
        l["fn_in_review"], l["fn_unscored"],
        f(c["precision"], "%.4f"), f(c["recall"], "%.4f"), f(c["f1"], "%.4f"),
        f(c["bcubed"]["precision"], "%.4f"), f(c["bcubed"]["recall"], "%.4f"),
        f(c["bcubed"]["f1"], "%.4f")))
micro = open(os.path.join(work, "micro.txt")).read()
if micro.strip():
    md.append("\n## Microbenchmarks (kernels)\n")
    md.append(micro.rstrip())
open(base + ".md", "w").write("\n".join(md) + "\n")
print(base + ".md")
EOF

# Point bench/README.md at these results (between its "latest" markers).
python3 - bench/README.md "$date-$name" <<'EOF'
import re, sys
path, base = sys.argv[1:]
text = open(path).read()
new = ("<!-- latest -->\nLatest results: [results/%s.md](results/%s.md) "
       "([JSON](results/%s.json)).\n<!-- /latest -->" % (base, base, base))
text2 = re.sub(r"<!-- latest -->.*?<!-- /latest -->", new, text, flags=re.S)
if text2 != text:
    open(path, "w").write(text2)
EOF
note "wrote bench/results/$date-$name.md and .json"
