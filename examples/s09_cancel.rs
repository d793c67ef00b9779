//! Twin of the article's §9: cancelling the tasks that have not started.
//! Ten tasks go to five threads; after 3.5 seconds every future that is not
//! running is asked to cancel. Only the queued ones can be: a finished
//! future is "not running" too, but `cancel()` on it answers `false`.
//!
//! Run it with `cargo run --example s09_cancel` (about 11 s, as in the
//! article). `CONCURRENT_FUTURES_CLOCK=0.1` scales the clock: one article
//! second then lasts 100 ms (see `common/mod.rs`).
//!
//! Python sets `f.name`; a Rust future has no such attribute, so each one
//! is kept in a pair with its name.
//!
//! The article sleeps 3 s, the very instant task 3 ends and task 8 starts:
//! which of the two the cancel loop sees first is a race, and at a fast
//! clock it often cancels F-8 too. Half a second later nothing starts or
//! ends (tasks end at 1, 2, 3, 4, 5, 7, 9, 11, ...), so the twin sleeps
//! 3.5 s and shows the article's outcome: F-9 and F-10 cancelled,
//! eight results, 11 s.

use concurrent_futures::{Future, ThreadPoolExecutor};

mod common;
use common::{name, slow_cube, Clock};

// ANCHOR: main
pub fn main() {
    let clock = Clock::start();
    let mut futures: Vec<(String, Future<u64>)> = Vec::new();

    {
        let thread_pool = ThreadPoolExecutor::builder()
            .max_workers(5)
            .thread_name_prefix("Thread")
            .build()
            .unwrap();
        for i in 1..=10 {
            let f = thread_pool.submit(move || slow_cube(i)).unwrap();
            futures.push((name(i), f));
        }

        println!("All 10 tasks submitted; sleeping 3.5 s before cancelling.\n");
        common::sleep(3.5);

        for (name, future) in &futures {
            if !future.running() {
                println!("Task ({name}) is not running: trying to cancel it.");
                if future.cancel() {
                    println!("Task ({name}) cancelled : {}", future.cancelled());
                }
            }
        }

        let completed: Vec<u64> = futures
            .iter()
            .filter(|(_, f)| !f.cancelled())
            .map(|(_, f)| f.result().unwrap())
            .collect();

        println!("\n{} futures completed", completed.len());
        println!("Results : {completed:?}");
        println!("\n{} futures cancelled.\n", futures.len() - completed.len());
    }
    println!("{}", clock.wall_time());
}
// ANCHOR_END: main
