//! One worker process, seen from the parent: this very binary started
//! again, told where to connect and what to say, and later reaped.
//!
//! No thread ever blocks in `Child::wait`: the `Child` sits in the worker's
//! slot under the pool's lock, so any thread may `kill` it at any moment
//! (std's `Child::kill` takes `&mut Child`). It is reaped once its
//! connection has ended, which normally means it has exited or is exiting:
//! [`Backoff`] paces the few `try_wait` calls that takes.

use std::io::{self, Read, Write};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::worker::{ENV_ADDRESS, ENV_TOKEN, TEST_ARGS};

// ANCHOR: spawn
/// Starts this program again as a worker that connects to `address` and
/// proves itself with `token`. Its stdin is empty (nothing of the pool's
/// travels there, so a task's subprocess reading stdin gets end of file);
/// its stderr is ours; its stdout comes to us through a pipe and a thread
/// that passes it on to our stdout (see [`forward`]), so a task's
/// `println!` shows as before.
pub(crate) fn spawn(address: &str, token: &str, index: usize) -> io::Result<Child> {
    let mut child = Command::new(std::env::current_exe()?)
        .args(TEST_ARGS)
        .env(ENV_ADDRESS, address)
        .env(ENV_TOKEN, token)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().expect("piped");
    // Detached: it ends when the last writer of the pipe (the worker, and
    // any subprocess of a task that kept its stdout) is gone, which the
    // pool need not wait for; a detached thread frees its stack as it ends.
    let forwarder = std::thread::Builder::new()
        .name(format!("process-stdout-{index}"))
        .spawn(move || forward(stdout));
    if let Err(e) = forwarder {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    Ok(child)
}
// ANCHOR_END: spawn

/// What a worker's copy of libtest prints (`--quiet`) before our test
/// runs: under `cargo test`, a line per worker in the middle of the output.
const LIBTEST_HEADER: &[u8] = b"\nrunning 1 test\n";

/// Passes a worker's stdout on to ours, minus libtest's header at its very
/// start. Writes go to the process's stdout itself, as the worker's did
/// when it inherited it; errors are ignored (the pipe is drained anyway,
/// so a task never blocks on a full pipe).
fn forward(mut from: ChildStdout) {
    let mut buf = vec![0u8; 8192];
    let mut head = Vec::new();
    while head.len() < LIBTEST_HEADER.len() && LIBTEST_HEADER.starts_with(&head) {
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let rest = head.strip_prefix(LIBTEST_HEADER).unwrap_or(&head);
    pass_on(rest);
    loop {
        match from.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => pass_on(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

fn pass_on(bytes: &[u8]) {
    if !bytes.is_empty() {
        let mut out = io::stdout().lock();
        let _ = out.write_all(bytes).and_then(|()| out.flush());
    }
}

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
