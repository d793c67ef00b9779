//! A progress line over `as_completed`: what Python users get by wrapping
//! it in `tqdm`. On a terminal one line is redrawn in place as tasks
//! finish; piped into a file or another program, it prints a plain line at
//! each tenth of the work instead, since a log has no "in place".
//!
//! ```text
//! [##############----------------]  19/40  2.7 tasks/s  7.8 s left
//! ```
//!
//! Run it with `cargo run --example progress`: 40 tasks of 1 to 2 article
//! seconds on 4 threads, about 15 s on the real clock.
//! `CONCURRENT_FUTURES_CLOCK=0.1` makes it 1.5 s (see `common/mod.rs`);
//! rates and times left are in article seconds, so they read the same at
//! any scale. `cargo run --example progress | cat` shows the piped form.
//!
//! The drawing is [`ProgressLine`], a few lines over any `Write`: the tests
//! in `tests/progress.rs` draw into a `Vec<u8>`.

use std::io::{self, IsTerminal, Write};

use concurrent_futures::{as_completed, ThreadPoolExecutor};

mod common;
use common::{sleep, Clock};

// ANCHOR: progress_line
/// The progress of `total` tasks, drawn to a terminal or to a log.
///
/// | `terminal` | each `update` writes | `finish` writes |
/// |---|---|---|
/// | true | `\r`, the line, `ESC[K` (erase what a longer line left): the line redrawn in place | the newline that ends it |
/// | false | the line and a newline, only when `done` reaches a new tenth of `total` | nothing |
pub struct ProgressLine {
    total: usize,
    terminal: bool,
    /// The last tenth printed (0 to 10), when not on a terminal.
    tenths_shown: usize,
}

/// The width of the bar, between its brackets.
const BAR: usize = 30;

impl ProgressLine {
    /// A progress line for `total` tasks; `terminal` says whether the output
    /// is a terminal (`std::io::stdout().is_terminal()`).
    pub fn new(total: usize, terminal: bool) -> ProgressLine {
        ProgressLine {
            total,
            terminal,
            tenths_shown: 0,
        }
    }

    /// Reports `done` tasks finished after `elapsed` seconds.
    pub fn update(&mut self, out: &mut dyn Write, done: usize, elapsed: f64) -> io::Result<()> {
        let text = self.text(done, elapsed);
        if self.terminal {
            write!(out, "\r{text}\x1b[K")?;
            // A terminal shows a line without its newline only once flushed.
            return out.flush();
        }
        let tenths = (done * 10).checked_div(self.total).unwrap_or(10);
        if tenths > self.tenths_shown {
            self.tenths_shown = tenths;
            writeln!(out, "{text}")?;
        }
        Ok(())
    }

    /// Ends the line a terminal was redrawing.
    pub fn finish(&mut self, out: &mut dyn Write) -> io::Result<()> {
        if self.terminal {
            writeln!(out)?;
        }
        out.flush()
    }

    /// The line itself: `[#####-----]  5/10  2.5 tasks/s  2.0 s left`; at
    /// the end, the time it all took instead of the time left.
    pub fn text(&self, done: usize, elapsed: f64) -> String {
        let filled = (done * BAR).checked_div(self.total).unwrap_or(BAR);
        let bar = format!("{}{}", "#".repeat(filled), "-".repeat(BAR - filled));
        let width = self.total.to_string().len();
        let counts = format!("{done:>width$}/{}", self.total);
        // tqdm's estimate: the rate so far, applied to what is left. No
        // rate before the first task is done (or before any time passed).
        let rate = done as f64 / elapsed;
        let known = rate.is_finite() && done > 0;
        let shown = if known {
            format!("{rate:.1}")
        } else {
            "?".into()
        };
        if done == self.total {
            return format!("[{bar}]  {counts}  {shown} tasks/s  done in {elapsed:.1} s");
        }
        let left = if known {
            format!("{:.1}", (self.total - done) as f64 / rate)
        } else {
            "?".into()
        };
        format!("[{bar}]  {counts}  {shown} tasks/s  {left} s left")
    }
}
// ANCHOR_END: progress_line

/// Task `i`'s length, 1 to 2 article seconds, mixed so that tasks finish
/// out of order.
fn seconds(i: u64) -> f64 {
    1.0 + (i * 7 % 5) as f64 / 4.0
}

pub fn main() {
    let clock = Clock::start();
    // ANCHOR: main
    let pool = ThreadPoolExecutor::new(4).unwrap();
    let futures: Vec<_> = (0..40)
        .map(|i| {
            pool.submit(move || {
                sleep(seconds(i));
                i * i
            })
            .unwrap()
        })
        .collect();

    let mut stdout = io::stdout().lock();
    let mut progress = ProgressLine::new(futures.len(), stdout.is_terminal());
    progress.update(&mut stdout, 0, 0.0).unwrap();
    let mut sum = 0;
    for (done, future) in as_completed(&futures).enumerate() {
        sum += future.unwrap().result().unwrap();
        progress
            .update(&mut stdout, done + 1, clock.elapsed())
            .unwrap();
    }
    progress.finish(&mut stdout).unwrap();
    drop(stdout);
    pool.shutdown();

    println!("The sum of the squares of 0 to 39: {sum}");
    // ANCHOR_END: main
    println!("{}", clock.wall_time());
}
