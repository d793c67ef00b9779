//! The article's §1 in one small program: the four steps (make a pool,
//! submit, collect, shut down), each with the way it can fail.
//!
//! Run it with `cargo run --example s01_four_steps` (about 4 s).
//! `CONCURRENT_FUTURES_CLOCK=0.1` scales the clock: one article second then
//! lasts 100 ms (see `common/mod.rs`).

use concurrent_futures::ThreadPoolExecutor;

mod common;
use common::{secs, slow_cube, Clock};

// ANCHOR: main
pub fn main() {
    let clock = Clock::start();
    // 1. Make a pool. Zero workers is Python's ValueError.
    let e = ThreadPoolExecutor::new(0).unwrap_err();
    println!("ThreadPoolExecutor::new(0)  -> {}: {e}", e.python_name());
    let pool = ThreadPoolExecutor::new(2).unwrap();

    // 2. Submit: each call returns a Future at once; the tasks run meanwhile.
    let fast = pool.submit(|| slow_cube(1)).unwrap();
    let slow = pool.submit(|| slow_cube(4)).unwrap();

    // 3. Collect: wait as long as it takes, or only so long.
    println!("fast.result()               -> {:?}", fast.result());
    match slow.result_timeout(secs(1.0)) {
        Ok(v) => println!("slow.result_timeout(1 s)    -> {v}"),
        Err(e) => println!("slow.result_timeout(1 s)    -> {}: {e}", e.python_name()),
    }
    println!("slow.result()               -> {:?}", slow.result());

    // 4. Shut down: waits for the pool's threads; new work is refused.
    pool.shutdown();
    let e = pool.submit(|| slow_cube(2)).unwrap_err();
    println!("submit after shutdown()     -> {}: {e}", e.python_name());
    println!("\n{}", clock.wall_time());
}
// ANCHOR_END: main
