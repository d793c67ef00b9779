//! Python's `concurrent.futures`, rebuilt in plain Rust.
//!
//! Thread pools, process pools, [`Future`]s with cancel and callbacks, `map`
//! with a timeout and chunks, [`wait`] and [`as_completed`]: the same names and
//! the same behaviour as CPython's module, built on std's `Mutex`, `Condvar`
//! and threads, with no dependencies and no unsafe code (`forbid(unsafe_code)`).
//!
//! # Hello, world
//!
//! ```
//! use concurrent_futures::ThreadPoolExecutor;
//!
//! let pool = ThreadPoolExecutor::new(5).unwrap();           // 1. a pool
//! let f = pool.submit(|| "Hello, world!").unwrap();         // 2. submit a task
//! assert_eq!(f.result().unwrap(), "Hello, world!");          // 3. its result
//! pool.shutdown();                                           // 4. shut down
//! ```
//!
//! # Where each section of the article lives
//!
//! | article section | module | example | test |
//! |---|---|---|---|
//! | 1, 1.1 the four steps, create a pool | `pool.rs` | `s01_four_steps` | `ch01_pools` |
//! | 2 submit to threads | `submit.rs` | `s02_submit_threads` | `ch02_submit_threads` |
//! | 3 submit to processes | `process/` (diagram in `process/diagram.md`) | `s03_submit_processes` | `ch03_submit_processes`, `process_faults` |
//! | 1.4, 4 shutdown, `with` | `shutdown.rs` | `s04_with` | `ch04_with` |
//! | 5 map | `map.rs` | `s05_1_map`, `s05_2_map_zip`, `s05_3_map_timeout` | `ch05_map` |
//! | 5.4 chunksize | `process/map.rs` | `s05_4_chunksize` | `ch05_map_chunksize` |
//! | 7 initializer | `initializer.rs` | `s07_initializer` | `ch07_initializer`, `ch07_initializer_processes` |
//! | 8 the `Future` | `future.rs` | — | `ch08_future` |
//! | 9 cancel | `cancel.rs` | `s09_cancel` | `ch09_cancel` |
//! | 10 callbacks | `callbacks.rs` | `s10_callbacks` | `ch10_callbacks`, `ch10_12_processes` |
//! | 11 as_completed | `as_completed.rs` | `s11_1_as_completed`, `s11_2_as_completed_timeout` | `ch11_as_completed`, `ch10_12_processes` |
//! | 12 wait | `wait.rs` | `s12_1_wait`, `s12_2_wait_timeout`, `s12_3_wait_first_completed` | `ch12_wait`, `ch10_12_processes` |
//! | 1.1, 3 one `Executor` for both pools | `executor.rs` | `one_executor` | `executor` |
//! | `.await` on a `Future` (`asyncio.wrap_future`) | `awaiting.rs` | `awaiting` | `awaiting` |
//! | stopping a running task: `kill`, time limits | `stopping.rs` | `stop_thread_task` | `stopping` |
//! | a result that is not `Clone`, futures as map keys | `future.rs` | — | `future_take_and_id` |
//! | errors | `error.rs` | — | every test |
//!
//! Run one chapter's example and test with
//! `cargo run --example s02_submit_threads` and `cargo test --test ch02_submit_threads`.
//!
//! # Python's keywords in Rust
//!
//! A `timeout=` keyword becomes a second method with a `_timeout` suffix
//! ([`Future::result_timeout`], [`wait_timeout`]); other keywords become an
//! options struct passed to a `_with` method ([`ThreadPoolExecutor::map_with`]
//! with [`MapOptions`], [`ThreadPoolExecutor::shutdown_with`] with
//! [`Shutdown`]). Exceptions become variants of [`Error`].
//!
//! # Platforms
//!
//! Thread pools run wherever std has threads. Process pools re-execute the
//! current binary and are tested as follows: on Linux, the full test suite;
//! on Windows, the full test suite under Wine, in CI (`.ci/platforms`); on
//! macOS and FreeBSD, clippy in CI (they build, but no test runs there).
//!
//! # Deliberate differences from CPython
//!
#![doc = include_str!("differences.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod as_completed;
mod awaiting;
mod callbacks;
mod cancel;
mod error;
mod executor;
mod future;
mod initializer;
mod map;
mod pool;
pub mod process;
mod shutdown;
mod stopping;
mod submit;
mod wait;
mod waiter;

pub use as_completed::{as_completed, as_completed_timeout, AsCompleted};
pub use awaiting::Awaitable;
pub use error::Error;
pub use executor::Executor;
pub use future::{Future, FutureId};
pub use map::{Map, MapOptions};
pub use pool::{default_max_workers, Builder, ThreadPoolExecutor};
pub use process::ProcessPoolExecutor;
pub use shutdown::Shutdown;
pub use stopping::SubmitOptions;
pub use wait::{wait, wait_timeout, DoneAndNotDone, ReturnWhen};

// ANCHOR: worker_test
/// Makes a libtest test file able to serve as a process-pool worker: put
/// `concurrent_futures::worker_test!(TASKS);` at its root, or in a module
/// such as `#[cfg(test)] mod tests` (once per test binary).
///
/// It expands to a `#[test] fn __concurrent_futures_worker()` calling
/// [`process::serve_if_worker`]. A pool re-executes the test binary with
/// arguments that select exactly that test, which then becomes the worker
/// and never returns; in a normal test run it returns at once and passes.
/// (Each worker's copy of libtest prints its `running 1 test` header
/// before the worker takes over; in a test binary the pool reads its
/// workers' output and drops that line. What tasks print is then captured
/// by libtest like the test's own prints: shown if the test fails, or
/// under `--nocapture`.)
///
/// ```
/// use concurrent_futures::process::{Registered, Task};
/// const CUBE: Task<u64, u64> = Task::new("cube", |x| x.pow(3));
/// const TASKS: &[&dyn Registered] = &[&CUBE];
/// concurrent_futures::worker_test!(TASKS);
/// ```
#[macro_export]
macro_rules! worker_test {
    ($tasks:expr) => {
        #[test]
        fn __concurrent_futures_worker() {
            $crate::process::serve_if_worker($tasks)
        }
    };
}
// ANCHOR_END: worker_test

/// The README's code, compiled and run as a doc test so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
