//! Twin of the article's §5.3: `map` with a timeout, counted from the `map`
//! call. The first four results arrive in time; waiting for
//! the fifth runs out of time, so the iterator yields one `Err(Timeout)` and
//! ends, cancelling every task that has not started yet.
//!
//! Run it with `cargo run --example s05_3_map_timeout` (about 13 s, as in
//! the article). `CONCURRENT_FUTURES_CLOCK=0.1` scales the clock: one
//! article second then lasts 100 ms (see `common/mod.rs`).
//!
//! The article's timeout is 5 s, the very moment task 5 ends, so which of
//! the two wins is a race (at a fast clock, `("Thread_4", 125)` is often
//! printed too, or task 10 starts before it can be cancelled and the wall
//! time is 15 s). The twin's timeout is 4.5 s, half a second from any task's
//! end, so it shows the article's outcome: four results, then the
//! timeout, 13 s.

use concurrent_futures::{MapOptions, ThreadPoolExecutor};

mod common;
use common::{cube, secs, Clock};

// ANCHOR: main
pub fn main() {
    let clock = Clock::start();
    {
        let thread_pool = ThreadPoolExecutor::builder()
            .max_workers(5)
            .thread_name_prefix("Thread")
            .build()
            .unwrap();

        let options = MapOptions {
            timeout: Some(secs(4.5)),
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
    println!("{}", clock.wall_time());
}
// ANCHOR_END: main
