//! What a process-pool task costs, and what `chunksize` buys.
//!
//! A thread task costs a lock and a wake-up; a process task also costs
//! encoding the call, a write into a pipe, a read out of it in the worker,
//! and the same again for the result. `chunksize` pays those once per chunk
//! instead of once per item, so the per-task figures below should fall
//! roughly tenfold with each tenfold chunk until the work itself dominates.
//!
//! Every benchmark states its throughput in tasks, so `time / elements` is
//! the cost of one task. Run with `cargo bench --bench process`; pin the round
//! trip with `taskset -c 0 cargo bench --bench process -- round_trip`.
//!
//! The workers are this very binary run again, so `main` is written out:
//! its first line turns a re-executed copy into a worker.

use std::hint::black_box;
use std::time::Duration;

use concurrent_futures::process::{Registered, Task};
use concurrent_futures::{MapOptions, ProcessPoolExecutor};
use criterion::{criterion_group, BatchSize, Criterion, SamplingMode, Throughput};

/// Tasks per iteration of the bulk benchmarks, as in `overhead.rs`.
const TASKS: u64 = 100_000;
const WORKERS: usize = 2;
/// The size of the argument sent to a worker and back.
const BIG: usize = 16 << 20;

fn noop(x: u64) -> u64 {
    x
}

fn echo(bytes: Vec<u8>) -> Vec<u8> {
    bytes
}

const NOOP: Task<u64, u64> = Task::new("noop", noop);
const ECHO: Task<Vec<u8>, Vec<u8>> = Task::new("echo", echo);
const TASKS_TABLE: &[&dyn Registered] = &[&NOOP, &ECHO];

/// A pool whose workers are already up, so that start-up stays out of the
/// per-task figures (it has a benchmark of its own).
fn warm_pool() -> ProcessPoolExecutor {
    let pool = ProcessPoolExecutor::new(WORKERS).unwrap();
    for f in (0..WORKERS as u64 * 2).map(|i| pool.submit(&NOOP, i).unwrap()) {
        f.result().unwrap();
    }
    pool
}

fn bulk(c: &mut Criterion) {
    let mut g = c.benchmark_group("process_bulk");
    // Seconds per iteration at chunksize 1: ten iterations are plenty.
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    g.throughput(Throughput::Elements(TASKS));
    let pool = warm_pool();

    g.bench_function("submit", |b| {
        b.iter(|| {
            let fs: Vec<_> = (0..TASKS).map(|i| pool.submit(&NOOP, i).unwrap()).collect();
            fs.iter().map(|f| f.result().unwrap()).sum::<u64>()
        })
    });
    for chunksize in [1, 10, 100, 1000] {
        g.bench_function(format!("map_chunksize_{chunksize}"), |b| {
            b.iter(|| {
                let opts = MapOptions {
                    chunksize,
                    ..Default::default()
                };
                let results = pool.map_with(&NOOP, 0..TASKS, opts).unwrap();
                results.map(Result::unwrap).sum::<u64>()
            })
        });
    }
    g.finish();
}

/// Submit one task, wait for its result, repeat: two trips through a pipe
/// and two wake-ups, with nothing to share them with.
fn round_trip(c: &mut Criterion) {
    let mut g = c.benchmark_group("process_round_trip");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(3));
    let pool = warm_pool();
    g.bench_function("submit_result", |b| {
        b.iter(|| pool.submit(&NOOP, black_box(1)).unwrap().result().unwrap())
    });
    g.finish();
}

/// What a short-lived pool costs before its first task pays off: start two
/// workers, get one result back, shut down and reap them.
fn start_first_shutdown(c: &mut Criterion) {
    let mut g = c.benchmark_group("process_pool");
    g.sampling_mode(SamplingMode::Flat).sample_size(20);
    g.throughput(Throughput::Elements(1));
    g.bench_function("start_first_result_shutdown", |b| {
        b.iter(|| {
            let pool = ProcessPoolExecutor::new(WORKERS).unwrap();
            let one = pool.submit(&NOOP, 1).unwrap().result().unwrap();
            pool.shutdown();
            one
        })
    });
    g.finish();
}

/// A 16 MiB argument sent to a worker and sent back: the cost of encoding
/// and copying big data, which a thread pool would share for free.
fn big_argument(c: &mut Criterion) {
    let mut g = c.benchmark_group("process_16mib");
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    g.throughput(Throughput::Bytes(BIG as u64));
    let pool = warm_pool();
    let data = vec![7_u8; BIG];
    g.bench_function("argument_round_trip", |b| {
        b.iter_batched(
            || data.clone(),
            |bytes| pool.submit(&ECHO, bytes).unwrap().result().unwrap().len(),
            BatchSize::PerIteration,
        )
    });
    #[cfg(unix)]
    {
        // The floor: the same bytes through a raw socket pair, there and
        // back, to a thread that only echoes them (no encoding, no pool).
        use std::io::{Read, Write};
        let (mut here, mut there) = std::os::unix::net::UnixStream::pair().unwrap();
        let echo = std::thread::spawn(move || {
            let mut buf = vec![0_u8; BIG];
            while there.read_exact(&mut buf).is_ok() {
                if there.write_all(&buf).is_err() {
                    return;
                }
            }
        });
        g.bench_function("socket_pair_baseline", |b| {
            b.iter_batched(
                || data.clone(),
                |bytes| {
                    here.write_all(&bytes).unwrap();
                    let mut back = vec![0_u8; BIG];
                    here.read_exact(&mut back).unwrap();
                    back.len()
                },
                BatchSize::PerIteration,
            )
        });
        drop(here);
        echo.join().unwrap();
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = bulk, round_trip, start_first_shutdown, big_argument
}

fn main() {
    // In a re-executed worker this never returns; in the parent it does nothing.
    concurrent_futures::process::serve_if_worker(TASKS_TABLE);
    benches();
    Criterion::default().configure_from_args().final_summary();
}
