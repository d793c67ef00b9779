//! Scheduling: which worker gets which queued item, and handing it over.
//! Whichever thread finds a worker with room does it (the submitting
//! thread, the worker's receiver after a result, or the worker's sender),
//! so in the steady state no thread is woken just to pass an item along.
//!
//! The rule (issue 13, item 8): a worker's first item goes to it whenever
//! it is idle; a second, third, fourth item (only for a worker whose tasks
//! are short) go to it only while no other worker is idle. And when a
//! worker falls idle with nothing queued, every worker holding items it
//! has not started is asked for them back ([`recall_if_idle`]), so a long
//! item never holds short ones hostage while a process sits free: what
//! CPython's single shared queue gives for free.

use std::io::{self, Write};
use std::sync::MutexGuard;
use std::time::Instant;

use super::conn::Conn;
use super::frame::{call_len, write_call, ToWorker};
use super::state::{InFlight, Shared, State, SMALL_FRAME};
use super::stop;
use crate::future::lock;

/// An item on its way out, its future already running.
struct Call {
    id: u64,
    task: &'static str,
    chunk: bool,
    payload: Vec<u8>,
}

// ANCHOR: hand_over
/// Hands worker `index` queued items while it has room, writing them
/// without the lock. Where an item leaves the queue, its future becomes
/// RUNNING (or, if it was cancelled while queued, it is skipped).
///
/// `small_only`: the caller must not block (a submitter, a receiver), so it
/// writes only small frames behind small frames, which fit in the socket's
/// buffer; anything else is left for the sender. Only the thread that set
/// `writing` writes, so frames never interleave, and a death report waits
/// for it to learn what was delivered. Returns false if the write failed:
/// the worker is gone, and the connection is shut so its receiver sees it.
pub(crate) fn hand_over<'a>(
    pool: &'a Shared,
    index: usize,
    mut st: MutexGuard<'a, State>,
    small_only: bool,
) -> (MutexGuard<'a, State>, bool) {
    let mut wrote = false;
    loop {
        if !st.workers[index].takes_work() || st.broken.is_some() {
            break;
        }
        let mut calls = Vec::new();
        let mut timed = false;
        while let Some(item) = st.queue.front() {
            let slot = &st.workers[index];
            let small = item.payload.len() <= SMALL_FRAME;
            let retiring = pool.max_tasks_per_child.is_some_and(|n| slot.sent >= n);
            let behind_small = slot.in_flight.iter().all(|f| f.small);
            if !slot.has_room() || retiring || (small_only && !(small && behind_small)) {
                break;
            }
            // Beyond its first item, only if no other worker could start it now.
            if !slot.in_flight.is_empty() && other_idle(&st, index) {
                break;
            }
            // A timed item only to a worker holding nothing: its clock
            // starts now, so it must start now, not behind another item.
            if item.timeout.is_some() && !slot.in_flight.is_empty() {
                break;
            }
            let item = st.queue.pop_front().expect("just seen");
            // Before it is seen running, so that `Future::kill` always
            // reaches it (a hook on a future that gets cancelled is dropped).
            item.reply.arm(stop::target(pool, index, item.id));
            if !item.started && !item.reply.start() {
                continue; // cancelled while queued
            }
            let sent = Instant::now();
            let deadline = item.timeout.map(|t| sent + t);
            timed |= deadline.is_some();
            let slot = &mut st.workers[index];
            slot.sent += 1;
            slot.in_flight.push_back(InFlight {
                id: item.id,
                task: item.task,
                reply: item.reply,
                delivered: true,
                sent,
                small,
                chunk: item.chunk,
                payload: Vec::new(),
                timeout: item.timeout,
                deadline,
            });
            calls.push(Call {
                id: item.id,
                task: item.task,
                chunk: item.chunk,
                payload: item.payload,
            });
        }
        if calls.is_empty() {
            break;
        }
        wrote = true;
        if timed {
            pool.changed.notify_all(); // the deadline watcher, `stop::watch`
        }
        // Never write under the lock: a busy worker's socket may be full.
        let slot = &mut st.workers[index];
        slot.writing = true;
        let writer = slot.writer.clone().expect("a serving worker has a writer");
        drop(st);
        let (whole, written) = write_calls(&writer, &calls);
        st = lock(&pool.state);
        let slot = &mut st.workers[index];
        slot.writing = false;
        if written.is_err() {
            // These never reached the worker: a report of its death must
            // not say it was running them.
            for f in &mut slot.in_flight {
                if calls[whole..].iter().any(|c| c.id == f.id) {
                    f.delivered = false;
                }
            }
        }
        // Kept until done: if this worker is killed to stop another item,
        // these go back to the queue (see `stop.rs`).
        for call in calls {
            if let Some(f) = slot.in_flight.iter_mut().find(|f| f.id == call.id) {
                f.payload = call.payload;
            }
        }
        if slot.death_pending {
            pool.changed.notify_all();
        }
        if written.is_err() {
            // Ending our reads too lets the receiver report the death.
            writer.close();
            pool.wake_senders(&st);
            return (st, false);
        }
    }
    if wrote {
        // While we wrote, a worker may have fallen idle and looked for
        // items to take back, and skipped this one (it was being written
        // to): nobody else would look again.
        st = recall_if_idle(pool, st).0;
    }
    pool.wake_senders(&st);
    (st, true)
}
// ANCHOR_END: hand_over

/// Offers the queue to every worker with room, idle ones first, from a
/// thread that must not block (the submitting one).
pub(crate) fn feed<'a>(pool: &'a Shared, mut st: MutexGuard<'a, State>) -> MutexGuard<'a, State> {
    let mut free: Vec<(usize, usize)> = st
        .workers
        .iter()
        .enumerate()
        .filter(|(_, s)| s.takes_work() && s.has_room())
        .map(|(i, s)| (s.in_flight.len(), i))
        .collect();
    free.sort_unstable();
    for (_, index) in free {
        if st.queue.is_empty() {
            break;
        }
        st = hand_over(pool, index, st, true).0;
    }
    st
}

// ANCHOR: recall
/// Some worker is idle and nothing is queued: asks each worker that holds
/// items it has not started to give them back (`Recall`); its receiver
/// puts them back at the front of the queue, where the idle worker takes
/// them. Cheap in the steady state: a queue that is not empty returns at
/// once, and so does a pool where no worker holds more than one item.
/// A holder that another thread is writing to is skipped (frames must not
/// interleave); that thread asks again when its write ends (`hand_over`).
///
/// Returns whether it wrote (and so let go of the lock meanwhile: a caller
/// about to sleep must look again at what changed).
pub(crate) fn recall_if_idle<'a>(
    pool: &'a Shared,
    mut st: MutexGuard<'a, State>,
) -> (MutexGuard<'a, State>, bool) {
    if !st.queue.is_empty() || st.broken.is_some() || !st.workers.iter().any(|s| s.idle()) {
        return (st, false);
    }
    let holders: Vec<usize> = (st.workers.iter().enumerate())
        .filter(|(_, s)| s.in_flight.len() >= 2 && !s.recalling && s.takes_work())
        .map(|(i, _)| i)
        .collect();
    let mut wrote = false;
    for index in holders {
        if !st.workers[index].takes_work() {
            continue;
        }
        st.workers[index].recalling = true;
        let mut frame = Vec::new();
        let _ = ToWorker::Recall.write(&mut frame);
        st = write_one(pool, index, st, &frame);
        wrote = true;
    }
    (st, wrote)
}
// ANCHOR_END: recall

/// Writes a small frame to worker `index` without the lock, as the one
/// writer (see `hand_over`).
fn write_one<'a>(
    pool: &'a Shared,
    index: usize,
    mut st: MutexGuard<'a, State>,
    frame: &[u8],
) -> MutexGuard<'a, State> {
    let slot = &mut st.workers[index];
    let Some(writer) = slot.writer.clone() else {
        return st;
    };
    slot.writing = true;
    drop(st);
    let written = (&*writer).write_all(frame);
    st = lock(&pool.state);
    let slot = &mut st.workers[index];
    slot.writing = false;
    if slot.death_pending {
        pool.changed.notify_all();
    }
    if written.is_err() {
        writer.close(); // its receiver reports the death
    }
    pool.wake_senders(&st);
    st
}

/// Whether a worker other than `index` is idle and could take an item.
fn other_idle(st: &State, index: usize) -> bool {
    st.workers
        .iter()
        .enumerate()
        .any(|(i, s)| i != index && s.idle())
}

/// Writes the calls' frames, small ones gathered into one system call.
/// Returns how many went out whole, and the error that stopped the rest.
fn write_calls(stream: &Conn, calls: &[Call]) -> (usize, io::Result<()>) {
    let mut out = Counted { w: stream, n: 0 };
    let mut gathered = Vec::new();
    let result = calls.iter().try_for_each(|c| {
        if c.payload.len() <= SMALL_FRAME {
            write_call(&mut gathered, c.id, c.task, c.chunk, &c.payload)
        } else {
            // Not copied: its bytes go straight from its own buffer.
            out.write_all(&gathered)?;
            gathered.clear();
            write_call(&mut out, c.id, c.task, c.chunk, &c.payload)
        }
    });
    let result = result.and_then(|()| out.write_all(&gathered));
    let mut end = 0;
    let whole = calls
        .iter()
        .take_while(|c| {
            end += call_len(c.task, &c.payload);
            end <= out.n
        })
        .count();
    (whole, result)
}

/// Counts the bytes the socket accepted, to tell which frames got through.
struct Counted<'a> {
    w: &'a Conn,
    n: usize,
}

impl Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut w = self.w;
        let n = w.write(buf)?;
        self.n += n;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
