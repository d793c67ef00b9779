//! One worker seen from the parent, from start to end: its process and
//! connection (`start_worker`, `accept`), its two threads (the sender and
//! the receiver), and what its connection's end means (`end`), including
//! the end of a worker killed on purpose to stop one item (`stop.rs`).
//!
//! Each worker costs two threads here, each blocked on exactly one thing
//! so that none polls in the steady state:
//! - the receiver: it accepts the worker's connection, then blocks reading
//!   results; at the end of the stream it reaps the process;
//! - the sender: it sleeps on the worker's own condition variable and
//!   writes what no other thread may (the initializer, frames too big to
//!   write without blocking, the `Close` that retires the worker), so no
//!   thread that others wait for ever blocks in a write.

use std::io::{self, BufReader, BufWriter, Write};
use std::sync::{Arc, MutexGuard, PoisonError};
use std::time::Duration;

use super::child::{self, Backoff};
use super::conn::{Conn, Listener};
use super::frame::{whole_frame, FromWorker, ToWorker};
use super::schedule::{feed, hand_over, recall_if_idle};
use super::state::{Item, Phase, Pool, Reply, Shared, Slot, State};
use super::status::describe;
use super::worker::is_stray_worker;
use crate::future::lock;
use crate::Error;

/// How long a started worker may take to connect before it is killed.
const CONNECT_BOUND: Duration = Duration::from_secs(60);

// ANCHOR: start_worker
/// Starts worker number `state.workers.len()`: its listener, its process
/// and its receiver thread, which accepts the connection. Every failure
/// names the resource that ran out, and leaves nothing counted.
pub(crate) fn start_worker(pool: &Pool, state: &mut State) -> Result<(), Error> {
    if is_stray_worker() {
        // Started as a worker, yet not serving: starting workers here
        // would start copies of this very program without end.
        return Err(Error::BrokenPool {
            message: "this process was started as a process-pool worker but did not call \
                      serve_if_worker first, so it may not start workers of its own"
                .into(),
        });
    }
    let index = state.workers.len();
    let broken = |what: &str, e: io::Error| Error::BrokenPool {
        message: format!("could not start worker {index}: {what}: {e}"),
    };
    let listener = Listener::bind()
        .map_err(|e| broken("no socket to listen on (out of file descriptors?)", e))?;
    let (child, stdout) = child::spawn(listener.address(), &pool.token).map_err(|e| {
        broken(
            "could not start a process and its stdout thread \
             (out of processes, threads or file descriptors?)",
            e,
        )
    })?;
    state.workers.push(Slot::new(child));
    state.workers[index].stdout = stdout;
    state.live += 1;
    let p = Arc::clone(pool);
    let name = format!("process-receiver-{index}");
    if let Err(e) = pool.thread(state, name, move || accept(&p, index, listener)) {
        // Without its receiver the worker can never be served: stop it and
        // do not count it, or queued work would wait for it for ever.
        let slot = &mut state.workers[index];
        slot.kill();
        if let Some(mut c) = slot.child.take() {
            slot.status = Some(c.wait());
        }
        slot.phase = Phase::Gone;
        state.live -= 1;
        return Err(broken("could not start a thread (out of threads?)", e));
    }
    Ok(())
}
// ANCHOR_END: start_worker

/// Waits for the worker's connection and checks its hello, then serves it.
/// Nothing blocks here: the process may end without ever connecting (a
/// `main` without `serve_if_worker`), so accepts and `try_wait`s alternate.
fn accept(pool: &Pool, index: usize, listener: Listener) {
    let backoff = Backoff::new();
    let mut exited = false;
    let conn = loop {
        // Whether it exited is looked at before the accept, not after: a
        // worker that connects, says why it leaves and exits between the
        // two is then still found, its connection waiting to be accepted.
        if !exited {
            let mut st = lock(&pool.state);
            let slot = &mut st.workers[index];
            if let Some(status) = slot.child.as_mut().and_then(|c| c.try_wait().transpose()) {
                slot.child = None;
                slot.status = Some(status);
                exited = true;
            }
        }
        match listener.try_accept() {
            Ok(Some(conn)) => {
                let pid = lock(&pool.state).workers[index].pid;
                if hello_ok(&conn, &pool.token, pid) {
                    break conn;
                }
                continue; // anyone else who found the address is turned away
            }
            Ok(None) => {}
            Err(e) => {
                let why =
                    format!("could not accept its connection (out of file descriptors?): {e}");
                return failed(pool, index, why);
            }
        }
        if exited {
            return never_connected(pool, lock(&pool.state), index);
        }
        if backoff.elapsed() > CONNECT_BOUND {
            return failed(
                pool,
                index,
                format!("did not connect within {CONNECT_BOUND:?}"),
            );
        }
        backoff.pause();
    };
    drop(listener); // nobody else may connect now
    serve(pool, index, conn);
}

/// Reads the first frame, giving a silent peer ten seconds.
fn hello_ok(conn: &Conn, token: &str, pid: u32) -> bool {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(10)));
    let ok = matches!(
        FromWorker::read(&mut &*conn),
        Ok(Some(FromWorker::Hello { token: t, pid: p })) if t == token && p == pid
    );
    ok && conn.set_read_timeout(None).is_ok()
}

// ANCHOR: never_connected
/// The process ended before connecting: most likely its `main` does not
/// call `serve_if_worker`, and the message says how to fix that.
fn never_connected(pool: &Pool, mut st: MutexGuard<'_, State>, index: usize) {
    let slot = &mut st.workers[index];
    slot.phase = Phase::Gone;
    let how = describe(slot.status.as_ref());
    let why = format!(
        "worker {index} (pid {}) {how} before connecting: does main() call \
         concurrent_futures::process::serve_if_worker(TASKS) first (or, under cargo test, \
         does the test file have concurrent_futures::worker_test!(TASKS))?",
        slot.pid
    );
    lose_worker(pool, st, why);
}

/// A worker that never served is no longer counted, and the pool breaks
/// with `why`: every future owed fails, every sender wakes to see it.
fn lose_worker(pool: &Pool, mut st: MutexGuard<'_, State>, why: String) {
    st.live -= 1;
    let owed = st.break_pool(why);
    pool.wake_all_senders(&st);
    drop(st);
    owed.fail();
}
// ANCHOR_END: never_connected

/// A worker could not be served: kill it, reap it, break the pool.
fn failed(pool: &Pool, index: usize, how: String) {
    let mut st = lock(&pool.state);
    let slot = &mut st.workers[index];
    let child = slot.child.take();
    drop(st);
    let status = child.map(|mut c| child::reap(&mut c, true).0);
    let mut st = lock(&pool.state);
    let slot = &mut st.workers[index];
    slot.status = status;
    slot.phase = Phase::Gone;
    let why = format!(
        "worker {index} (pid {}) {how}; the process pool is not usable anymore",
        slot.pid
    );
    lose_worker(pool, st, why);
}

/// Starts the sender, then receives until the connection ends.
fn serve(pool: &Pool, index: usize, conn: Conn) {
    let Ok(writer) = conn.try_clone() else {
        return failed(pool, index, "could not share its connection".into());
    };
    {
        let writer = Arc::new(writer);
        let mut st = lock(&pool.state);
        let slot = &mut st.workers[index];
        slot.writer = Some(Arc::clone(&writer));
        slot.phase = Phase::Serving;
        let p = Arc::clone(pool);
        let name = format!("process-sender-{index}");
        if let Err(e) = pool.thread(&mut st, name, move || send(&p, index, &writer)) {
            drop(st);
            conn.close();
            let why = format!("could not start its sender thread (out of threads?): {e}");
            return end(pool, index, Some(why));
        }
    }
    // Only nonsense is the worker's fault; a read that fails otherwise (say
    // ECONNRESET: it died with our frame unread) is the end of the process.
    let bad = receive(pool, index, &conn)
        .err()
        .filter(|e| e.kind() == io::ErrorKind::InvalidData);
    conn.close();
    end(pool, index, bad.map(|e| format!("sent a bad frame ({e})")));
}

// ANCHOR: send
/// The sender: sends the initializer first, then hands over whatever the
/// other threads leave to it (items too big for them to write without
/// blocking; at first, what was queued before the worker connected), and
/// retires its worker when it must. In the steady state it sleeps: the
/// submitting thread and the receiver hand items over themselves
/// (`hand_over`), sparing a wake-up per item.
fn send(pool: &Pool, index: usize, conn: &Conn) {
    if let Some((task, args)) = &pool.initializer {
        let mut out = BufWriter::new(conn);
        let init = ToWorker::Init {
            task: (*task).to_owned(),
            args: args.clone(),
        };
        if init.write(&mut out).and_then(|()| out.flush()).is_err() {
            conn.close();
            return;
        }
    }
    let mut st = lock(&pool.state);
    // Only now may anyone else write to this worker: the initializer
    // must run before any task.
    st.workers[index].ready = true;
    let wake = Arc::clone(&st.workers[index].wake);
    loop {
        let (guard, written) = hand_over(pool, index, st, false);
        st = guard;
        if !written {
            return; // the worker is gone; its receiver reports how
        }
        let slot = &st.workers[index];
        let retiring = pool.max_tasks_per_child.is_some_and(|n| slot.sent >= n);
        let leaving = retiring || (st.shutdown && st.queue.is_empty());
        // An unanswered `Recall` may still give items back: wait for them.
        let done = st.broken.is_some() || slot.killed.is_some() || (leaving && !slot.recalling);
        // Never write `Close` into another thread's frame.
        if done && !slot.writing {
            break;
        }
        if st.queue.is_empty() && st.workers[index].idle() {
            // A new worker, idle from the start. If that wrote, the lock
            // was let go: look again before sleeping, or a wake-up is lost.
            let (guard, wrote) = recall_if_idle(pool, st);
            st = guard;
            if wrote {
                continue;
            }
        }
        st.workers[index].sender_waiting = true;
        st = wake.wait(st).unwrap_or_else(PoisonError::into_inner);
        st.workers[index].sender_waiting = false;
    }
    if retire(pool, index, st) {
        // The worker finishes what it holds, answers, and exits.
        let _ = ToWorker::Close.write(&mut &*conn);
    }
}
// ANCHOR_END: send

/// The sender is done with its worker: it no longer counts against
/// `max_workers`, and a replacement starts at once if work is waiting
/// (CPython could hang here, gh-115634). True if the worker is to be told.
fn retire(pool: &Pool, index: usize, mut st: MutexGuard<'_, State>) -> bool {
    let slot = &mut st.workers[index];
    let serving = slot.phase == Phase::Serving && slot.killed.is_none();
    if serving {
        slot.phase = Phase::Closing;
        st.live -= 1;
    }
    replace_if_wanted(pool, st);
    serving
}

/// Starts a worker if queued work wants one; if none can start and no
/// worker is left to run the queue, the pool breaks with the reason.
fn replace_if_wanted(pool: &Pool, mut st: MutexGuard<'_, State>) {
    if st.wants_worker(pool.max_workers) {
        if let Err(e) = start_worker(pool, &mut st) {
            if st.live == 0 {
                let owed = st.break_pool(e.to_string());
                pool.wake_all_senders(&st);
                drop(st);
                owed.fail();
            }
        }
    }
}

// ANCHOR: receive
/// The receiver: as results arrive, hands the worker its next queued items
/// (if small: see `hand_over`), then completes their futures. `Ok` when the
/// worker closed the connection, `Err` for a frame that makes no sense.
fn receive(pool: &Shared, index: usize, conn: &Conn) -> io::Result<()> {
    let mut input = BufReader::new(conn);
    let mut done = Vec::new();
    let ended = receive_into(pool, index, &mut input, &mut done);
    // However the stream ended, the results already read are the callers'.
    publish(&mut done);
    ended
}

/// Results read but not yet published, with their futures.
type Done = Vec<(Box<dyn Reply>, Result<Vec<u8>, Error>)>;

fn receive_into(
    pool: &Shared,
    index: usize,
    input: &mut BufReader<&Conn>,
    done: &mut Done,
) -> io::Result<()> {
    // Items given back since the last `Recall`, already at the queue's front.
    let mut returned = 0;
    while let Some(msg) = next_frame(pool, index, input)? {
        let mut st = lock(&pool.state);
        match msg {
            FromWorker::Done { id, outcome } => {
                let broken = st.broken.is_some();
                let slot = &mut st.workers[index];
                let killed = slot.killed.is_some();
                match slot.complete(id) {
                    Some(f) => done.push((f.reply, outcome)),
                    // After a break, the futures were already failed; an
                    // item stopped by `stop.rs` has failed with `Killed`.
                    _ if broken || killed => {}
                    _ => return Err(bad_data(format!("a result for unknown item {id}"))),
                }
                // More results already in our buffer (reading them cannot
                // block): take them first, and refill the worker in one write.
                if whole_frame(input.buffer()) {
                    continue;
                }
                // The worker has room again: hand it the next items before
                // publishing, so it works while the callers wake up, and so
                // a caller woken by this result finds it free (three
                // sequential submit/result calls use one process). A failed
                // write shut the socket: the next read ends, and `end` tells.
                let (mut st, _) = hand_over(pool, index, st, true);
                if !st.queue.is_empty() {
                    st = feed(pool, st); // what this worker may not take, an idle one may
                } else if st.workers[index].in_flight.is_empty() {
                    st = recall_if_idle(pool, st).0; // this one is idle now
                }
                drop(st);
                publish(done);
            }
            FromWorker::Returned {
                id,
                task: _,
                chunk,
                payload,
            } => {
                // Back to the queue, ahead of what was queued after it.
                let slot = &mut st.workers[index];
                let Some(at) = slot.in_flight.iter().position(|f| f.id == id) else {
                    if slot.killed.is_some() || st.broken.is_some() {
                        continue;
                    }
                    return Err(bad_data(format!("gave back unknown item {id}")));
                };
                let f = slot.in_flight.remove(at).expect("just found");
                slot.sent -= 1;
                let at = returned.min(st.queue.len());
                st.queue.insert(
                    at,
                    Item {
                        id,
                        task: f.task,
                        chunk,
                        payload,
                        reply: f.reply,
                        started: true,
                        timeout: f.timeout,
                    },
                );
                returned += 1;
                drop(st);
                // Results read with it (see `whole_frame` above) are owed now.
                publish(done);
            }
            FromWorker::Recalled => {
                st.workers[index].recalling = false;
                returned = 0;
                // To the idle worker; if every worker went busy meanwhile,
                // they wait for the first with room, as in CPython.
                let st = feed(pool, st);
                pool.wake_senders(&st);
                drop(st);
                publish(done);
            }
            FromWorker::InitFailed { message } => {
                let pid = st.workers[index].pid;
                let (task, _) = pool
                    .initializer
                    .as_ref()
                    .map_or(("?", &[][..]), |(t, a)| (*t, a));
                let why = format!(
                    "the initializer `{task}` failed in worker {index} (pid {pid}): {message}; \
                     the process pool is not usable anymore"
                );
                let owed = st.break_pool(why);
                pool.wake_all_senders(&st);
                drop(st);
                publish(done);
                owed.fail();
                // Its last frame: it exits (and was killed). Waiting for the
                // end of the stream could wait for ever under Wine.
                return Ok(());
            }
            FromWorker::Refused { message } => {
                let pid = st.workers[index].pid;
                let why = format!(
                    "worker {index} (pid {pid}) refused to serve: {message}; \
                     the process pool is not usable anymore"
                );
                let owed = st.break_pool(why);
                pool.wake_all_senders(&st);
                drop(st);
                publish(done);
                owed.fail();
                return Ok(()); // its last frame, as above
            }
            FromWorker::Hello { .. } => return Err(bad_data("a second hello".into())),
        }
    }
    Ok(())
}
// ANCHOR_END: receive

/// Reads the worker's next frame; `None` at the end of its stream.
#[cfg_attr(not(windows), allow(unused_variables))]
fn next_frame(
    pool: &Shared,
    index: usize,
    input: &mut BufReader<&Conn>,
) -> io::Result<Option<FromWorker>> {
    #[cfg(windows)]
    if input.buffer().is_empty() && !wait_for_data(pool, index, input)? {
        return Ok(None);
    }
    FromWorker::read(input)
}

/// Waits for the worker's next bytes (or the end of its stream): true when
/// they are there, false if its process exited with its stream still open.
/// Under Wine a process that dies (killed, or by `process::exit` in a task)
/// while its other thread waits in a read can leave its socket open, so the
/// end of the stream never comes, and a read cannot be woken from this side
/// (`shutdown` does not end it there). So on Windows the receiver waits in
/// steps of a second and looks at the process in between: one wake-up a
/// second per idle worker, on Windows only.
#[cfg(windows)]
fn wait_for_data(pool: &Shared, index: usize, input: &mut BufReader<&Conn>) -> io::Result<bool> {
    use std::io::BufRead;
    let conn = *input.get_ref();
    conn.set_read_timeout(Some(Duration::from_secs(1)))?;
    let ready = loop {
        match input.fill_buf() {
            Ok(_) => break Ok(true),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                let mut st = lock(&pool.state);
                let child = st.workers[index].child.as_mut();
                if !child.is_some_and(|c| matches!(c.try_wait(), Ok(None))) {
                    break Ok(false);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e),
        }
    };
    conn.set_read_timeout(None)?;
    ready
}

/// Completes the futures of results read. Call without the pool's lock:
/// completing a future runs its callbacks.
fn publish(done: &mut Done) {
    for (reply, outcome) in done.drain(..) {
        reply.finish(outcome);
    }
}

fn bad_data(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

// ANCHOR: death
/// The connection ended. First the process is reaped (killed if it lives
/// on: it cut its connection or sent nonsense). If we had asked it to
/// leave and it owed nothing, that is a normal exit; if we killed it on
/// purpose, its futures fail with that reason and the pool goes on.
/// Otherwise it died (or misbehaved): the pool breaks, and every future it
/// still owes fails with the reason.
fn end(pool: &Pool, index: usize, bad: Option<String>) {
    let (child, stdout) = {
        let mut st = lock(&pool.state);
        let slot = &mut st.workers[index];
        (slot.child.take(), slot.stdout.take())
    };
    // Outside the lock: it may take up to `EXIT_GRACE`.
    let reaped = child.map(|mut c| child::reap(&mut c, bad.is_some()));
    // What it printed is out before the pool can count it gone (and so
    // before a `shutdown` that waits returns).
    if let Some(stdout) = stdout {
        stdout.wait();
    }
    let mut st = lock(&pool.state);
    let slot = &mut st.workers[index];
    let was = std::mem::replace(&mut slot.phase, Phase::Gone);
    slot.writer = None;
    slot.recalling = false; // no answer is coming
    let lingered = matches!(reaped, Some((_, true))) && bad.is_none();
    slot.status = reaped.map(|(status, _)| status);
    if slot.killed.is_some() {
        // Killed to stop one item, which has failed already (`stop.rs`).
        // The others it held had not finished (their results would have
        // been read by now): back to the front of the queue, in order.
        // One may have begun in the instant before the kill; it starts
        // again from the beginning elsewhere.
        let held: Vec<_> = slot.in_flight.drain(..).collect();
        for (at, f) in held.into_iter().enumerate() {
            let item = Item {
                id: f.id,
                task: f.task,
                chunk: f.chunk,
                payload: f.payload,
                reply: f.reply,
                started: true,
                timeout: f.timeout,
            };
            st.queue.insert(at, item);
        }
        if was != Phase::Closing {
            st.live -= 1;
        }
        let st = feed(pool, st);
        replace_if_wanted(pool, st);
        return;
    }
    if bad.is_none() && !lingered && was == Phase::Closing && slot.in_flight.is_empty() {
        return; // a retirement: `retire` already stopped counting it as live
    }
    // A death. It stays counted in `live` until the pool is broken below, so
    // that no replacement can start meanwhile and run work the break must fail.
    // A write to it (by its sender or a submitting thread) is about to fail
    // (or has just succeeded): wait for it, so the report knows what
    // reached the worker.
    st.workers[index].death_pending = true;
    while st.workers[index].writing {
        st = pool
            .changed
            .wait(st)
            .unwrap_or_else(PoisonError::into_inner);
    }
    let slot = &st.workers[index];
    let how = match &bad {
        Some(what) => format!("{what}, and was killed"),
        None if lingered => "closed its connection but kept running, and was killed".to_owned(),
        None => describe(slot.status.as_ref()),
    };
    let doing = match slot.in_flight.iter().find(|f| f.delivered) {
        Some(f) => format!("while running `{}` (work item {})", f.task, f.id),
        None => "while idle".to_owned(),
    };
    let why = format!(
        "worker {index} (pid {}) {how} {doing}; the process pool is not usable anymore",
        slot.pid
    );
    let owed = st.break_pool(why);
    if was != Phase::Closing {
        st.live -= 1;
    }
    pool.wake_all_senders(&st);
    drop(st);
    owed.fail();
}
// ANCHOR_END: death
