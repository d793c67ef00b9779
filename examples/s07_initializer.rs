//! Twin of the article's §7: an initializer that each worker thread runs
//! once, before its first task. Python passes `initargs`; in Rust the
//! initializer is a closure and its arguments are what it captures.
//!
//! Run it with `cargo run --example s07_initializer` (about 15 s, as in the
//! article). `CONCURRENT_FUTURES_CLOCK=0.1` scales the clock: one article
//! second then lasts 100 ms (see `common/mod.rs`).
//!
//! Five threads start, so the initializer prints five lines. They run at
//! the same time, so their order can vary.

use concurrent_futures::ThreadPoolExecutor;

mod common;
use common::{cube, thread_name, Clock};

// ANCHOR: initializer
fn initializer(x: &str) {
    println!(
        "initializer({x}) runs before any task on : {}",
        thread_name()
    );
}
// ANCHOR_END: initializer

// ANCHOR: main
pub fn main() {
    let clock = Clock::start();
    {
        let arg = "test_arg";
        let thread_pool = ThreadPoolExecutor::builder()
            .max_workers(5)
            .thread_name_prefix("Thread")
            .initializer(move || initializer(arg))
            .build()
            .unwrap();

        let result = thread_pool.map(cube, 1..=10).unwrap();

        let result: Vec<(String, u64)> = result.map(Result::unwrap).collect();
        println!("\nResults : {result:?}\n");
    }
    println!("{}", clock.wall_time());
}
// ANCHOR_END: main
