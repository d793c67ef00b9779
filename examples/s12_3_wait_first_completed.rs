//! Twin of the article's §12.3: `wait` on the first five futures with
//! `ReturnWhen::FirstCompleted`: it returns as soon as one of them is done,
//! after one second, with the four others still running.
//!
//! Run it with `cargo run --example s12_3_wait_first_completed` (about
//! 15 s, as in the article). `CONCURRENT_FUTURES_CLOCK=0.1` scales the
//! clock: one article second then lasts 100 ms (see `common/mod.rs`).

use concurrent_futures::process::serve_if_worker;
use concurrent_futures::{wait, ProcessPoolExecutor, ReturnWhen};

mod common;
use common::{name, Clock, Names, CUBE, TASKS};

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

        // Blocks until one of the first five is done.
        let result = wait(&futures[..5], ReturnWhen::FirstCompleted);

        println!("\nCompleted Tasks : {:?}", names.of(&result.done));
        println!("\nPending   Tasks   : {:?}", names.of(&result.not_done));
        println!("\n{} : one of the first 5 tasks is done.", clock.stamp());
        let results: Vec<u64> = result.done.iter().map(|f| f.result().unwrap()).collect();
        println!("\nResults : {results:?}");
    }

    println!("\n{} : every task is done.", clock.stamp());
    let results: Vec<u64> = futures.iter().map(|f| f.result().unwrap()).collect();
    println!("\nResults : {results:?}\n");
    println!("{}", clock.wall_time());
}
// ANCHOR_END: main
