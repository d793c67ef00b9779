//! The article's §2 and §3 through one generic function: the same ten
//! tasks on a pool of five threads, then on a pool of five processes. What
//! changes between the two runs is one word, the pool's type.
//!
//! Run it with `cargo run --example one_executor` (about 30 s: twice the
//! article's 15 s). `CONCURRENT_FUTURES_CLOCK=0.01` scales the clock (see
//! `common/mod.rs`).
//!
//! Both pools implement `Executor`, which runs a named `Task`: the thread
//! pool calls its function in a thread, the process pool sends its name to
//! a worker. Since the process pool's workers are this binary, started
//! again, `main` begins with `serve_if_worker` even though the threads do
//! not need it.

use concurrent_futures::process::serve_if_worker;
use concurrent_futures::{Executor, ProcessPoolExecutor, ThreadPoolExecutor};

mod common;
use common::{Clock, CUBE, TASKS};

// ANCHOR: generic
/// §2's loop, written once for any pool: submit ten cubes, collect the
/// results in submission order, shut the pool down.
fn ten_cubes<E: Executor>(pool: E) -> Vec<u64> {
    let mut futures = Vec::new();
    for i in 1..=10 {
        futures.push(pool.submit_task(&CUBE, i).unwrap());
    }
    let results = futures.iter().map(|f| f.result().unwrap()).collect();
    pool.shutdown();
    results
}
// ANCHOR_END: generic

// ANCHOR: main
pub fn main() {
    serve_if_worker(TASKS);

    println!("On threads:");
    let clock = Clock::start();
    let results = ten_cubes(ThreadPoolExecutor::new(5).unwrap());
    println!("Results : {results:?}\n");
    println!("{}\n", clock.wall_time());

    println!("On processes:");
    let clock = Clock::start();
    let results = ten_cubes(ProcessPoolExecutor::new(5).unwrap());
    println!("Results : {results:?}\n");
    println!("{}", clock.wall_time());
}
// ANCHOR_END: main
