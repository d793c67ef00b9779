//! Companion to the article's §5.4, which has no code of its own: what
//! `chunksize` buys on a process pool. Many tiny tasks are mapped three
//! times, with chunks of 1, 10 and 100 calls; each chunk travels to a worker
//! as one message and its results come back as one, so bigger chunks pay
//! the cost of a round trip fewer times. (A thread pool ignores `chunksize`:
//! its threads share memory, nothing travels.)
//!
//! Run it with `cargo run --example s05_4_chunksize` (10 000 tasks, a few
//! seconds at most). With `CONCURRENT_FUTURES_CLOCK` below 1 it maps fewer
//! tasks (1 000 at 0.1 or less), so the tour stays quick (see
//! `common/mod.rs`). The times are real seconds: nothing here sleeps.

use std::time::Instant;

use concurrent_futures::process::serve_if_worker;
use concurrent_futures::{MapOptions, ProcessPoolExecutor};

mod common;
use common::{TASKS, TINY_CUBE};

// ANCHOR: main
pub fn main() {
    serve_if_worker(TASKS);
    let start = Instant::now();
    let n = (10_000.0 * common::scale()).clamp(1_000.0, 10_000.0) as u64;
    let process_pool = ProcessPoolExecutor::new(5).unwrap();
    // Start the workers first, so that no run pays for starting them.
    let warm_up = process_pool.map(&TINY_CUBE, 0..5).unwrap();
    warm_up.for_each(|r| assert!(r.is_ok()));

    let expected: Vec<u64> = (0..n).map(|x| x.pow(3)).collect();
    for chunksize in [1, 10, 100] {
        let options = MapOptions {
            chunksize,
            ..Default::default()
        };
        let started = Instant::now();
        let results = process_pool.map_with(&TINY_CUBE, 0..n, options).unwrap();
        let results: Vec<u64> = results.map(Result::unwrap).collect();
        let took = started.elapsed().as_secs_f64();

        assert_eq!(results, expected, "results come back in input order");
        println!(
            "chunksize {chunksize:>3} : {n} tasks in {took:.3} s, {:>6.1} µs per task",
            took * 1e6 / n as f64
        );
    }
    process_pool.shutdown();
    println!("\nWall time: {:.3} s", start.elapsed().as_secs_f64());
}
// ANCHOR_END: main
