//! Every example of the article, one after another, on a fast clock: the
//! whole tour takes about 30 seconds instead of several minutes.
//!
//! Run it with `cargo run --example tour`. It sets
//! `CONCURRENT_FUTURES_CLOCK` to 0.1 (one article second lasts 100 ms,
//! the clock the book's outputs were recorded at) unless the variable is
//! already set (see `common/mod.rs`). A faster clock works too, but the
//! timing examples keep half an article second between events, and at 0.01
//! that is 5 ms, less than a busy machine can promise (a worker process
//! alone takes several ms to start).
//!
//! Each example is its own file, included here as a module, so the tour
//! runs exactly the code `cargo run --example <name>` runs.

// Each example declares `mod common;` so that it builds on its own; included
// here, every one of them gets its own copy of `common`, which is harmless.
#![allow(clippy::duplicate_mod)]

mod common;

#[path = "awaiting.rs"]
mod awaiting;
#[path = "one_executor.rs"]
mod one_executor;
#[path = "process_pool_1_minimal.rs"]
mod pool1;
#[path = "progress.rs"]
mod progress;
#[path = "s01_four_steps.rs"]
mod s01;
#[path = "s02_submit_threads.rs"]
mod s02;
#[path = "s03_submit_processes.rs"]
mod s03;
#[path = "s04_with.rs"]
mod s04;
#[path = "s05_1_map.rs"]
mod s05_1;
#[path = "s05_2_map_zip.rs"]
mod s05_2;
#[path = "s05_3_map_timeout.rs"]
mod s05_3;
#[path = "s05_4_chunksize.rs"]
mod s05_4;
#[path = "s07_initializer.rs"]
mod s07;
#[path = "s09_cancel.rs"]
mod s09;
#[path = "s10_callbacks.rs"]
mod s10;
#[path = "s11_1_as_completed.rs"]
mod s11_1;
#[path = "s11_2_as_completed_timeout.rs"]
mod s11_2;
#[path = "s12_1_wait.rs"]
mod s12_1;
#[path = "s12_2_wait_timeout.rs"]
mod s12_2;
#[path = "s12_3_wait_first_completed.rs"]
mod s12_3;
#[path = "stop_running_tasks.rs"]
mod stop_running_tasks;
#[path = "stop_thread_task.rs"]
mod stop_thread_task;

/// The clock the tour runs on unless `CONCURRENT_FUTURES_CLOCK` is set.
const TOUR_SCALE: f64 = 0.1;

fn main() {
    // The process pools re-run this binary as their workers: here is where
    // a worker turns aside, with every task of every example in one table.
    concurrent_futures::process::serve_if_worker(common::TASKS);
    pool1::serve_if_worker(pool1::TASKS);
    // Before any thread or worker starts: the workers inherit the scale.
    if std::env::var_os(common::CLOCK_VAR).is_none() {
        common::set_scale(TOUR_SCALE);
    }
    let clock = common::Clock::start();
    let sections: &[(&str, fn())] = &[
        ("1. The four steps of every pool", s01::main),
        ("2. Submit tasks to a pool of threads", s02::main),
        ("3. Submit tasks to a pool of processes", s03::main),
        ("4. A pool in a scope, Python's `with`", s04::main),
        ("5.1 map over one iterator", s05_1::main),
        ("5.2 map over two iterators, zipped", s05_2::main),
        ("5.3 map with a timeout", s05_3::main),
        ("5.4 chunksize on a pool of processes", s05_4::main),
        ("7. An initializer in every worker", s07::main),
        ("9. Cancel the tasks not started yet", s09::main),
        ("10. A callback when each task is done", s10::main),
        ("11.1 Results as tasks complete: as_completed", s11_1::main),
        ("11.2 as_completed with a timeout", s11_2::main),
        (
            "11.3 A progress line over as_completed (tqdm)",
            progress::main,
        ),
        ("12.1 wait until all are done", s12_1::main),
        ("12.2 wait with a timeout", s12_2::main),
        ("12.3 wait until the first is done", s12_3::main),
        (
            "One Executor: §2 and §3 through one generic function",
            one_executor::main,
        ),
        ("Awaiting futures from async code", awaiting::main),
        (
            "Stopping a running thread task: a flag it checks",
            stop_thread_task::main,
        ),
        (
            "Stopping running process tasks: a timeout, kill()",
            stop_running_tasks::main,
        ),
        ("3 again, on the book's minimal process pool", pool1::main),
    ];
    for (title, run) in sections {
        println!("== {title} ==\n");
        run();
        println!();
    }
    println!("== The whole tour ==\n");
    println!("{}", clock.wall_time());
}
