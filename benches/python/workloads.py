"""CPython's side of the benchmarks in `benches/*.rs`: the same workloads with
`concurrent.futures`, timed with `time.perf_counter`.

Run one group, or all of them, with any CPython 3:

    python3 benches/python/workloads.py threads      # overhead.rs
    python3 benches/python/workloads.py one_at_a_time
    python3 benches/python/workloads.py process      # process.rs
    python3 benches/python/workloads.py process_round_trip
    python3 benches/python/workloads.py article      # article.rs
    python3 benches/python/workloads.py all

Each result is one line, `key seconds`, where `seconds` is the median over
several runs divided by the number of tasks in a run: the cost of one task
(or of one round trip, one pool, one run of the article's workload, as the
key says). `compare.sh` reads these lines and puts them beside criterion's.

The sizes follow the Rust benchmarks. Where CPython is slow enough that the
full size would take minutes (the process pool without chunks), a run holds
fewer tasks; the per-task figure does not depend on it. Set BENCH_QUICK=1 for
a smoke test.
"""

import multiprocessing
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

QUICK = os.environ.get("BENCH_QUICK") == "1"
WORKERS = 2
TASKS = 2_000 if QUICK else 100_000
PROCESS_TASKS = 1_000 if QUICK else 20_000
ROUND_TRIPS = 500 if QUICK else 10_000
RUNS = 2 if QUICK else 5


def noop(x):
    return x


def echo(data):
    return data


def sleepy(x):
    time.sleep(x * 0.010)
    return x**3


def median_per(run, per, runs=RUNS):
    """Median of `runs` timed calls of `run` (after one untimed warm-up), divided by `per`."""
    run()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) / per


def report(key, seconds):
    print(f"{key} {seconds:.9e}", flush=True)


def threads():
    with ThreadPoolExecutor(WORKERS) as ex:

        def submit_collect():
            fs = [ex.submit(noop, i) for i in range(TASKS)]
            return sum(f.result() for f in fs)

        report("threads.submit_collect", median_per(submit_collect, TASKS))
        report("threads.map", median_per(lambda: sum(ex.map(noop, range(TASKS))), TASKS))


def one_at_a_time():
    """Submit, wait, repeat. `compare.sh` runs it once more under `taskset -c 0`."""
    key = "threads.one_at_a_time"
    if len(os.sched_getaffinity(0)) == 1:
        key += "_pinned"
    with ThreadPoolExecutor(WORKERS) as ex:

        def trips():
            for i in range(ROUND_TRIPS):
                ex.submit(noop, i).result()

        report(key, median_per(trips, ROUND_TRIPS))


def process():
    ctx = multiprocessing.get_context()
    print(f"# process pools use the {ctx.get_start_method()!r} start method", file=sys.stderr)
    with ProcessPoolExecutor(WORKERS) as ex:
        ex.submit(noop, 0).result()  # start the workers outside the clock

        def submit_collect():
            fs = [ex.submit(noop, i) for i in range(PROCESS_TASKS)]
            return sum(f.result() for f in fs)

        report("process.submit", median_per(submit_collect, PROCESS_TASKS, runs=3))
        for chunksize in (1, 10, 100, 1000):
            n = PROCESS_TASKS if chunksize == 1 else TASKS
            run = lambda: sum(ex.map(noop, range(n), chunksize=chunksize))  # noqa: E731
            report(f"process.map_chunksize_{chunksize}", median_per(run, n, runs=3))

        data = bytes(16 << 20)
        report("process.arg_16mib", median_per(lambda: ex.submit(echo, data).result(), 1))

    for method in ("fork", "forkserver", "spawn"):
        if method not in multiprocessing.get_all_start_methods():
            continue
        mp = multiprocessing.get_context(method)

        def start_first_shutdown():
            with ProcessPoolExecutor(WORKERS, mp_context=mp) as ex:
                ex.submit(noop, 1).result()

        report(f"process.start_first_shutdown_{method}", median_per(start_first_shutdown, 1, runs=10))


def process_round_trip():
    """Submit, wait, repeat. `compare.sh` runs it once more under `taskset -c 0`."""
    key = "process.round_trip"
    if len(os.sched_getaffinity(0)) == 1:
        key += "_pinned"
    trips = ROUND_TRIPS // 5
    with ProcessPoolExecutor(WORKERS) as ex:
        ex.submit(noop, 0).result()

        def round_trips():
            for i in range(trips):
                ex.submit(noop, i).result()

        report(key, median_per(round_trips, trips, runs=3))


def article():
    def threads():
        with ThreadPoolExecutor(5) as ex:
            return [f.result() for f in [ex.submit(sleepy, x) for x in range(1, 11)]]

    def processes():
        with ProcessPoolExecutor(5) as ex:
            return [f.result() for f in [ex.submit(sleepy, x) for x in range(1, 11)]]

    def serial():
        return [sleepy(x) for x in range(1, 11)]

    report("article.threads", median_per(threads, 1, runs=3))
    report("article.processes", median_per(processes, 1, runs=3))
    report("article.serial", median_per(serial, 1, runs=3))


GROUPS = {
    "threads": threads,
    "one_at_a_time": one_at_a_time,
    "process": process,
    "process_round_trip": process_round_trip,
    "article": article,
}

if __name__ == "__main__":
    wanted = sys.argv[1:] or ["all"]
    print(f"# CPython {sys.version.split()[0]}", file=sys.stderr)
    for name in GROUPS if wanted == ["all"] else wanted:
        GROUPS[name]()
