//! The worker process's own loop: what a re-executed copy of the program
//! does instead of its `main`.
//!
//! Two threads share the connection, each in turn the reader or the runner
//! (a leader and a follower): whichever reads a call while no task runs
//! runs it itself, so a call reaches its task without a hop between
//! threads. Once a task has run for [`HAND_OFF`], the other thread takes
//! the reading over: a [`ToWorker::Stop`] frame, or the end of the stream
//! (the parent is gone, or cut the connection), then ends the process at
//! once instead of after the task, and a [`ToWorker::Recall`] sends the
//! calls waiting behind that task back to the pool.
//!
//! A `Recall` that finds no long task running waits (see `Inbox::recall`):
//! the calls it would move are short, and moving one (back to the pool,
//! out again to another worker) costs more than running it here. Answered
//! at once, a `Recall` at the end of every `map` gave back a third of a
//! chunk on average, sent twice for nothing.
//!
//! Why not hand the reading over as each task starts: with short tasks
//! (thousands a second) that was a wake-up of the other thread per batch
//! of calls read, twice the context switches of a single-threaded worker,
//! and it made bulk submission 40% slower. So the other thread keeps
//! watch with timed waits while tasks keep coming ([`STAY_AWAKE`]), a
//! hundred wake-ups a second instead of tens of thousands, and sleeps
//! untimed once the worker is quiet (an idle pool costs no CPU); a task
//! starting then wakes it.
//!
//! Why [`HAND_OFF`] is 10 ms and not 1: the watching thread wakes once per
//! `HAND_OFF` while tasks keep coming, and each wake-up on a busy machine
//! may preempt a thread that is doing the work. At 1 ms that was 2 to 6
//! wake-ups per `map` of 100 chunks of 1000 no-op calls (about 2 ms) per
//! worker; at 10 ms it is 0.3. And a task's time here is wall-clock time,
//! preemptions included: the longer limit also keeps a preempted short
//! task from being taken for a long one.

use std::collections::VecDeque;
use std::io::{self, BufReader, BufWriter, Write};
use std::process::exit;
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use super::conn::Conn;
use super::frame::{whole_frame, FromWorker, ToWorker, MAX_FRAME};
use super::task::Registered;
use super::wire::encoding;
use crate::error::{catch_panic, quiet_task_panics};
use crate::Error;

/// The address a worker connects to; its presence makes a process a worker.
pub(crate) const ENV_ADDRESS: &str = "CONCURRENT_FUTURES_WORKER";
/// The secret a worker proves itself with in its hello.
pub(crate) const ENV_TOKEN: &str = "CONCURRENT_FUTURES_TOKEN";
/// Set when the pool reads the worker's stdout (in a test binary): the
/// line to print first, so the pool can tell libtest's header from what
/// tasks print.
pub(crate) const ENV_STDOUT: &str = "CONCURRENT_FUTURES_STDOUT";
/// The libtest arguments that select `worker_test!`'s test in a test binary;
/// an ordinary `main` never looks at its arguments before `serve_if_worker`.
/// (No `--exact`: the filter then also matches the test inside a module,
/// `tests::__concurrent_futures_worker`.)
pub(crate) const TEST_ARGS: [&str; 4] = [
    "__concurrent_futures_worker",
    "--nocapture",
    "--test-threads=1",
    "--quiet",
];

/// True if this process was started as a worker but is not serving: it must
/// not start workers itself, or a `main` that forgot `serve_if_worker`
/// would start copies of itself for ever. (A serving worker removed the
/// variable first thing, so its tasks may start pools of their own.)
pub(crate) fn is_stray_worker() -> bool {
    std::env::var_os(ENV_ADDRESS).is_some()
}

/// Why this program's table cannot serve (a name listed twice), once
/// `serve_if_worker` has seen it; pools then refuse to start.
static REFUSED: OnceLock<String> = OnceLock::new();

/// The reason pools of this process refuse to start, if any.
pub(crate) fn refused() -> Option<&'static str> {
    REFUSED.get().map(String::as_str)
}

/// Names listed more than once make a table ambiguous: a worker would
/// silently run the first. The error names each of them.
fn check_names(tasks: &[&dyn Registered]) -> Result<(), String> {
    let mut twice: Vec<&str> = Vec::new();
    for (i, t) in tasks.iter().enumerate() {
        let name = t.name();
        if tasks[..i].iter().any(|u| u.name() == name) && !twice.contains(&name) {
            twice.push(name);
        }
    }
    if twice.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = twice.iter().map(|n| format!("`{n}`")).collect();
    Err(format!(
        "the TASKS table lists {} more than once: each task needs a name of its own",
        names.join(", ")
    ))
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
    let names = check_names(tasks);
    let Some(address) = std::env::var_os(ENV_ADDRESS) else {
        if let Err(why) = names {
            let _ = REFUSED.set(why);
        }
        return;
    };
    let token = std::env::var(ENV_TOKEN).unwrap_or_default();
    // Gone before any task runs: a subprocess a task starts of this very
    // program is an ordinary run of it, not a would-be worker.
    std::env::remove_var(ENV_ADDRESS);
    std::env::remove_var(ENV_TOKEN);
    if let Some(line) = std::env::var_os(ENV_STDOUT) {
        std::env::remove_var(ENV_STDOUT);
        let mut out = io::stdout().lock();
        let _ = writeln!(out, "{}", line.to_string_lossy()).and_then(|()| out.flush());
    }
    let address = address.to_string_lossy();
    let conn = match Conn::connect(&address) {
        Ok(conn) => conn,
        Err(e) => {
            eprintln!("concurrent_futures worker: cannot connect to {address}: {e}");
            finish(1)
        }
    };
    quiet_task_panics();
    // Whatever ends the loop, the pool is gone or spoke nonsense: nobody is
    // left to tell.
    let _ = serve(conn, &token, tasks, names);
    finish(1)
}
// ANCHOR_END: serve_if_worker

/// The connection, for [`finish`] to end it.
static CONN: OnceLock<Conn> = OnceLock::new();

/// Exits the process, first flushing what tasks printed, as Python's
/// workers flush `sys.stdout` on their way out, then ending the
/// connection: the pool sees the end of the stream now, not whenever the
/// system gets to closing the socket. (Under Wine a worker that exits,
/// or is killed, while its other thread waits in a read can leave its
/// socket open, and the pool's receiver then waited for ever.)
fn finish(code: i32) -> ! {
    let _ = std::io::stdout().flush();
    if let Some(conn) = CONN.get() {
        conn.close();
    }
    exit(code)
}

/// What the two threads share.
struct Inbox {
    /// Frames read and not yet run, in order.
    calls: VecDeque<ToWorker>,
    /// The connection's read side; `None` while one thread reads it.
    reader: Option<BufReader<Conn>>,
    /// When the call a thread is running started; `None` while none runs.
    running: Option<Instant>,
    /// When the last call started: the other thread keeps watch with timed
    /// waits until [`STAY_AWAKE`] after it.
    last_start: Option<Instant>,
    /// The pool sent `Close`: exit once `calls` is empty.
    closing: bool,
    /// The pool sent `Recall`, not answered yet. The answer waits until
    /// the call running has run [`HAND_OFF`] (the calls behind it would
    /// wait long: they go back) or until no call is left to run (nothing
    /// waited long: nothing goes back). A call that runs short is so never
    /// sent twice; moving one costs more than running it.
    recall: bool,
    /// A thread sleeps on `turn` without a deadline: a call that starts
    /// must wake it, or nobody would read while that call runs.
    asleep: bool,
}

/// A task that has run this long gets the other thread reading the
/// connection beside it (so a `Recall`, a `Stop` or the parent's end waits
/// at most about this long). Shorter tasks are read around, not beside.
/// Long enough that a preempted short task is not taken for a long one
/// (see the module docs), short beside the tasks a `Recall` is for.
const HAND_OFF: Duration = Duration::from_millis(10);

/// How long after the last call started the other thread keeps watch with
/// timed waits (one every [`HAND_OFF`]) rather than sleeping until woken.
const STAY_AWAKE: Duration = Duration::from_millis(100);

struct Worker<'t> {
    inbox: Mutex<Inbox>,
    /// Signalled when a call starts while a thread is `asleep`.
    turn: Condvar,
    output: Mutex<BufWriter<Conn>>,
    tasks: &'t [&'t dyn Registered],
}

// ANCHOR: worker_loop
/// Says hello, then answers calls on two threads until the pool says
/// Close; or, if the table is ambiguous, says why and leaves.
fn serve(
    conn: Conn,
    token: &str,
    tasks: &[&dyn Registered],
    names: Result<(), String>,
) -> io::Result<()> {
    let mut output = BufWriter::new(conn.try_clone()?);
    let _ = CONN.set(conn.try_clone()?);
    let hello = FromWorker::Hello {
        token: token.to_owned(),
        pid: std::process::id(),
    };
    hello.write(&mut output)?;
    if let Err(message) = names {
        FromWorker::Refused { message }.write(&mut output)?;
        output.flush()?;
        finish(1);
    }
    output.flush()?;
    let worker = Worker {
        inbox: Mutex::new(Inbox {
            calls: VecDeque::new(),
            reader: Some(BufReader::new(conn)),
            running: None,
            last_start: None,
            closing: false,
            recall: false,
            asleep: false,
        }),
        turn: Condvar::new(),
        output: Mutex::new(output),
        tasks,
    };
    std::thread::scope(|s| {
        // Without the second thread (the thread limit is reached) it still
        // serves; only a Stop or the parent's end waits for the task.
        let _ = std::thread::Builder::new()
            .name("worker-control".into())
            .spawn_scoped(s, || worker.run());
        worker.run()
    })
}

impl Worker<'_> {
    fn lock(&self) -> MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One thread's life: run what is queued, else read (beside a call only
    /// once it has run for `HAND_OFF`), else wait.
    fn run(&self) -> ! {
        let mut inbox = self.lock();
        loop {
            if inbox.running.is_none() {
                if let Some(msg) = inbox.calls.pop_front() {
                    let now = Instant::now();
                    inbox.running = Some(now);
                    inbox.last_start = Some(now);
                    // Someone must read if this runs long.
                    if inbox.asleep {
                        self.turn.notify_one();
                    }
                    drop(inbox);
                    self.answer(msg);
                    inbox = self.lock();
                    inbox.running = None;
                    continue;
                }
                // Every call held has run: nothing is left to give back.
                if inbox.recall {
                    inbox = self.answer_recall(inbox);
                    continue;
                }
                if inbox.closing {
                    finish(0);
                }
            }
            let now = Instant::now();
            let long_at = inbox.running.map(|started| started + HAND_OFF);
            let may_read = long_at.map_or(true, |at| now >= at);
            // The call running has run long: what waits behind it goes back.
            if inbox.recall && may_read {
                inbox = self.answer_recall(inbox);
                continue;
            }
            let reader = if may_read { inbox.reader.take() } else { None };
            if let Some(mut reader) = reader {
                drop(inbox);
                let read = read_some(&mut reader);
                inbox = self.lock();
                inbox.reader = Some(reader);
                match read {
                    Ok(msgs) => {
                        for msg in msgs {
                            match msg {
                                ToWorker::Close => inbox.closing = true,
                                // Asked to go now: whatever runs is abandoned.
                                ToWorker::Stop => finish(0),
                                // Answered above, when the time comes.
                                ToWorker::Recall => inbox.recall = true,
                                call => inbox.calls.push_back(call),
                            }
                        }
                    }
                    // The parent is gone (or sent nonsense): a task running
                    // now would only run for nobody. Python's workers, by
                    // contrast, run on until their task ends.
                    Err(_) => finish(1),
                }
                continue;
            }
            // The reader is free but the call running is not long yet: wait
            // until it would be. Or the other thread reads: keep watch while
            // calls keep starting, else sleep until one does.
            let busy = (inbox.last_start).is_some_and(|t| now < t + STAY_AWAKE);
            let deadline = match long_at {
                Some(at) if inbox.reader.is_some() => Some(at),
                _ if busy => Some(now + HAND_OFF),
                _ => None,
            };
            if let Some(at) = deadline {
                inbox = self
                    .turn
                    .wait_timeout(inbox, at.saturating_duration_since(now))
                    .unwrap_or_else(PoisonError::into_inner)
                    .0;
            } else {
                inbox.asleep = true;
                inbox = self
                    .turn
                    .wait(inbox)
                    .unwrap_or_else(PoisonError::into_inner);
                inbox.asleep = false;
            }
        }
    }

    /// Answers a `Recall`: gives back every call not started yet, so an
    /// idle worker can start them now instead of after the one running
    /// here, then says `Recalled`.
    fn answer_recall<'a>(&'a self, mut inbox: MutexGuard<'a, Inbox>) -> MutexGuard<'a, Inbox> {
        inbox.recall = false;
        let (back, keep): (VecDeque<_>, VecDeque<_>) =
            (inbox.calls.drain(..)).partition(|m| matches!(m, ToWorker::Call { .. }));
        inbox.calls = keep;
        // The output is taken before the inbox is let go: no result of a
        // later call may overtake the calls given back (the pool expects
        // results in the order it sent the calls).
        let out = self.output.lock().unwrap_or_else(PoisonError::into_inner);
        drop(inbox);
        give_back(out, back);
        self.lock()
    }

    /// Runs one call and sends its outcome.
    fn answer(&self, msg: ToWorker) {
        let reply = match msg {
            ToWorker::Init { task, args } => match run(self.tasks, &task, &args, false) {
                Ok(_) => return,
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
                outcome: run(self.tasks, &task, &payload, chunk),
            },
            ToWorker::Close | ToWorker::Stop | ToWorker::Recall => return,
        };
        let mut out = self.output.lock().unwrap_or_else(PoisonError::into_inner);
        if reply.write(&mut *out).and_then(|()| out.flush()).is_err() {
            finish(1); // the pool is gone
        }
        if let FromWorker::InitFailed { .. } = reply {
            finish(1);
        }
    }
}
// ANCHOR_END: worker_loop

/// Sends `calls` back unstarted, then the end of the answer.
fn give_back(mut out: MutexGuard<'_, BufWriter<Conn>>, calls: VecDeque<ToWorker>) {
    let mut sent = calls.into_iter().try_for_each(|call| match call {
        ToWorker::Call {
            id,
            task,
            chunk,
            payload,
        } => FromWorker::Returned {
            id,
            task,
            chunk,
            payload,
        }
        .write(&mut *out),
        _ => Ok(()),
    });
    sent = sent.and_then(|()| FromWorker::Recalled.write(&mut *out));
    if sent.and_then(|()| out.flush()).is_err() {
        finish(1); // the pool is gone
    }
}

/// Reads one frame (blocking), then every frame already whole in the
/// buffer. End of stream is an error here: only the pool ends the worker.
fn read_some(reader: &mut BufReader<Conn>) -> io::Result<Vec<ToWorker>> {
    let mut msgs = Vec::new();
    loop {
        match ToWorker::read(reader)? {
            Some(msg) => msgs.push(msg),
            None => return Err(io::ErrorKind::UnexpectedEof.into()),
        }
        if !whole_frame(reader.buffer()) {
            return Ok(msgs);
        }
    }
}

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
    let bytes = catch_panic(|| task.call(input, chunk)).and_then(|r| r)?;
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
