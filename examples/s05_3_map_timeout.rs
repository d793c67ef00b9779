//! Twin of the article's §5.3: `map` with a timeout of 5 seconds, counted
//! from the `map` call. The first four results arrive in time; waiting for
//! the fifth runs out of time, so the iterator yields one `Err(Timeout)` and
//! ends, cancelling every task that has not started yet.
//!
//! Run it with `cargo run --example s05_3_map_timeout` (about 13 s, as in
//! the article). `CONCURRENT_FUTURES_CLOCK=0.01` scales the clock: one
//! article second then lasts 10 ms (see `common/mod.rs`).
//!
//! Task 5 ends at the very moment the timeout expires, so which one wins is
//! a race: now and then `("Thread_4", 125)` is printed too, or task 10
//! starts before it can be cancelled and the wall time is 15 s.

use concurrent_futures::{MapOptions, ThreadPoolExecutor};

mod common;
use common::{cube, secs, Clock};

pub fn main() {
    let clock = Clock::start();
    // ANCHOR: main
    {
        let thread_pool = ThreadPoolExecutor::builder()
            .max_workers(5)
            .thread_name_prefix("Thread")
            .build()
            .unwrap();

        let options = MapOptions {
            timeout: Some(secs(5.0)),
            ..Default::default()
        };
        let results = thread_pool.map_with(cube, 1..=10, options).unwrap();

        println!("{results:?} \n");

        for r in results {
            match r {
                Ok(r) => println!("{r:?}"),
                Err(e) => println!("\n{} : {}\n", e.python_name(), e),
            }
        }
        // Leaving the scope waits for the tasks that were already running.
    }
    // ANCHOR_END: main
    println!("{}", clock.wall_time());
}
