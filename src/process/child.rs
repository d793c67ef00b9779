//! One worker process, seen from the parent: this very binary started
//! again, told where to connect and what to say, and later reaped.
//!
//! No thread ever blocks in `Child::wait`: the `Child` sits in the worker's
//! slot under the pool's lock, so any thread may `kill` it at any moment
//! (std's `Child::kill` takes `&mut Child`). It is reaped once its
//! connection has ended, which normally means it has exited or is exiting:
//! [`Backoff`] paces the few `try_wait` calls that takes.

use std::io::{self, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::worker::{ENV_ADDRESS, ENV_STDOUT, ENV_TOKEN, TEST_ARGS};

// ANCHOR: spawn
/// Starts this program again as a worker that connects to `address` and
/// proves itself with `token`. Its stdin is empty (nothing of the pool's
/// travels there, so a task's subprocess reading stdin gets end of file);
/// its stderr is ours. So is its stdout in a program, as in Python: what a
/// task prints is out before its result is even sent, so it can neither be
/// lost when the program exits right after nor come out after the
/// parent's own next line. In a test binary (see [`Forwarded`]) it comes
/// through a pipe instead, and the second value says when that has ended.
pub(crate) fn spawn(address: &str, token: &str) -> io::Result<(Child, Option<Forwarded>)> {
    let mut command = Command::new(std::env::current_exe()?);
    command
        .args(TEST_ARGS)
        .env(ENV_ADDRESS, address)
        .env(ENV_TOKEN, token)
        .stdin(Stdio::null());
    if !is_test_binary() {
        return Ok((command.spawn()?, None));
    }
    let mut child = command
        .env(ENV_STDOUT, SERVING)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().expect("piped");
    let stderr = child.stderr.take().expect("piped");
    let (ended, forwarded) = mpsc::channel();
    let ended_too = ended.clone();
    let marker = format!("{SERVING}\n").into_bytes();
    let out = std::thread::Builder::new()
        .name(format!("process-stdout-{}", child.id()))
        .spawn(move || {
            forward(stdout, Some(&marker), |text| print!("{text}"));
            let _ = ended.send(());
        });
    let both = out.and_then(|out| {
        std::thread::Builder::new()
            .name(format!("process-stderr-{}", child.id()))
            .spawn(move || {
                forward(stderr, None, |text| eprint!("{text}"));
                let _ = ended_too.send(());
            })
            .map(|err| [out, err])
    });
    let threads = match both {
        Ok(threads) => threads,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
    };
    Ok((
        child,
        Some(Forwarded {
            ended: forwarded,
            threads,
        }),
    ))
}
// ANCHOR_END: spawn

// ANCHOR: forwarded
/// A worker's stdout in a test binary, passed on by a thread of ours.
///
/// A test binary is libtest's `main`, so a worker started from one prints
/// libtest's `running 1 test` header before `worker_test!`'s test takes
/// over: under `cargo test` that was a stray line per worker. There, and
/// only there, the worker's stdout and stderr are pipes, each read by a
/// thread of ours; the stdout one drops everything before the line
/// [`SERVING`] (which the worker prints as it starts serving), and both
/// pass the rest on with `print!` and `eprint!`. libtest captures those
/// like the test's own output: shown when the test fails or under
/// `--nocapture`, as pytest's default capture treats a worker's output.
/// What the pipe gives up: a task's lines may come out after the result
/// that followed them, and the pool must drain the pipe before it is done
/// ([`Forwarded::wait`]), or a program exiting right after loses them.
///
/// A test binary is told apart by where cargo puts one and how it names
/// it: `deps/<crate>-<16 hex digits>`, run without `--bench`. Anything
/// else counts as a program; mistaking one for the other costs only the
/// header line, or the detour.
pub(crate) struct Forwarded {
    /// A message from each thread as its pipe ends.
    ended: mpsc::Receiver<()>,
    threads: [JoinHandle<()>; 2],
}

impl Forwarded {
    /// Waits until everything the worker printed is passed on, and its two
    /// threads are gone: its ends of the pipes close as it exits. Bounded,
    /// because a subprocess a task left running may hold them for as long
    /// as it likes (the threads are then left to end on their own).
    pub(crate) fn wait(self) {
        let until = Instant::now() + Duration::from_secs(1);
        for _pipe in 0..2 {
            let left = until.saturating_duration_since(Instant::now());
            if self.ended.recv_timeout(left).is_err() {
                return;
            }
        }
        for thread in self.threads {
            let _ = thread.join();
        }
    }
}
// ANCHOR_END: forwarded

/// The line a worker prints on its stdout as it starts serving, when the
/// pool reads that stdout: everything before it is libtest's.
const SERVING: &str = "concurrent-futures: worker serving";

fn is_test_binary() -> bool {
    static TEST_BINARY: OnceLock<bool> = OnceLock::new();
    *TEST_BINARY.get_or_init(|| {
        let Ok(exe) = std::env::current_exe() else {
            return false;
        };
        let in_deps = exe.parent().and_then(Path::file_name) == Some("deps".as_ref());
        let hashed = exe
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.rsplit_once('-'))
            .is_some_and(|(_, h)| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()));
        // `cargo bench` runs its binaries from there too, with `--bench`.
        let bench = std::env::args_os().any(|a| a == "--bench");
        in_deps && hashed && !bench
    })
}

/// Passes what a worker writes to `from` on with `out`, from just after
/// `skip_to` if given. The pipe is drained to its end whatever happens, so
/// a task never blocks on a full pipe.
fn forward(mut from: impl Read, skip_to: Option<&[u8]>, out: fn(&str)) {
    let mut buf = vec![0u8; 8192];
    let mut head: Vec<u8> = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut skipping = skip_to.is_some();
    let mut broken = false;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let marker = skip_to.unwrap_or_default();
        if skipping {
            head.extend_from_slice(&buf[..n]);
            match head.windows(marker.len()).position(|w| w == marker) {
                Some(at) => {
                    skipping = false;
                    pass_on(&mut pending, &head[at + marker.len()..], out, &mut broken);
                    head = Vec::new();
                }
                // Keep only what may be the start of the marker.
                None => drop(head.drain(..head.len().saturating_sub(marker.len()))),
            }
            continue;
        }
        pass_on(&mut pending, &buf[..n], out, &mut broken);
    }
    if !pending.is_empty() && !broken {
        out(&String::from_utf8_lossy(&pending));
    }
}

/// Passes on the complete characters of `pending` + `bytes`, keeping an
/// unfinished one for the next read. Once that has failed (our stdout is
/// closed: `print!` panics then) the rest is only drained.
fn pass_on(pending: &mut Vec<u8>, bytes: &[u8], out: fn(&str), broken: &mut bool) {
    if *broken || bytes.is_empty() {
        return;
    }
    pending.extend_from_slice(bytes);
    let unfinished = match std::str::from_utf8(pending) {
        Err(e) if e.error_len().is_none() => pending.len() - e.valid_up_to(),
        _ => 0,
    };
    let whole = pending.len() - unfinished;
    let text = String::from_utf8_lossy(&pending[..whole]).into_owned();
    pending.drain(..whole);
    *broken = std::panic::catch_unwind(|| out(&text)).is_err();
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
