//! One connected worker, seen from the parent: a sender thread that hands it
//! work items, a receiver thread that completes their futures, and what
//! happens when the connection ends.

use std::io::{self, BufReader, BufWriter, Write};
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, MutexGuard, PoisonError};

use super::frame::{FromWorker, ToWorker};
use super::pool::{InFlight, Phase, Pool, Shared, State};
use super::spawn::{start_worker, thread};
use super::status::describe;
use crate::future::lock;

/// Starts the sender, then receives until the connection ends.
pub(crate) fn serve(pool: &Pool, index: usize, stream: UnixStream) {
    let (Ok(for_reaper), Ok(for_sender)) = (stream.try_clone(), stream.try_clone()) else {
        return end(pool, index, Some("could not share its socket".into()));
    };
    {
        let mut st = lock(&pool.state);
        let slot = &mut st.workers[index];
        slot.stream = Some(for_reaper);
        slot.phase = Phase::Serving;
        let p = Arc::clone(pool);
        let name = format!("process-sender-{index}");
        if thread(pool, &mut st, name, move || send(&p, index, for_sender)).is_err() {
            drop(st);
            let _ = stream.shutdown(Shutdown::Both);
            return end(
                pool,
                index,
                Some("could not start its sender thread".into()),
            );
        }
        // A sender now exists to take queued work.
        pool.wake_senders(&st);
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
/// The sender: waits until its worker is free and an item is queued, and
/// hands it over. This is where a future becomes RUNNING (or, if it was
/// cancelled while queued, is skipped).
fn send(pool: &Pool, index: usize, stream: UnixStream) {
    let mut out = BufWriter::new(&stream);
    if let Some((task, args)) = &pool.initializer {
        let task = (*task).to_owned();
        let args = args.clone();
        if (ToWorker::Init { task, args })
            .write(&mut out)
            .and_then(|()| out.flush())
            .is_err()
        {
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
    }
    let mut st = lock(&pool.state);
    loop {
        let slot = &st.workers[index];
        let retiring = pool.max_tasks_per_child.is_some_and(|n| slot.sent >= n);
        if st.broken.is_some() || retiring {
            break;
        }
        let item = match st.queue.front() {
            Some(_) if slot.has_room() => st.queue.pop_front(),
            None if st.shutdown => break,
            _ => None,
        };
        let Some(item) = item else {
            st.sleeping += 1;
            st = pool
                .work_ready
                .wait(st)
                .unwrap_or_else(PoisonError::into_inner);
            st.sleeping -= 1;
            continue;
        };
        if !item.reply.start() {
            continue; // cancelled while queued
        }
        let (id, task, reply) = (item.id, item.task, item.reply);
        let slot = &mut st.workers[index];
        slot.sent += 1;
        slot.in_flight.push_back(InFlight {
            id,
            task,
            reply,
            delivered: true,
            sent: std::time::Instant::now(),
        });
        // Never write under the lock: a busy worker's socket may be full.
        slot.writing = true;
        drop(st);
        let (task, chunk, payload) = (task.to_owned(), item.chunk, item.payload);
        let call = ToWorker::Call {
            id,
            task,
            chunk,
            payload,
        };
        let written = call.write(&mut out).and_then(|()| out.flush());
        st = lock(&pool.state);
        let slot = &mut st.workers[index];
        slot.writing = false;
        if written.is_err() {
            // The worker is gone and never got this item: a report of its
            // death must not say it was running it.
            if let Some(f) = slot.in_flight.back_mut() {
                f.delivered = false;
            }
        }
        if slot.death_pending {
            pool.changed.notify_all();
        }
        if written.is_err() {
            drop(st);
            // Ending our reads too lets the receiver report the death.
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
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
/// The receiver: completes each future as its result arrives. `Ok` when the
/// worker closed the connection, `Err` for a frame that makes no sense.
fn receive(pool: &Shared, index: usize, stream: &UnixStream) -> io::Result<()> {
    let mut input = BufReader::new(stream);
    while let Some(msg) = FromWorker::read(&mut input)? {
        let mut st = lock(&pool.state);
        match msg {
            FromWorker::Done { id, outcome } => {
                let broken = st.broken.is_some();
                let slot = &mut st.workers[index];
                let reply = match slot.complete(id) {
                    Some(f) => Some(f.reply),
                    // After a break, the futures were already failed.
                    _ if broken => None,
                    _ => return Err(bad_data(format!("a result for unknown item {id}"))),
                };
                // Room for one more: wake senders before publishing, so the
                // caller woken by this result finds the worker free (three
                // sequential submit/result calls use one process).
                pool.wake_senders(&st);
                drop(st);
                if let Some(reply) = reply {
                    reply.finish(outcome);
                }
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
                pool.work_ready.notify_all();
                drop(st);
                owed.fail();
            }
            FromWorker::Hello { .. } => return Err(bad_data("a second hello".into())),
        }
    }
    Ok(())
}
// ANCHOR_END: receive

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
    if was != Phase::Closing {
        st.live -= 1;
    }
    if bad.is_none() && was == Phase::Closing && st.workers[index].in_flight.is_empty() {
        return;
    }
    // Its socket closed because it exited: the reaper is about to know how.
    // A write of the sender's is about to fail (or has just succeeded):
    // wait for it too, so the report knows what reached the worker.
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
    pool.work_ready.notify_all();
    drop(st);
    owed.fail();
}
// ANCHOR_END: death
