//! Twin of the article's §4: the pool as Python's `with` block. In Rust a
//! scope does it: the pool is dropped at the closing brace, and dropping it
//! shuts it down, waiting for every task submitted.
//!
//! Run it with `cargo run --example s04_with` (about 15 s, as in the
//! article). `CONCURRENT_FUTURES_CLOCK=0.1` scales the clock: one article
//! second then lasts 100 ms (see `common/mod.rs`).

use concurrent_futures::ThreadPoolExecutor;

mod common;
use common::{cube, Clock};

// ANCHOR: main
pub fn main() {
    let clock = Clock::start();
    let mut futures = Vec::new();

    {
        let thread_pool = ThreadPoolExecutor::builder()
            .max_workers(5)
            .thread_name_prefix("Thread")
            .build()
            .unwrap();
        for i in 1..=10 {
            futures.push(thread_pool.submit(move || cube(i)).unwrap());
        }
    } // `thread_pool` is dropped here: shutdown() runs and waits, like leaving `with`.

    let results: Vec<(String, u64)> = futures.iter().map(|f| f.result().unwrap()).collect();
    println!("Results : {results:?}\n");
    println!("{}", clock.wall_time());
}
// ANCHOR_END: main
