//! What every example shares: the article's clock, the article's `cube`
//! task, and the table of process tasks.
//!
//! # The clock
//!
//! The article's tasks sleep for whole seconds, so each example takes about
//! 15 s. The environment variable `CONCURRENT_FUTURES_CLOCK` scales that
//! clock: `CONCURRENT_FUTURES_CLOCK=0.1` makes one article second last
//! 100 ms, so an example takes 1.5 s. Unset, it is 1: real seconds, as in
//! the article.
//!
//! ```sh
//! CONCURRENT_FUTURES_CLOCK=0.1 cargo run --example s02_submit_threads
//! ```
//!
//! Every time an example prints (`t=5.00 s`, timeouts, sleeps) is in article
//! seconds, so the output reads the same at any scale; only the wall time
//! line also shows the real time.
//!
//! The examples whose outcome depends on timing (§5.3, §9, §11.2, §12.2)
//! put their cancel point or timeout half an article second away from any
//! task's start or end, so they show the article's outcome unless a task
//! runs half an article second late. At 0.1 that is 50 ms, which only a
//! badly overloaded machine misses (a worker process can take that long to
//! start when a dozen jobs share two cores); at 0.01 it is 5 ms, about
//! what starting one worker process takes, and a race again.
//!
//! The scale travels in the environment rather than in a variable of this
//! process because process pools re-run the example's binary as their
//! workers, and the `cube` they run must sleep at the same scale.

// Each example includes this file but uses only part of it.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use concurrent_futures::process::{Registered, Task};
use concurrent_futures::Future;

/// The environment variable holding the clock's scale.
pub const CLOCK_VAR: &str = "CONCURRENT_FUTURES_CLOCK";

/// How long one article second lasts, in real seconds (1 unless
/// `CONCURRENT_FUTURES_CLOCK` says otherwise).
pub fn scale() -> f64 {
    let Ok(text) = std::env::var(CLOCK_VAR) else {
        return 1.0;
    };
    match text.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 => s,
        _ => {
            eprintln!("{CLOCK_VAR}={text:?} is not a positive number; using 1");
            1.0
        }
    }
}

/// Sets the scale for this process and the workers it starts (the tour's
/// way of running every example quickly). Call it before starting threads.
pub fn set_scale(scale: f64) {
    std::env::set_var(CLOCK_VAR, scale.to_string());
}

/// The real duration of `secs` article seconds.
pub fn secs(secs: f64) -> Duration {
    Duration::from_secs_f64(secs * scale())
}

/// Sleeps `secs` article seconds: the article's `time.sleep(secs)`.
pub fn sleep(secs: f64) {
    std::thread::sleep(self::secs(secs));
}

/// A stopwatch started with the example: it stamps events in article
/// seconds since the start and prints the wall time at the end (the
/// article's `%%time`).
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    start: Instant,
}

impl Clock {
    /// Starts the stopwatch.
    pub fn start() -> Clock {
        Clock {
            start: Instant::now(),
        }
    }

    /// Article seconds since the start.
    pub fn elapsed(&self) -> f64 {
        self.start.elapsed().as_secs_f64() / scale()
    }

    /// The time now, as the article prints `datetime.now()`: here, article
    /// seconds since the example started (std has no calendar clock).
    pub fn stamp(&self) -> String {
        format!("t={:.2} s", self.elapsed())
    }

    /// The article's `Wall time: 15 s` line, with the real time and, on a
    /// scaled clock, the article seconds it stands for.
    pub fn wall_time(&self) -> String {
        let real = self.start.elapsed().as_secs_f64();
        let scale = scale();
        if scale == 1.0 {
            format!("Wall time: {real:.1} s")
        } else {
            let article = real / scale;
            format!("Wall time: {real:.3} s ({article:.1} article seconds at clock {scale})")
        }
    }
}

/// The name of the current thread, as Python's `threading.current_thread().name`.
pub fn thread_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("unnamed")
        .to_owned()
}

// ANCHOR: cube
/// The article's task on threads: sleeps `x` seconds and returns the name
/// of the thread that ran it with `x` cubed.
pub fn cube(x: u64) -> (String, u64) {
    let name = thread_name();
    sleep(x as f64);
    (name, x.pow(3))
}
// ANCHOR_END: cube

/// §5.2's task: two arguments, sleeps `x1` seconds, returns the thread's
/// name with the cube of the sum.
pub fn cube_sum(x1: u64, x2: u64) -> (String, u64) {
    let name = thread_name();
    sleep(x1 as f64);
    (name, (x1 + x2).pow(3))
}

/// The article's task without the thread name (§9, and the process pools):
/// sleeps `x` seconds and returns `x` cubed.
pub fn slow_cube(x: u64) -> u64 {
    sleep(x as f64);
    x.pow(3)
}

/// The article's `"F-{i}"` names.
pub fn name(i: u64) -> String {
    format!("F-{i}")
}

// ---- Process pools (§3, §5.4, §10-§12) ----

// ANCHOR: tasks
/// The article's task on processes. A closure cannot cross a process
/// boundary, so the task is a named function in a table that the example
/// and its worker processes share (they run the same binary).
pub const CUBE: Task<u64, u64> = Task::new("cube", slow_cube);

/// §5.4's task: so small that sending it to a worker costs more than
/// running it, which is what `chunksize` is for.
pub const TINY_CUBE: Task<u64, u64> = Task::new("tiny_cube", tiny_cube);

/// Every process task of every example, in one table: the tour runs them
/// all from one binary, and task names must be unique within it.
pub const TASKS: &[&dyn Registered] = &[&CUBE, &TINY_CUBE, &NAP];

/// Stopping running work: sleeps `x` seconds and returns `x`; given a
/// large `x`, a task that hangs.
pub const NAP: Task<u64, u64> = Task::new("nap", nap);

fn nap(x: u64) -> u64 {
    sleep(x as f64);
    x
}

fn tiny_cube(x: u64) -> u64 {
    x.pow(3)
}
// ANCHOR_END: tasks

// ANCHOR: names
/// Python's `f.name = "F-1"`: a name for each future, looked up by the
/// future itself, since two handles are equal exactly when they refer to
/// the same task. A list rather than a `HashMap`: for ten futures it is as
/// quick, and clippy's `mutable_key_type` would object to a key holding a
/// `Mutex`, although a future hashes by identity and never changes as a key.
pub struct Names<T> {
    names: Vec<(Future<T>, String)>,
}

impl<T> Names<T> {
    /// No names yet.
    pub fn new() -> Names<T> {
        Names { names: Vec::new() }
    }

    /// Names `future`.
    pub fn insert(&mut self, future: &Future<T>, name: String) {
        self.names.push((future.clone(), name));
    }

    /// The name of `future`.
    pub fn get(&self, future: &Future<T>) -> &str {
        let found = self.names.iter().find(|(f, _)| f == future);
        found.map_or("?", |(_, name)| name.as_str())
    }

    /// The names of `futures`, in their order.
    pub fn of<'a>(&self, futures: impl IntoIterator<Item = &'a Future<T>>) -> Vec<&str>
    where
        T: 'a,
    {
        futures.into_iter().map(|f| self.get(f)).collect()
    }
}
// ANCHOR_END: names
