//! The article's first two examples at a hundredth of their scale: ten tasks,
//! task `x` sleeping `x * 10` ms, on five workers.
//!
//! Five workers take tasks 1-5 at once; each then takes the next task as it
//! frees up (worker of 1 takes 6, worker of 2 takes 7, ...), so the last one
//! ends at `5 * 10 + 10 * 10` = 150 ms, against 10 + 20 + ... + 100 = 550 ms
//! one after another. The article saw 15 s and 55 s. Sleeping costs no CPU,
//! so threads and processes should both land near 150 ms, a few milliseconds
//! apart: what a process pool adds is its start-up.
//!
//! Like the article's timed cells, each iteration creates the pool, submits,
//! collects and shuts down. Run with `cargo bench --bench article`.

use std::thread;
use std::time::Duration;

use concurrent_futures::process::{Registered, Task};
use concurrent_futures::{ProcessPoolExecutor, ThreadPoolExecutor};
use criterion::{criterion_group, Criterion, SamplingMode};

/// The article's `cube`, with milliseconds for seconds.
fn cube(x: u64) -> u64 {
    thread::sleep(Duration::from_millis(x * 10));
    x.pow(3)
}

const CUBE: Task<u64, u64> = Task::new("cube", cube);
const TASKS: &[&dyn Registered] = &[&CUBE];

fn article(c: &mut Criterion) {
    let mut g = c.benchmark_group("article");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));

    g.bench_function("threads", |b| {
        b.iter(|| {
            let pool = ThreadPoolExecutor::new(5).unwrap();
            let futures: Vec<_> = (1..=10)
                .map(|x| pool.submit(move || cube(x)).unwrap())
                .collect();
            let cubes: Vec<u64> = futures.iter().map(|f| f.result().unwrap()).collect();
            pool.shutdown();
            cubes
        })
    });
    g.bench_function("processes", |b| {
        b.iter(|| {
            let pool = ProcessPoolExecutor::new(5).unwrap();
            let futures: Vec<_> = (1..=10).map(|x| pool.submit(&CUBE, x).unwrap()).collect();
            let cubes: Vec<u64> = futures.iter().map(|f| f.result().unwrap()).collect();
            pool.shutdown();
            cubes
        })
    });
    g.bench_function("serial", |b| {
        b.iter(|| (1..=10).map(cube).collect::<Vec<u64>>())
    });
    g.finish();
}

criterion_group!(benches, article);

fn main() {
    // In a re-executed worker this never returns; in the parent it does nothing.
    concurrent_futures::process::serve_if_worker(TASKS);
    benches();
    Criterion::default().configure_from_args().final_summary();
}
