//! Python's `concurrent.futures`, rebuilt in plain Rust.
//!
//! Thread pools, process pools, [`Future`]s with cancel and callbacks, `map`
//! with a timeout and chunks, [`wait`] and [`as_completed`]: the same names and
//! the same behaviour as CPython's module, built on std's `Mutex`, `Condvar`
//! and threads, with no dependencies and no `unsafe`.
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
//! | 1.1 create a pool | `pool.rs` | every example | `ch01_pools` |
//! | 2 submit to threads | `submit.rs` | `s02_submit_threads` | `ch02_submit_threads` |
//! | 1.4, 4 shutdown, `with` | `shutdown.rs` | `s04_with` | `ch04_with` |
//! | 5 map | `map.rs` | `s05_1_map`, `s05_2_map_zip`, `s05_3_map_timeout` | `ch05_map` |
//! | 7 initializer | `initializer.rs` | `s07_initializer` | `ch07_initializer` |
//! | 8 the `Future` | `future.rs` | — | `ch08_future` |
//! | 9 cancel | `cancel.rs` | `s09_cancel` | `ch09_cancel` |
//! | 10 callbacks | `callbacks.rs` | — | `ch10_callbacks` |
//! | 11 as_completed | `as_completed.rs` | — | `ch11_as_completed` |
//! | 12 wait | `wait.rs` | — | `ch12_wait` |
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
//! # Deliberate differences from CPython
//!
//! - A future cancelled with [`Future::cancel`] counts as done for [`wait`] and
//!   [`as_completed`] at once; CPython waits until an executor notices.
//! - `wait` returns its lists in input order; Python returns sets.
//! - `map` and `map_with` check for a shut-down pool even when the input is empty.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod as_completed;
mod callbacks;
mod cancel;
mod error;
mod future;
mod initializer;
mod map;
mod pool;
mod shutdown;
mod submit;
mod wait;

pub use as_completed::{as_completed, as_completed_timeout, AsCompleted};
pub use error::Error;
pub use future::Future;
pub use map::{Map, MapOptions};
pub use pool::{default_max_workers, Builder, ThreadPoolExecutor};
pub use shutdown::Shutdown;
pub use wait::{wait, wait_timeout, DoneAndNotDone, ReturnWhen};
