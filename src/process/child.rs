//! One worker process, seen from the parent: this very binary started
//! again, told where to connect and what to say, and later reaped.
//!
//! No thread ever blocks in `Child::wait`: the `Child` sits in the worker's
//! slot under the pool's lock, so any thread may `kill` it at any moment
//! (std's `Child::kill` takes `&mut Child`). It is reaped once its
//! connection has ended, which normally means it has exited or is exiting:
//! [`Backoff`] paces the few `try_wait` calls that takes.

use std::io;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::worker::{ENV_ADDRESS, ENV_TOKEN, TEST_ARGS};

// ANCHOR: spawn
/// Starts this program again as a worker that connects to `address` and
/// proves itself with `token`. Its stdin is empty (nothing of the pool's
/// travels there, so a task's subprocess reading stdin gets end of file);
/// its stdout and stderr are ours, as in Python: what a task prints is on
/// the terminal before its result is even sent, so it can neither be lost
/// when the program exits right after nor come out after the parent's own
/// next line (a pipe and a forwarding thread would allow both).
pub(crate) fn spawn(address: &str, token: &str) -> io::Result<Child> {
    Command::new(std::env::current_exe()?)
        .args(TEST_ARGS)
        .env(ENV_ADDRESS, address)
        .env(ENV_TOKEN, token)
        .stdin(Stdio::null())
        .spawn()
}
// ANCHOR_END: spawn

/// How long a worker whose connection ended may take to exit before it is
/// killed (it closed or garbled the connection, yet lives on).
pub(crate) const EXIT_GRACE: Duration = Duration::from_secs(1);

/// Pauses between `try_wait`s (or non-blocking accepts): 100 µs while the
/// event is likely imminent (a process exiting, a worker connecting take
/// about a millisecond), then 5 ms, so a slow machine costs few wake-ups.
pub(crate) struct Backoff {
    since: Instant,
}

impl Backoff {
    pub(crate) fn new() -> Backoff {
        Backoff {
            since: Instant::now(),
        }
    }

    pub(crate) fn elapsed(&self) -> Duration {
        self.since.elapsed()
    }

    pub(crate) fn pause(&self) {
        let step = if self.since.elapsed() < Duration::from_millis(50) {
            Duration::from_micros(100)
        } else {
            Duration::from_millis(5)
        };
        std::thread::sleep(step);
    }
}

/// Reaps a worker whose connection has ended: it is normally exiting
/// already; one still running after [`EXIT_GRACE`] (or at once, with
/// `kill_now`) is killed. Returns its status and whether it was killed.
pub(crate) fn reap(child: &mut Child, kill_now: bool) -> (io::Result<ExitStatus>, bool) {
    let mut killed = kill_now && child.kill().is_ok();
    let backoff = Backoff::new();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return (Ok(status), killed),
            Ok(None) if !killed && backoff.elapsed() >= EXIT_GRACE => {
                killed = child.kill().is_ok();
                if !killed {
                    return (child.wait(), false);
                }
            }
            Ok(None) => backoff.pause(),
            Err(e) => return (Err(e), killed),
        }
    }
}
