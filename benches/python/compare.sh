#!/bin/sh
# Runs the Rust benchmarks (criterion) and the same workloads in CPython, then
# prints one table of per-task costs and ratios.
#
#   benches/python/compare.sh               # everything: about 10 minutes
#   benches/python/compare.sh --threads     # the thread pool only
#   benches/python/compare.sh --table       # reprint the table from the last run
#
# Environment: CARGO_TARGET_DIR (criterion keeps its results under it),
# PYTHON (the interpreter; default: the newest CPython found), BENCH_QUICK=1
# (a smoke test of the Python side).
#
# Medians throughout. The one-at-a-time figures are measured twice, across
# both CPUs and pinned to one with `taskset -c 0`, because a wake-up that
# crosses CPUs costs far more than the task itself.
set -eu

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
# Criterion writes under $CARGO_TARGET_DIR/criterion when cargo runs it.
export CARGO_TARGET_DIR="$TARGET"
CRIT="$TARGET/criterion"
PYOUT="$TARGET/cpython-bench.txt"
PIN=""
if command -v taskset >/dev/null 2>&1; then PIN="taskset -c 0"; fi

run_rust=1 run_python=1 threads_only=0
for arg in "$@"; do
    case "$arg" in
        --threads) threads_only=1 ;;
        --table) run_rust=0 run_python=0 ;;
        *) echo "usage: $0 [--threads | --table]" >&2; exit 2 ;;
    esac
done

# ---- Rust ----
have_process=1
if [ "$run_rust" = 1 ]; then
    # Pinned first: criterion writes a run under `new` as well as under the
    # baseline it is saved as, so the unpinned run must come last.
    if [ -n "$PIN" ]; then $PIN cargo bench --bench overhead -- one_at_a_time --save-baseline pinned; fi
    cargo bench --bench overhead
    if [ "$threads_only" = 0 ]; then
        if cargo bench --bench process --no-run >/dev/null 2>&1; then
            if [ -n "$PIN" ]; then $PIN cargo bench --bench process -- process_round_trip --save-baseline pinned; fi
            cargo bench --bench process
            cargo bench --bench article
        else
            have_process=0
            echo "compare.sh: the process benchmarks do not build; skipping them" >&2
        fi
    fi
fi

# ---- CPython ----
find_python() {
    if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return; fi
    for v in 3.14 3.13 3.12 3.11; do
        for p in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/$v*/bin/python3; do
            [ -x "$p" ] && { echo "$p"; return; }
        done
        command -v "python$v" 2>/dev/null && return
    done
    command -v python3 2>/dev/null || true
}
PY=$(find_python)
if [ "$run_python" = 1 ]; then
    if [ -z "$PY" ]; then
        echo "compare.sh: python3 not found: no CPython column" >&2
        : >"$PYOUT"
    else
        W="$ROOT/benches/python/workloads.py"
        groups="threads"
        [ "$threads_only" = 0 ] && groups="threads process article"
        # shellcheck disable=SC2086 # $groups and $PIN are word lists
        {
            "$PY" "$W" $groups one_at_a_time
            if [ -n "$PIN" ]; then $PIN "$PY" "$W" one_at_a_time; fi
            if [ "$threads_only" = 0 ]; then
                "$PY" "$W" process_round_trip
                if [ -n "$PIN" ]; then $PIN "$PY" "$W" process_round_trip; fi
            fi
            "$PY" -c 'import sys; print("python.version", sys.version.split()[0])'
        } >"$PYOUT"
    fi
fi
[ -f "$PYOUT" ] || : >"$PYOUT"

# ---- The table ----
# One `key seconds` line per Rust benchmark: criterion's median time per
# iteration divided by the tasks in an iteration.
rust_figures() {
    [ -d "$CRIT" ] || return 0
    for est in "$CRIT"/*/*/new/estimates.json "$CRIT"/*/*/pinned/estimates.json; do
        [ -f "$est" ] || continue
        dir=$(dirname "$est")
        run=$(basename "$dir")
        id=$(dirname "$dir")
        id="$(basename "$(dirname "$id")")/$(basename "$id")"
        median=$(sed -n 's/.*"median":{"confidence_interval":{[^}]*},"point_estimate":\([0-9.eE+-]*\).*/\1/p' "$est")
        elements=$(sed -n 's/.*"Elements":\([0-9]*\).*/\1/p' "$dir/benchmark.json")
        [ -n "$median" ] || continue
        awk -v k="$id@$run" -v m="$median" -v n="${elements:-1}" 'BEGIN { printf "%s %.9e\n", k, m / n / 1e9 }'
    done
}

{ rust_figures; sed 's/^/cpython:/' "$PYOUT"; } | awk -v have_process="$have_process" '
function fmt(s) {
    if (s == "") return "-"
    if (s < 1e-6) return sprintf("%.0f ns", s * 1e9)
    if (s < 1e-3) return sprintf("%.2f us", s * 1e6)
    if (s < 1) return sprintf("%.2f ms", s * 1e3)
    return sprintf("%.2f s", s)
}
function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "-" : sprintf("%.2fx", a / b) }
{ v[$1] = $2 }
END {
    py = ("cpython:python.version" in v) ? "CPython " v["cpython:python.version"] : "CPython (not run)"
    print "Thread pool, 2 workers, no-op tasks: cost per task (median)"
    print ""
    printf "| workload | concurrent-futures | std minimal pool | std spawn per task | std park/unpark floor | %s | ours / minimal pool | %s / ours |\n", py, py
    print "|---|---|---|---|---|---|---|---|"
    n = split("submit_collect@new:submit then collect 100k:threads.submit_collect|map@new:map 100k:threads.map|one_at_a_time@new:one at a time:threads.one_at_a_time|one_at_a_time@pinned:one at a time, pinned (taskset -c 0):threads.one_at_a_time_pinned", rows, "|")
    for (i = 1; i <= n; i++) {
        split(rows[i], f, ":"); split(f[1], g, "@")
        ours = v[g[1] "/concurrent_futures@" g[2]]; min = v[g[1] "/std_minimal_pool@" g[2]]
        spawn = v[g[1] "/std_spawn_per_task@" g[2]]; floor = v[g[1] "/std_park_unpark_floor@" g[2]]
        cpy = v["cpython:" f[3]]
        printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", f[2], fmt(ours), fmt(min), fmt(spawn), fmt(floor), fmt(cpy), ratio(ours, min), ratio(cpy, ours)
    }
    if (have_process == 0) { print ""; print "(process benchmarks not built: skipped)"; exit }
    print ""
    print "Process pool, 2 workers, no-op tasks: cost per task (median)"
    print ""
    printf "| workload | concurrent-futures | %s | %s / ours | target |\n", py, py
    print "|---|---|---|---|---|"
    n = split("process_bulk/submit@new;submit then collect;process.submit;<= 2 us, >= 10x|process_bulk/map_chunksize_1@new;map, chunksize 1;process.map_chunksize_1;<= 2 us, >= 10x|process_bulk/map_chunksize_10@new;map, chunksize 10;process.map_chunksize_10;|process_bulk/map_chunksize_100@new;map, chunksize 100;process.map_chunksize_100;<= 1 us|process_bulk/map_chunksize_1000@new;map, chunksize 1000;process.map_chunksize_1000;|process_round_trip/submit_result@new;one round trip;process.round_trip;|process_round_trip/submit_result@pinned;one round trip, pinned;process.round_trip_pinned;<= 8 us|process_pool/start_first_result_shutdown@new;start + first result + shutdown (CPython: fork);process.start_first_shutdown_fork;<= 3 ms|;  CPython with forkserver;process.start_first_shutdown_forkserver;|;  CPython with spawn;process.start_first_shutdown_spawn;|process_16mib/argument_round_trip@new;16 MiB argument there and back;process.arg_16mib;<= 2x socket pair|process_16mib/socket_pair_baseline@new;  the same bytes through a raw socket pair;;", rows, "|")
    for (i = 1; i <= n; i++) {
        split(rows[i], f, ";")
        ours = (f[1] == "") ? "" : v[f[1]]; cpy = v["cpython:" f[3]]
        printf "| %s | %s | %s | %s | %s |\n", f[2], fmt(ours), fmt(cpy), ratio(cpy, ours), f[4]
    }
    print ""
    printf "16 MiB there and back, ours / raw socket pair: %s\n", ratio(v["process_16mib/argument_round_trip@new"], v["process_16mib/socket_pair_baseline@new"])
    print ""
    print "The article at 1/100 scale: ten tasks sleeping x*10 ms on five workers, one run"
    print ""
    printf "| run | concurrent-futures | %s | expected |\n", py
    print "|---|---|---|---|"
    n = split("threads:150 ms|processes:150 ms|serial:550 ms", rows, "|")
    for (i = 1; i <= n; i++) {
        split(rows[i], f, ":")
        printf "| %s | %s | %s | %s |\n", f[1], fmt(v["article/" f[1] "@new"]), fmt(v["cpython:article." f[1]]), f[2]
    }
}'
