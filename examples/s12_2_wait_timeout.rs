//! Twin of the article's §12.2: `wait` on the first five futures with a
//! timeout. Tasks 1, 2 and 3 are done by then; `wait` returns the done ones
//! and those still running, and cancels nothing.
//!
//! Run it with `cargo run --example s12_2_wait_timeout` (about 15 s, as in
//! the article). `CONCURRENT_FUTURES_CLOCK=0.1` scales the clock: one
//! article second then lasts 100 ms (see `common/mod.rs`).
//!
//! The article's timeout is 3 s, the very moment task 3 ends: a tie, which
//! task 3 usually loses here (the timeout's clock starts when `wait` is
//! called, the tasks a few milliseconds later, once the worker processes
//! are up), showing two tasks done where the article shows three. The
//! twin's timeout is 3.5 s, half a second from any task's end, so it
//! shows the article's three.

use concurrent_futures::process::serve_if_worker;
use concurrent_futures::{wait_timeout, ProcessPoolExecutor, ReturnWhen};

mod common;
use common::{name, secs, Clock, Names, CUBE, TASKS};

// ANCHOR: main
pub fn main() {
    serve_if_worker(TASKS);
    let clock = Clock::start();
    let mut futures = Vec::new();
    let mut names = Names::new();

    {
        let process_pool = ProcessPoolExecutor::new(5).unwrap();
        for i in 1..=10 {
            let f = process_pool.submit(&CUBE, i).unwrap();
            names.insert(&f, name(i));
            futures.push(f);
        }

        println!("{} : every task is submitted.", clock.stamp());

        // Blocks until the first five are done, or for 3.5 seconds at most.
        let result = wait_timeout(&futures[..5], ReturnWhen::AllCompleted, secs(3.5));

        println!("\nCompleted Tasks : {:?}", names.of(&result.done));
        println!("\nPending   Tasks   : {:?}", names.of(&result.not_done));
        println!(
            "\n{} : {} tasks done when the 3.5 s timeout expired.",
            clock.stamp(),
            result.done.len()
        );
        let results: Vec<u64> = result.done.iter().map(|f| f.result().unwrap()).collect();
        println!("\nResults : {results:?}");
    }

    println!("\n{} : every task is done.", clock.stamp());
    let results: Vec<u64> = futures.iter().map(|f| f.result().unwrap()).collect();
    println!("\nResults : {results:?}\n");
    println!("{}", clock.wall_time());
}
// ANCHOR_END: main
