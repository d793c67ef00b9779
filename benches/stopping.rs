//! How long a kill takes to free its worker: from `Future::kill` on a task
//! running in a process pool of one worker to the result of the next task
//! on that pool, which needs the fresh worker (issue 9).
//!
//! Two baselines in the same run: the round trip of a task on a warm pool
//! (what the next task would cost without the kill), and a new pool's first
//! task (starting a worker, which a kill must do too). Run with
//! `cargo bench --bench stopping`.

use std::time::{Duration, Instant};

use concurrent_futures::process::{Registered, Task};
use concurrent_futures::ProcessPoolExecutor;
use criterion::{criterion_group, Criterion, SamplingMode};

fn noop(x: u64) -> u64 {
    x
}

fn hang(_: ()) {
    std::thread::sleep(Duration::from_secs(600));
}

const NOOP: Task<u64, u64> = Task::new("noop", noop);
const HANG: Task<(), ()> = Task::new("hang", hang);
const TASKS_TABLE: &[&dyn Registered] = &[&NOOP, &HANG];

fn kill_to_next_task(c: &mut Criterion) {
    let mut g = c.benchmark_group("stopping");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(30)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    let pool = ProcessPoolExecutor::new(1).unwrap();
    pool.submit(&NOOP, 0).unwrap().result().unwrap();
    g.bench_function("round_trip_warm", |b| {
        b.iter(|| pool.submit(&NOOP, 1).unwrap().result().unwrap())
    });
    g.bench_function("first_task_of_a_new_pool", |b| {
        b.iter(|| {
            let pool = ProcessPoolExecutor::new(1).unwrap();
            pool.submit(&NOOP, 1).unwrap().result().unwrap()
        })
    });
    g.bench_function("kill_to_next_task_result", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let stuck = pool.submit(&HANG, ()).unwrap();
                while !stuck.running() {
                    std::thread::yield_now();
                }
                let start = Instant::now();
                assert!(stuck.kill());
                pool.submit(&NOOP, 2).unwrap().result().unwrap();
                total += start.elapsed();
            }
            total
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default();
    targets = kill_to_next_task
}

fn main() {
    // In a re-executed worker this never returns; in the parent it does nothing.
    concurrent_futures::process::serve_if_worker(TASKS_TABLE);
    benches();
    Criterion::default().configure_from_args().final_summary();
}
