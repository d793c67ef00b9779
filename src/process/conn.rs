//! One connected worker, seen from the parent: a sender thread that sends
//! its initializer, the work other threads leave to it, and its retirement;
//! a receiver thread that completes futures and hands the worker its next
//! item; and what happens when the connection ends.

use std::io::{self, BufReader, BufWriter, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, MutexGuard, PoisonError};

use super::frame::{whole_frame, FromWorker, ToWorker};
use super::handover::hand_over;
use super::pool::{Phase, Pool, Reply, Shared, State};
use super::spawn::{start_worker, thread};
use super::status::describe;
use crate::future::lock;
use crate::Error;

/// Starts the sender, then receives until the connection ends.
pub(crate) fn serve(pool: &Pool, index: usize, stream: UnixStream) {
    let (Ok(for_reaper), Ok(writer)) = (stream.try_clone(), stream.try_clone()) else {
        return end(pool, index, Some("could not share its socket".into()));
    };
    {
        let writer = Arc::new(writer);
        let mut st = lock(&pool.state);
        let slot = &mut st.workers[index];
        slot.stream = Some(for_reaper);
        slot.writer = Some(Arc::clone(&writer));
        slot.phase = Phase::Serving;
        let p = Arc::clone(pool);
        let name = format!("process-sender-{index}");
        if thread(pool, &mut st, name, move || send(&p, index, &writer)).is_err() {
            drop(st);
            let _ = stream.shutdown(Shutdown::Both);
            return end(
                pool,
                index,
                Some("could not start its sender thread".into()),
            );
        }
    }
    // Only nonsense is the worker's fault; a read that fails otherwise (say
    // ECONNRESET: it died with our frame unread) is the end of the process.
    let bad = receive(pool, index, &stream)
        .err()
        .filter(|e| e.kind() == io::ErrorKind::InvalidData);
    let _ = stream.shutdown(Shutdown::Both);
    end(pool, index, bad.map(|e| format!("sent a bad frame ({e})")));
}

// ANCHOR: send
/// The sender: sends the initializer first, then hands over whatever the
/// other threads leave to it (items too big for them to write without
/// blocking; at first, what was queued before the worker connected), and
/// retires its worker when it must. In the steady state it sleeps: the
/// submitting thread and the receiver hand items over themselves
/// (`hand_over`), sparing a wake-up per item.
fn send(pool: &Pool, index: usize, stream: &UnixStream) {
    if let Some((task, args)) = &pool.initializer {
        let mut out = BufWriter::new(stream);
        let init = ToWorker::Init {
            task: (*task).to_owned(),
            args: args.clone(),
        };
        if init.write(&mut out).and_then(|()| out.flush()).is_err() {
            let _ = stream.shutdown(Shutdown::Both);
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
        let done = st.broken.is_some() || retiring || (st.shutdown && st.queue.is_empty());
        // Never close the socket under another thread's write.
        if done && !slot.writing {
            break;
        }
        st.workers[index].sender_waiting = true;
        st = wake.wait(st).unwrap_or_else(PoisonError::into_inner);
        st.workers[index].sender_waiting = false;
    }
    retire(pool, index, st);
    // Closing our half is the worker's signal to exit.
    let _ = stream.shutdown(Shutdown::Write);
}
// ANCHOR_END: send

/// The sender is done with its worker: it no longer counts against
/// `max_workers`, and a replacement starts at once if work is waiting
/// (CPython could hang here, gh-115634).
fn retire(pool: &Pool, index: usize, mut st: MutexGuard<'_, State>) {
    let slot = &mut st.workers[index];
    if slot.phase == Phase::Serving {
        slot.phase = Phase::Closing;
        st.live -= 1;
    }
    if st.wants_worker(pool.max_workers) {
        if let Err(e) = start_worker(pool, &mut st) {
            if st.live == 0 {
                let why = e.to_string();
                let owed = st.break_pool(why);
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
fn receive(pool: &Shared, index: usize, stream: &UnixStream) -> io::Result<()> {
    let mut input = BufReader::new(stream);
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
    input: &mut BufReader<&UnixStream>,
    done: &mut Done,
) -> io::Result<()> {
    while let Some(msg) = FromWorker::read(input)? {
        let mut st = lock(&pool.state);
        match msg {
            FromWorker::Done { id, outcome } => {
                let broken = st.broken.is_some();
                let slot = &mut st.workers[index];
                match slot.complete(id) {
                    Some(f) => done.push((f.reply, outcome)),
                    // After a break, the futures were already failed.
                    _ if broken => {}
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
                let (st, _) = hand_over(pool, index, st, true);
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
            }
            FromWorker::Hello { .. } => return Err(bad_data("a second hello".into())),
        }
    }
    Ok(())
}
// ANCHOR_END: receive

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
/// The connection ended. If we had asked the worker to leave and it owed
/// nothing, that is a normal exit. Otherwise it died (or misbehaved): the
/// pool breaks, and every future it still owes fails with the reason.
fn end(pool: &Shared, index: usize, bad: Option<String>) {
    let mut st = lock(&pool.state);
    let slot = &mut st.workers[index];
    let was = std::mem::replace(&mut slot.phase, Phase::Gone);
    slot.stream = None;
    if bad.is_none() && was == Phase::Closing && slot.in_flight.is_empty() {
        return; // a retirement: `retire` already stopped counting it as live
    }
    // A death. It stays counted in `live` until the pool is broken below, so
    // that no replacement can start meanwhile and run work the break must fail.
    // Its socket closed because it exited: the reaper is about to know how.
    // A write to it (by its sender or a submitting thread) is about to fail
    // (or has just succeeded): wait for it too, so the report knows what
    // reached the worker.
    st.workers[index].death_pending = true;
    while (bad.is_none() && st.workers[index].status.is_none()) || st.workers[index].writing {
        st = pool
            .changed
            .wait(st)
            .unwrap_or_else(PoisonError::into_inner);
    }
    let slot = &st.workers[index];
    let how = match &bad {
        Some(what) => what.clone(),
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
