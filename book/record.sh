#!/usr/bin/env bash
# Records the output the book shows for each example, by running it.
#
#   book/record.sh              run every example below, write book/src/output/NAME.txt
#   book/record.sh NAME...      re-record only these examples
#   book/record.sh --check      run each again; fail if its output no longer has the
#                               shape of the recording (CI runs this)
#
# Every example runs on the README's clock, CONCURRENT_FUTURES_CLOCK=0.1 (see
# examples/common/mod.rs): one article second lasts 0.1 real seconds, so what
# is recorded is what a reader who runs the README's command gets. Only stdout
# is recorded, as the article's notebook cells show it.
#
# "Same shape" means: after replacing every decimal number (times, speeds) and
# every process id and process worker's number with `#` and squeezing runs of
# spaces, the set of distinct lines is the same. So timings, pids and which
# worker ran a task may change, and so may the order of
# lines where the order is a genuine race that the book points out beside the
# output (§7's initializer lines, §10's last callback), and the number of the
# thread that ran a task (threads take tasks from one queue, as in CPython, so
# which of five new threads takes the first task is a race, as §2 says); but
# which tasks finished, which were cancelled, and every count may not. The timing examples schedule their cancel points and timeouts half an
# article second away from any task's start or end, so at this scale they
# show the same outcome on every run a machine that is not overloaded
# makes. A mismatch is retried before it fails,
# because the machine running CI may be busy.
set -euo pipefail
cd "$(dirname "$0")/.."

SCALE=0.1
ATTEMPTS=3
OUT=book/src/output
EXAMPLES=(
    s01_four_steps
    s02_submit_threads
    s03_submit_processes
    s04_with
    s05_1_map
    s05_2_map_zip
    s05_3_map_timeout
    s05_4_chunksize
    s07_initializer
    s09_cancel
    s10_callbacks
    s11_1_as_completed
    s11_2_as_completed_timeout
    s12_1_wait
    s12_2_wait_timeout
    s12_3_wait_first_completed
    failures
    wrong_callback_under_lock
    wrong_cancel_running
    wrong_stdout_channel
    process_pool_1_minimal
    process_pool_5_death
    one_executor
    awaiting
    stop_thread_task
    stop_running_tasks
)

check=false
if [ "${1:-}" = "--check" ]; then
    check=true
    shift
fi

# Every recording a chapter shows must be re-checked, so must be listed above.
unlisted=()
for shown in $(grep -ohE 'output/[A-Za-z0-9_]+\.txt' book/src/*.md | sort -u); do
    name=$(basename "$shown" .txt)
    case " ${EXAMPLES[*]} " in *" $name "*) ;; *) unlisted+=("$name") ;; esac
done
if [ ${#unlisted[@]} -gt 0 ]; then
    echo "record.sh: the book shows output of examples not in EXAMPLES: ${unlisted[*]}" >&2
    exit 1
fi

if [ $# -gt 0 ]; then EXAMPLES=("$@"); fi

missing=()
present=()
for name in "${EXAMPLES[@]}"; do
    if [ -f "examples/$name.rs" ]; then present+=("$name"); else missing+=("$name"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "record.sh: no examples/NAME.rs for: ${missing[*]}" >&2
    if $check; then exit 1; fi
fi
if [ ${#present[@]} -eq 0 ]; then exit 0; fi

build_args=()
for name in "${present[@]}"; do build_args+=(--example "$name"); done
cargo build --quiet "${build_args[@]}"
target_dir=$(cargo metadata --format-version 1 --no-deps |
    perl -ne 'print $1 if /"target_directory":"((?:[^"\\]|\\.)*)"/')
bin_dir="$target_dir/debug/examples"

# The shape of an output file, as described at the top.
shape() {
    perl -pe 's/[0-9]+\.[0-9]+/#/g; s/\b(pid|process|worker) [0-9]+/$1 #/g;
        s/\b(Thread_|ThreadPoolExecutor-[0-9]+_)[0-9]+/$1#/g; s/ +/ /g' "$1" |
        sort -u
}

# Runs one example on the book's clock; its stdout goes to $2. A failing or
# hanging example is an error either way.
run() {
    local name=$1 out=$2 err
    err=$(mktemp)
    if ! CONCURRENT_FUTURES_CLOCK=$SCALE timeout 300 "$bin_dir/$name" >"$out" 2>"$err"; then
        echo "record.sh: $name failed; its stderr:" >&2
        cat "$err" >&2
        rm -f "$err"
        return 1
    fi
    rm -f "$err"
}

mkdir -p "$OUT"
status=0
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
for name in "${present[@]}"; do
    recorded="$OUT/$name.txt"
    if ! $check; then
        run "$name" "$tmp"
        cp "$tmp" "$recorded"
        echo "recorded $recorded ($(wc -l <"$recorded") lines)"
        continue
    fi
    if [ ! -f "$recorded" ]; then
        echo "record.sh --check: $recorded is missing; run book/record.sh $name" >&2
        status=1
        continue
    fi
    ok=false
    for attempt in $(seq "$ATTEMPTS"); do
        run "$name" "$tmp" || break
        if diff <(shape "$recorded") <(shape "$tmp") >/dev/null; then
            ok=true
            break
        fi
        echo "record.sh --check: $name: shape differs (attempt $attempt of $ATTEMPTS)" >&2
    done
    if $ok; then
        echo "ok $name"
    else
        echo "record.sh --check: $name no longer prints what the book shows:" >&2
        diff -u <(shape "$recorded") <(shape "$tmp") >&2 || true
        echo "(re-record with book/record.sh $name if the change is intended)" >&2
        status=1
    fi
done
exit $status
