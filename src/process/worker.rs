//! The worker side: what a re-executed copy of the program does instead of
//! its `main`.

use std::io::{BufReader, BufWriter, Write};
use std::os::unix::net::UnixStream;
use std::process::exit;
use std::sync::atomic::{AtomicBool, Ordering};

use super::frame::{FromWorker, ToWorker, MAX_FRAME};
use super::task::{guarded, install_panic_hook, Registered};
use super::wire::encoding;
use crate::Error;

/// Names the socket a worker connects to; its presence makes a process a worker.
pub(crate) const ENV_SOCKET: &str = "CONCURRENT_FUTURES_WORKER";
/// The secret a worker proves itself with in its hello.
pub(crate) const ENV_TOKEN: &str = "CONCURRENT_FUTURES_TOKEN";
/// The libtest arguments that select `worker_test!`'s test in a test binary;
/// an ordinary `main` never looks at its arguments before `serve_if_worker`.
pub(crate) const TEST_ARGS: [&str; 5] = [
    "__concurrent_futures_worker",
    "--exact",
    "--nocapture",
    "--test-threads=1",
    "--quiet",
];

/// Set once this process serves as a worker: the fork-bomb guard lets a
/// serving worker's tasks start pools of their own, and nobody else with the
/// worker variable set.
static SERVING: AtomicBool = AtomicBool::new(false);

/// True if this process was started as a worker but is not serving: it must
/// not start workers itself, or a `main` that forgot `serve_if_worker`
/// would start copies of itself for ever.
pub(crate) fn is_stray_worker() -> bool {
    std::env::var_os(ENV_SOCKET).is_some() && !SERVING.load(Ordering::SeqCst)
}

// ANCHOR: serve_if_worker
/// Turns this process into a worker of the pool that started it, if one
/// did; otherwise returns at once. Call it first thing in `main`.
///
/// A [`ProcessPoolExecutor`](crate::ProcessPoolExecutor) starts workers by
/// running the current executable again with an environment variable set.
/// In such a process this function serves tasks from `tasks` until the pool
/// lets it go, then exits the process: it never returns. Under `cargo test`,
/// put [`worker_test!`](crate::worker_test)`(TASKS)` at the root of the test
/// file instead.
///
/// ```
/// use concurrent_futures::process::{serve_if_worker, Registered, Task};
/// use concurrent_futures::ProcessPoolExecutor;
///
/// fn cube(x: u64) -> u64 { x.pow(3) }
/// const CUBE: Task<u64, u64> = Task::new("cube", cube);
/// const TASKS: &[&dyn Registered] = &[&CUBE];
///
/// fn main() {
///     serve_if_worker(TASKS); // in a worker, this never returns
///     let pool = ProcessPoolExecutor::new(2).unwrap();
///     assert_eq!(pool.submit(&CUBE, 3).unwrap().result(), Ok(27));
/// }
/// ```
pub fn serve_if_worker(tasks: &[&dyn Registered]) {
    let Some(socket) = std::env::var_os(ENV_SOCKET) else {
        return;
    };
    SERVING.store(true, Ordering::SeqCst);
    let token = std::env::var(ENV_TOKEN).unwrap_or_default();
    let stream = match UnixStream::connect(&socket) {
        Ok(stream) => stream,
        Err(e) => {
            eprintln!("concurrent_futures worker: cannot connect to {socket:?}: {e}");
            finish(1)
        }
    };
    install_panic_hook();
    let code = match serve(stream, &token, tasks) {
        Ok(()) => 0,
        // The pool is gone or spoke nonsense: nobody is left to tell.
        Err(_) => 1,
    };
    finish(code)
}
// ANCHOR_END: serve_if_worker

/// Exits the process, first flushing what tasks printed, as Python's
/// workers flush `sys.stdout` on their way out.
fn finish(code: i32) -> ! {
    let _ = std::io::stdout().flush();
    exit(code)
}

// ANCHOR: worker_loop
/// Answers calls until the pool closes its end of the socket.
fn serve(stream: UnixStream, token: &str, tasks: &[&dyn Registered]) -> std::io::Result<()> {
    let mut input = BufReader::new(stream.try_clone()?);
    let mut output = BufWriter::new(stream);
    let hello = FromWorker::Hello {
        token: token.to_owned(),
        pid: std::process::id(),
    };
    hello.write(&mut output)?;
    output.flush()?;
    while let Some(msg) = ToWorker::read(&mut input)? {
        let reply = match msg {
            ToWorker::Init { task, args } => match run(tasks, &task, &args, false) {
                Ok(_) => continue,
                Err(Error::Panicked { message } | Error::Encoding { message }) => {
                    // Python prints the initializer's traceback in the worker.
                    eprintln!("Exception in initializer: {message}");
                    FromWorker::InitFailed { message }
                }
                Err(e) => FromWorker::InitFailed {
                    message: e.to_string(),
                },
            },
            ToWorker::Call {
                id,
                task,
                chunk,
                payload,
            } => FromWorker::Done {
                id,
                outcome: run(tasks, &task, &payload, chunk),
            },
        };
        reply.write(&mut output)?;
        output.flush()?;
        if let FromWorker::InitFailed { .. } = reply {
            finish(1);
        }
    }
    Ok(())
}
// ANCHOR_END: worker_loop

/// Finds `name` in the table and runs it.
fn run(tasks: &[&dyn Registered], name: &str, input: &[u8], chunk: bool) -> Result<Vec<u8>, Error> {
    let Some(task) = tasks.iter().find(|t| t.name() == name) else {
        return Err(encoding(format!(
            "worker process {} has no task named `{name}`: add it to the TASKS table \
             passed to serve_if_worker (or worker_test!)",
            std::process::id()
        )));
    };
    // `call` catches the task's panics; this catches the rare panic in our
    // own code around it, so that the pool still hears back about `id`.
    let bytes = guarded(|| task.call(input, chunk))?;
    // Too big for a frame: fail this call rather than the connection.
    let limit = MAX_FRAME - 1024;
    if bytes.len() > limit {
        let n = bytes.len();
        return Err(encoding(format!(
            "the result of `{name}` is {n} bytes, over the limit of {limit}"
        )));
    }
    Ok(bytes)
}
