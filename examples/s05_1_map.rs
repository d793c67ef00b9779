//! Twin of the article's §5.1: `map` over one iterator. `map` submits all
//! ten tasks before it returns; the iterator it gives back then waits for
//! each result in input order.
//!
//! Run it with `cargo run --example s05_1_map` (about 15 s, as in the
//! article). `CONCURRENT_FUTURES_CLOCK=0.1` scales the clock: one article
//! second then lasts 100 ms (see `common/mod.rs`).
//!
//! Python prints the generator `map` returns; the twin prints the `Map`
//! iterator's `Debug` form in its place.

use concurrent_futures::ThreadPoolExecutor;

mod common;
use common::{cube, Clock};

// ANCHOR: main
pub fn main() {
    let clock = Clock::start();
    {
        let thread_pool = ThreadPoolExecutor::builder()
            .max_workers(5)
            .thread_name_prefix("Thread")
            .build()
            .unwrap();

        let results = thread_pool.map(cube, 1..=10).unwrap();

        println!("{results:?}");
        let results: Vec<(String, u64)> = results.map(Result::unwrap).collect();
        println!("\nResults : {results:?}");
        println!();
    }
    println!("{}", clock.wall_time());
}
// ANCHOR_END: main
