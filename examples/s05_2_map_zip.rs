//! Twin of the article's §5.2: `map` over two iterators. Python passes
//! several iterables to `map`; Rust zips them into one iterator of pairs,
//! and the task takes the pair apart.
//!
//! Run it with `cargo run --example s05_2_map_zip` (about 15 s, as in the
//! article). `CONCURRENT_FUTURES_CLOCK=0.1` scales the clock: one article
//! second then lasts 100 ms (see `common/mod.rs`).

use concurrent_futures::ThreadPoolExecutor;

mod common;
use common::{cube_sum, Clock};

// ANCHOR: main
pub fn main() {
    let clock = Clock::start();
    {
        let thread_pool = ThreadPoolExecutor::builder()
            .max_workers(5)
            .thread_name_prefix("Thread")
            .build()
            .unwrap();

        let pairs = (1..=10).zip(1..=10);
        let results = thread_pool.map(|(x1, x2)| cube_sum(x1, x2), pairs).unwrap();

        println!("{results:?}");
        let results: Vec<(String, u64)> = results.map(Result::unwrap).collect();
        println!("\nResults : {results:?}");
        println!();
    }
    println!("{}", clock.wall_time());
}
// ANCHOR_END: main
