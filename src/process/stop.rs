//! Stopping one running item: `Future::kill` and per-item time limits
//! (`submit_with`, `map_with`'s `task_timeout`), pebble's one feature that
//! CPython lacks. The only way to stop code running in a worker is to kill
//! the worker, so that is what [`stop`] does; the receiver then sees its
//! stream end and replaces it (`serve::end`).
//!
//! Exactly one outcome per item: an item leaves its worker's `in_flight`
//! list under the pool's lock, either because its result arrived (the
//! receiver) or because it was stopped (here). Whoever takes it completes
//! its future; the other finds it gone and does nothing.
//!
//! | item in the killed worker | what becomes of it |
//! |---|---|
//! | the one stopped | fails with `Error::Killed` at once |
//! | its result was read before the worker's end | completes as usual |
//! | any other (held, not finished) | back to the front of the queue, run again by another worker |
//!
//! An item put back in the queue is still RUNNING as far as its future
//! knows; `kill` on it answers `false` until a worker holds it again (its
//! hook is installed anew at each hand-over).

use std::sync::PoisonError;
use std::time::Instant;

use super::state::{KillTarget, Phase, Pool, Shared, State};
use crate::future::lock;
use crate::Error;

// ANCHOR: stop
/// Stops item `id` if worker `index` still holds it: takes it off the
/// worker, kills the worker (std's `Child::kill`), and fails the item's
/// future with `Error::Killed` saying `why`. False if the item's own
/// outcome came first.
pub(crate) fn stop(pool: &Shared, index: usize, id: u64, why: &str) -> bool {
    let mut st = lock(&pool.state);
    let slot = &mut st.workers[index];
    let Some(at) = slot.in_flight.iter().position(|f| f.id == id) else {
        return false;
    };
    let item = slot.in_flight.remove(at).expect("just found");
    let error = Error::Killed {
        message: format!(
            "`{}` (work item {id}) was stopped because {why}: its worker {index} (pid {}) \
             was killed, and a fresh worker replaces it",
            item.task, slot.pid
        ),
    };
    slot.killed.get_or_insert_with(|| error.clone());
    slot.kill();
    // Its sender may be sleeping: it must see `killed` and end.
    pool.wake_senders(&st);
    drop(st);
    // Outside the lock: completing the future runs its callbacks.
    item.reply.finish(Err(error));
    true
}
// ANCHOR_END: stop

/// What the kill hook of item `id`, installed when it is handed to worker
/// `index`, stops when `Future::kill` calls it while the future runs.
pub(crate) fn target(pool: &Shared, index: usize, id: u64) -> KillTarget {
    KillTarget {
        pool: pool.me.clone(),
        index,
        id,
        stop: |pool, index, id| stop(pool, index, id, "kill() was called"),
    }
}

// ANCHOR: watch
/// Starts the pool's deadline watcher, once, when the first timed item is
/// submitted.
///
/// One thread per pool rather than one per item: a thousand timed items
/// cost one sleeping thread, and it sleeps until the earliest deadline, so
/// an idle pool makes no system call. Not the workers' senders: a sender
/// ends once it has told its worker to retire, while that worker may
/// still run a timed item.
pub(crate) fn start_watch(pool: &Pool, st: &mut State) -> Result<(), Error> {
    if st.timer {
        return Ok(());
    }
    let p = Pool::clone(pool);
    pool.thread(st, "process-deadlines".into(), move || watch(&p))
        .map_err(|e| {
            Error::invalid_argument(format!(
                "could not start the thread that enforces timeouts (out of threads?): {e}"
            ))
        })?;
    st.timer = true;
    Ok(())
}

/// The watcher: sleeps on `changed` until the earliest deadline of a
/// running item, and stops each item whose deadline has passed. Whoever
/// hands over a timed item signals `changed`, as does every thread of the
/// pool that ends; so it ends itself once the pool is shut down and it is
/// the last thread left.
fn watch(pool: &Shared) {
    let mut st = lock(&pool.state);
    loop {
        if st.shutdown && st.threads == 1 {
            return;
        }
        let now = Instant::now();
        let mut expired = Vec::new();
        let mut next: Option<Instant> = None;
        for (index, w) in st.workers.iter().enumerate() {
            // A worker killed already is being replaced: nothing to watch.
            if w.killed.is_some() || w.phase == Phase::Gone {
                continue;
            }
            for f in &w.in_flight {
                match (f.deadline, f.timeout) {
                    (Some(d), Some(t)) if d <= now => expired.push((index, f.id, t)),
                    (Some(d), _) => next = Some(next.map_or(d, |n| n.min(d))),
                    _ => {}
                }
            }
        }
        if !expired.is_empty() {
            drop(st);
            for (index, id, t) in expired {
                stop(pool, index, id, &format!("its timeout of {t:?} ran out"));
            }
            st = lock(&pool.state);
            continue;
        }
        st = match next {
            Some(d) => {
                let wait = d.saturating_duration_since(now);
                let woken = pool.changed.wait_timeout(st, wait);
                woken.unwrap_or_else(PoisonError::into_inner).0
            }
            None => pool
                .changed
                .wait(st)
                .unwrap_or_else(PoisonError::into_inner),
        };
    }
}
// ANCHOR_END: watch
