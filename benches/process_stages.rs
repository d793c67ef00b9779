//! What each stage of the book's process pool costs, measured beside the
//! crate's `ProcessPoolExecutor` in the same run.
//!
//! The stages are the files `examples/process_pool_*.rs`, included here as
//! modules (their `main` goes unused). Per-task groups state their
//! throughput in tasks, so `time / elements` is the cost of one task:
//! - `stages_bulk`: submit `TASKS` no-op tasks, then collect every result
//!   (what several calls in flight and batching are for);
//! - `stages_round_trip`: submit one no-op task and wait for it, repeat
//!   (what the hand-off is for);
//! - `stages_start`: a pool of four, one task, shut down (lazy start pays
//!   for one process, eager start for four).
//!
//! Run with `cargo bench --bench process_stages`; one group with
//! `cargo bench --bench process_stages -- round_trip`. The workers are this
//! very binary, so `main` lets each stage, and the crate, serve first.

// Each stage file declares `mod common;` for its own `main`, so the
// examples' common module is compiled once per stage here: harmless.
#![allow(clippy::duplicate_mod)]

use std::hint::black_box;
use std::time::Duration;

use concurrent_futures::process::{Registered, Task};
use concurrent_futures::{Future, ProcessPoolExecutor};
use criterion::measurement::WallTime;
use criterion::{criterion_group, BenchmarkGroup, Criterion, SamplingMode, Throughput};

#[allow(dead_code)]
#[path = "../examples/process_pool_1_minimal.rs"]
mod stage1;
#[allow(dead_code)]
#[path = "../examples/process_pool_2_hand_off.rs"]
mod stage2;
#[allow(dead_code)]
#[path = "../examples/process_pool_3_in_flight.rs"]
mod stage3;
#[allow(dead_code)]
#[path = "../examples/process_pool_4_batched.rs"]
mod stage4;
#[allow(dead_code)]
#[path = "../examples/process_pool_5_death.rs"]
mod stage5;

/// Tasks per iteration of the bulk benchmark.
const TASKS: u64 = 10_000;
/// Workers of the per-task benchmarks, as in `process.rs`.
const WORKERS: usize = 2;

fn noop(x: u64) -> u64 {
    x
}

/// The stages' task table, and the crate's.
const STAGE_TASKS: stage1::Tasks = &[("noop", noop)];
const NOOP: Task<u64, u64> = Task::new("noop", noop);
const CRATE_TASKS: &[&dyn Registered] = &[&NOOP];

/// What the benchmarks need of a pool: every stage and the crate's.
trait Pool {
    fn start(workers: usize) -> Self;
    fn noop(&self, x: u64) -> Future<u64>;
}

macro_rules! stage_pools {
    ($($stage:ident),*) => {$(
        impl Pool for $stage::ProcessPool {
            fn start(workers: usize) -> Self {
                $stage::ProcessPool::new(workers).unwrap()
            }
            fn noop(&self, x: u64) -> Future<u64> {
                self.submit("noop", x)
            }
        }
    )*};
}
stage_pools!(stage1, stage2, stage3, stage4, stage5);

impl Pool for ProcessPoolExecutor {
    fn start(workers: usize) -> Self {
        ProcessPoolExecutor::new(workers).unwrap()
    }
    fn noop(&self, x: u64) -> Future<u64> {
        self.submit(&NOOP, x).unwrap()
    }
}

/// A pool whose workers are all up, so that start-up stays out of the
/// per-task figures.
fn warm<P: Pool>() -> P {
    let pool = P::start(WORKERS);
    let fs: Vec<_> = (0..WORKERS as u64 * 4).map(|i| pool.noop(i)).collect();
    for f in fs {
        f.result().unwrap();
    }
    pool
}

fn bulk<P: Pool>(g: &mut BenchmarkGroup<WallTime>, name: &str) {
    let pool = warm::<P>();
    g.bench_function(name, |b| {
        b.iter(|| {
            let fs: Vec<_> = (0..TASKS).map(|i| pool.noop(i)).collect();
            fs.iter().map(|f| f.result().unwrap()).sum::<u64>()
        })
    });
}

fn round_trip<P: Pool>(g: &mut BenchmarkGroup<WallTime>, name: &str) {
    let pool = warm::<P>();
    g.bench_function(name, |b| {
        b.iter(|| pool.noop(black_box(1)).result().unwrap())
    });
}

fn start<P: Pool>(g: &mut BenchmarkGroup<WallTime>, name: &str) {
    g.bench_function(name, |b| {
        b.iter(|| {
            let pool = P::start(4);
            let one = pool.noop(1).result().unwrap();
            drop(pool);
            one
        })
    });
}

/// Runs `$bench` for every stage, then for the crate's pool.
macro_rules! each_pool {
    ($g:expr, $bench:ident) => {
        $bench::<stage1::ProcessPool>($g, "1_minimal");
        $bench::<stage2::ProcessPool>($g, "2_hand_off");
        $bench::<stage3::ProcessPool>($g, "3_in_flight");
        $bench::<stage4::ProcessPool>($g, "4_batched");
        $bench::<stage5::ProcessPool>($g, "5_death");
        $bench::<ProcessPoolExecutor>($g, "crate");
    };
}

fn stages_bulk(c: &mut Criterion) {
    let mut g = c.benchmark_group("stages_bulk");
    // A tenth of a second or more per iteration: ten iterations are plenty.
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    g.throughput(Throughput::Elements(TASKS));
    each_pool!(&mut g, bulk);
    g.finish();
}

fn stages_round_trip(c: &mut Criterion) {
    let mut g = c.benchmark_group("stages_round_trip");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Elements(1));
    each_pool!(&mut g, round_trip);
    g.finish();
}

fn stages_start(c: &mut Criterion) {
    let mut g = c.benchmark_group("stages_start");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    each_pool!(&mut g, start);
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = stages_bulk, stages_round_trip, stages_start
}

fn main() {
    // In a re-executed worker each of these serves and never returns; in
    // the parent they return at once.
    stage1::serve_if_worker(STAGE_TASKS);
    stage2::serve_if_worker(STAGE_TASKS);
    stage3::serve_if_worker(STAGE_TASKS);
    stage4::serve_if_worker(STAGE_TASKS);
    stage5::serve_if_worker(STAGE_TASKS);
    concurrent_futures::process::serve_if_worker(CRATE_TASKS);
    benches();
    Criterion::default().configure_from_args().final_summary();
}
