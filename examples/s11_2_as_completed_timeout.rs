//! Twin of the article's §11.2: `as_completed` with a timeout. Four tasks complete in time; then the iterator yields one
//! `Err(Timeout)` saying how many are unfinished, and ends. Nothing is
//! cancelled: the pool still runs the rest, and their results are read
//! after the pool's scope has waited for them.
//!
//! Run it with `cargo run --example s11_2_as_completed_timeout` (about 15 s,
//! as in the article). `CONCURRENT_FUTURES_CLOCK=0.1` scales the clock: one
//! article second then lasts 100 ms (see `common/mod.rs`).
//!
//! The article's timeout is 5 s, the very moment task 5 ends, so now and
//! then task 5 makes it in time and the split is 5 / 5 instead of 4 / 6.
//! The twin's timeout is 4.5 s, half a second from any task's end, so it
//! shows the article's 4 / 6.

use concurrent_futures::process::serve_if_worker;
use concurrent_futures::{as_completed_timeout, ProcessPoolExecutor};

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

        for future in as_completed_timeout(&futures, secs(4.5)) {
            match future {
                Ok(future) => println!("{}", future.result().unwrap()),
                Err(e) => {
                    println!("\n{} : {}", e.python_name(), e);
                    let (done, pending): (Vec<_>, Vec<_>) = futures.iter().partition(|f| f.done());
                    println!("\nCompleted Futures : {:?}", names.of(done));
                    println!("\nPending   Futures : {:?}", names.of(pending));
                }
            }
        }
    }

    println!("\nEvery future is done now.");
    let results: Vec<u64> = futures.iter().map(|f| f.result().unwrap()).collect();
    println!("Results : {results:?}\n");
    println!("{}", clock.wall_time());
}
// ANCHOR_END: main
