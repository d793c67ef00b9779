//! Article §1.4, "Shutdown Pool after Completion", and §4, "Thread/Process
//! Pools as Context Managers"; the code is `src/shutdown.rs`.
//!
//! The story: `shutdown()` closes the door to new work but lets every task
//! already submitted run, queued ones included, and waits for them. Doing it
//! twice is harmless. `cancel_futures` drops what has not started yet. The
//! end of a scope does the same as `shutdown()`, which is how Rust spells
//! Python's `with` block. And a task may shut its own pool down without
//! waiting for itself forever.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;

use common::{held_pool, Gate, BOUND};
use concurrent_futures::{Error, Future, Shutdown, ThreadPoolExecutor};

/// Submits `n` tasks that count themselves in `ran`.
fn submit_counted(pool: &ThreadPoolExecutor, n: usize, ran: &Arc<AtomicUsize>) -> Vec<Future<()>> {
    (0..n)
        .map(|_| {
            let ran = Arc::clone(ran);
            pool.submit(move || {
                ran.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap()
        })
        .collect()
}

#[test]
fn shutdown_keeps_queued_tasks_and_waits_for_them() {
    let gate = Gate::new();
    let (pool, blocker) = held_pool(&gate);
    let ran = Arc::new(AtomicUsize::new(0));
    let queued = submit_counted(&pool, 5, &ran);

    // Shut the door without waiting: the five queued tasks are neither
    // dropped nor cancelled, just not started yet.
    pool.shutdown_with(Shutdown {
        wait: false,
        cancel_futures: false,
    });
    assert_eq!(pool.submit(|| ()).unwrap_err(), Error::Shutdown);
    assert!(queued.iter().all(|f| !f.done() && !f.cancelled()));

    // Now wait. Another thread releases the worker once this one is on its
    // way into `shutdown()`, which must not return before all five ran.
    let (going_tx, going) = mpsc::channel();
    let opener = thread::spawn({
        let gate = Arc::clone(&gate);
        move || {
            going.recv_timeout(BOUND).unwrap();
            gate.open();
        }
    });
    going_tx.send(()).unwrap();
    pool.shutdown();
    assert_eq!(ran.load(Ordering::SeqCst), 5);
    assert!(blocker.done());
    assert!(queued.iter().all(|f| f.done() && !f.cancelled()));
    opener.join().unwrap();
}

#[test]
fn shutdown_is_idempotent() {
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let f = pool.submit(|| 1).unwrap();
    pool.shutdown();
    pool.shutdown();
    pool.shutdown_with(Shutdown {
        wait: false,
        cancel_futures: true,
    });
    assert_eq!(f.result_timeout(BOUND), Ok(1));
    assert_eq!(pool.submit(|| 2).unwrap_err(), Error::Shutdown);
    // ...and the `Drop` at the end of the test is a fourth call.
}

#[test]
fn shutdown_of_an_unused_pool_returns_at_once() {
    let pool = ThreadPoolExecutor::new(3).unwrap();
    pool.shutdown();
    assert_eq!(pool.threads_started(), 0);
}

#[test]
fn submit_after_shutdown_is_an_error() {
    // Python: RuntimeError('cannot schedule new futures after shutdown').
    let pool = ThreadPoolExecutor::new(1).unwrap();
    pool.shutdown();
    let e = pool.submit(|| ()).unwrap_err();
    assert_eq!(e, Error::Shutdown);
    assert_eq!(e.to_string(), "cannot schedule new futures after shutdown");
}

#[test]
fn cancel_futures_cancels_what_has_not_started() {
    let gate = Gate::new();
    let (pool, blocker) = held_pool(&gate);
    let ran = Arc::new(AtomicUsize::new(0));
    let queued = submit_counted(&pool, 5, &ran);

    pool.shutdown_with(Shutdown {
        wait: false,
        cancel_futures: true,
    });
    // The queued ones are cancelled at once; the running one cannot be.
    for f in &queued {
        assert!(f.cancelled());
        assert_eq!(f.result_timeout(BOUND), Err(Error::Cancelled));
    }
    assert!(blocker.running());

    gate.open();
    pool.shutdown();
    assert_eq!(blocker.result_timeout(BOUND), Ok(()));
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

#[test]
fn the_end_of_a_scope_is_shutdown() {
    // Python's `with ThreadPoolExecutor(...) as pool:` block: leaving it
    // waits for every task submitted inside, queued ones included.
    let gate = Gate::new();
    let ran = Arc::new(AtomicUsize::new(0));
    let (going_tx, going) = mpsc::channel();
    let opener = thread::spawn({
        let gate = Arc::clone(&gate);
        move || {
            going.recv_timeout(BOUND).unwrap();
            gate.open();
        }
    });
    let futures = {
        let (pool, blocker) = held_pool(&gate);
        let mut futures = submit_counted(&pool, 5, &ran);
        futures.push(blocker);
        going_tx.send(()).unwrap();
        futures
        // `pool` is dropped here.
    };
    assert_eq!(ran.load(Ordering::SeqCst), 5);
    assert!(futures.iter().all(|f| f.done()));
    opener.join().unwrap();
}

#[test]
fn shutdown_inside_the_pools_own_task_does_not_deadlock() {
    // CPython raises "cannot join current thread" here; we skip joining the
    // calling thread instead. The task must return, and so must the caller.
    let pool = Arc::new(ThreadPoolExecutor::new(2).unwrap());
    let inner = Arc::clone(&pool);
    let f = pool
        .submit(move || {
            inner.shutdown();
            inner.submit(|| ()).unwrap_err()
        })
        .unwrap();
    assert_eq!(f.result_timeout(BOUND), Ok(Error::Shutdown));
    assert_eq!(pool.submit(|| ()).unwrap_err(), Error::Shutdown);
}

#[test]
fn the_last_handle_dropped_inside_a_task_does_not_deadlock() {
    // The task owns the only handle left, so `Drop` (and with it `shutdown`)
    // runs on a worker thread of the very pool it shuts down.
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let (handle_tx, handle_rx) = mpsc::channel::<ThreadPoolExecutor>();
    let (done_tx, done) = mpsc::channel();
    let f = pool
        .submit(move || {
            let pool = handle_rx.recv_timeout(BOUND).unwrap();
            drop(pool);
            done_tx.send(()).unwrap();
        })
        .unwrap();
    handle_tx.send(pool).unwrap();
    done.recv_timeout(BOUND).unwrap();
    assert_eq!(f.result_timeout(BOUND), Ok(()));
}
