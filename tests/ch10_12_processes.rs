//! Article §10-§12 on processes: done callbacks, `as_completed` and `wait`
//! with futures that worker processes complete. The code is the shared
//! `src/callbacks.rs`, `src/as_completed.rs` and `src/wait.rs`; what is new
//! here is who completes the futures: the pool's receiver threads in
//! `src/process/conn.rs`, as results come back over the socket.
//!
//! The story: a process future is a `Future` like any other. Its callbacks
//! run in order, once, in the thread that completes it (a receiver thread of
//! the pool, never a worker process), or at once here if it is already
//! done; a callback may even submit more work to the same pool. `as_completed`
//! and `wait` see process futures complete, fail, time out and get cancelled
//! exactly as thread futures do.

mod common;

use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::remote::{wait_at, RemoteGate};
use common::{thread_name, AbandonOnPanic, BOUND};
use concurrent_futures::process::{Registered, Task};
use concurrent_futures::{
    as_completed, as_completed_timeout, wait, wait_timeout, DoneAndNotDone, Error, Future,
    ProcessPoolExecutor, ReturnWhen,
};

fn cube(x: u64) -> u64 {
    x.pow(3)
}

/// `(gate, x)`: waits at the test's gate, then returns `x`.
fn held((gate, x): (String, u64)) -> u64 {
    wait_at(&gate);
    x
}

/// `(gate, x)`: waits at the test's gate, then panics.
fn held_then_panic((gate, x): (String, u64)) -> u64 {
    wait_at(&gate);
    panic!("task {x} failed");
}

const CUBE: Task<u64, u64> = Task::new("cube", cube);
const HELD: Task<(String, u64), u64> = Task::new("held", held);
const HELD_THEN_PANIC: Task<(String, u64), u64> = Task::new("held_then_panic", held_then_panic);
const TASKS: &[&dyn Registered] = &[&CUBE, &HELD, &HELD_THEN_PANIC];

concurrent_futures::worker_test!(TASKS);

/// A one-worker pool running a task held at `gate`: anything submitted after
/// it waits its turn, in order. Returns once the held task is running.
fn held_pool(gate: &RemoteGate) -> (ProcessPoolExecutor, Future<u64>) {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let blocker = pool.submit(&HELD, (gate.arg(), 0)).unwrap();
    gate.arrived();
    (pool, blocker)
}

/// Runs `wait` on another thread so that a bug fails the test after
/// `BOUND` instead of hanging it.
fn wait_within<T: Send + 'static>(fs: &[Future<T>], when: ReturnWhen) -> DoneAndNotDone<T> {
    let fs = fs.to_vec();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || tx.send(wait(&fs, when)));
    rx.recv_timeout(BOUND).expect("wait did not return in time")
}

// ---- §10: callbacks ----

#[test]
fn each_callback_gets_its_result_as_in_the_article() {
    // The callbacks read their future in a thread of the pool; should that
    // deadlock, the guard keeps the pool's `Drop` from hanging the run.
    let pool = AbandonOnPanic::new(ProcessPoolExecutor::new(2).unwrap());
    let (tx, rx) = mpsc::channel();
    for i in 1..=10 {
        let f = pool.submit(&CUBE, i).unwrap();
        let tx = tx.clone();
        f.add_done_callback(move |f| tx.send(f.result()).unwrap());
    }
    let mut cubes: Vec<u64> = (0..10)
        .map(|_| rx.recv_timeout(BOUND).unwrap().unwrap())
        .collect();
    cubes.sort_unstable();
    assert_eq!(cubes, (1..=10).map(cube).collect::<Vec<_>>());
}

#[test]
fn callbacks_run_in_order_once_in_the_thread_that_completes_the_future() {
    let gate = RemoteGate::new();
    let (pool, blocker) = held_pool(&gate);
    let pool = AbandonOnPanic::new(pool);
    let (tx, rx) = mpsc::channel();
    for n in 1..=3 {
        let tx = tx.clone();
        blocker.add_done_callback(move |f| tx.send((n, thread_name(), f.result())).unwrap());
    }
    gate.open();
    let calls: Vec<_> = (0..3).map(|_| rx.recv_timeout(BOUND).unwrap()).collect();
    let order: Vec<i32> = calls.iter().map(|(n, _, _)| *n).collect();
    assert_eq!(order, [1, 2, 3]);
    for (_, name, result) in &calls {
        // A thread of the pool in this process, not the test's own.
        assert_ne!(*name, thread_name());
        assert_eq!(*result, Ok(0));
    }
    // Exactly once: nothing more arrives, even after the pool is gone.
    drop(pool);
    assert!(rx.try_recv().is_err());
}

#[test]
fn a_callback_on_a_done_process_future_runs_at_once_here() {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let f = pool.submit(&CUBE, 2).unwrap();
    f.result_timeout(BOUND).unwrap();
    let seen = Arc::new(Mutex::new(None));
    let s = Arc::clone(&seen);
    f.add_done_callback(move |f| *s.lock().unwrap() = Some((thread_name(), f.result())));
    assert_eq!(*seen.lock().unwrap(), Some((thread_name(), Ok(8))));
}

#[test]
fn cancelling_a_queued_process_future_runs_its_callbacks_in_the_cancelling_thread() {
    // Behind the held task, the last of five is certainly still queued in
    // this process: a worker busy with a long task is handed nothing more
    // (and never more than a few items at once).
    let gate = RemoteGate::new();
    let (pool, _blocker) = held_pool(&gate);
    let queued: Vec<_> = (1..=5).map(|x| pool.submit(&CUBE, x).unwrap()).collect();
    let last = queued.last().unwrap();
    let (tx, rx) = mpsc::channel();
    last.add_done_callback(move |f| tx.send((thread_name(), f.cancelled())).unwrap());
    assert!(last.cancel());
    assert_eq!(rx.try_recv(), Ok((thread_name(), true)));
    gate.open();
    assert_eq!(queued[0].result_timeout(BOUND), Ok(1));
}

#[test]
fn a_panicking_callback_stops_neither_the_later_ones_nor_the_pool() {
    let gate = RemoteGate::new();
    let (pool, blocker) = held_pool(&gate);
    let pool = AbandonOnPanic::new(pool);
    let (tx, rx) = mpsc::channel();
    let t = tx.clone();
    blocker.add_done_callback(move |_| t.send("first").unwrap());
    blocker.add_done_callback(|_| panic!("callback failed"));
    blocker.add_done_callback(move |_| tx.send("third").unwrap());
    gate.open();
    assert_eq!(rx.recv_timeout(BOUND), Ok("first"));
    assert_eq!(rx.recv_timeout(BOUND), Ok("third"));
    // The thread that ran them still delivers results.
    assert_eq!(pool.submit(&CUBE, 3).unwrap().result_timeout(BOUND), Ok(27));
}

#[test]
fn a_callback_may_read_its_future_and_submit_to_the_same_pool() {
    // The callback runs in a thread of the pool with no lock held, so it can
    // call `result()` on its own future and `submit` more work.
    let pool = Arc::new(ProcessPoolExecutor::new(1).unwrap());
    let (tx, rx) = mpsc::channel();
    let p = Arc::clone(&pool);
    let first = pool.submit(&CUBE, 2).unwrap();
    first.add_done_callback(move |f| {
        let value = f.result().unwrap();
        tx.send(p.submit(&CUBE, value)).unwrap();
    });
    let second = rx.recv_timeout(BOUND).unwrap().unwrap();
    assert_eq!(second.result_timeout(BOUND), Ok(512));
}

// ---- §11: as_completed ----

#[test]
fn as_completed_yields_process_futures_in_completion_order() {
    // One worker runs its queue in order: f0 (held), then f1, then f2. Asked
    // for in the reverse order, they still come out as they complete.
    let gate = RemoteGate::new();
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let f0 = pool.submit(&HELD, (gate.arg(), 1)).unwrap();
    let f1 = pool.submit(&CUBE, 2).unwrap();
    let f2 = pool.submit(&CUBE, 3).unwrap();
    let fs = [f2.clone(), f1.clone(), f0.clone()];
    let it = as_completed_timeout(&fs, BOUND);
    gate.arrived();
    gate.open();
    let order: Vec<Future<u64>> = it.map(Result::unwrap).collect();
    assert_eq!(order, [f0, f1, f2]);

    // Once all are done, they come in the order asked for.
    let again: Vec<Future<u64>> = as_completed(&fs).map(Result::unwrap).collect();
    assert_eq!(again, fs);
}

#[test]
fn as_completed_times_out_on_a_process_future() {
    let gate = RemoteGate::new();
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let done = pool.submit(&CUBE, 2).unwrap();
    done.result_timeout(BOUND).unwrap();
    let held = pool.submit(&HELD, (gate.arg(), 1)).unwrap();
    gate.arrived();

    let start = Instant::now();
    let mut it = as_completed_timeout(&[held.clone(), done.clone()], Duration::from_millis(200));
    assert_eq!(it.next().unwrap().unwrap(), done);
    let e = it.next().unwrap().unwrap_err();
    assert!(start.elapsed() >= Duration::from_millis(200));
    assert_eq!(e.to_string(), "1 (of 2) futures unfinished");
    assert!(matches!(e, Error::Timeout { .. }));
    assert!(it.next().is_none());
    assert!(!held.done());
    gate.open();
    assert_eq!(held.result_timeout(BOUND), Ok(1));
}

#[test]
fn a_cancelled_process_future_comes_out_of_as_completed_at_once() {
    // The deliberate difference from CPython, on processes: the worker is
    // busy, and still the cancelled future is yielded at once.
    let gate = RemoteGate::new();
    let (pool, blocker) = held_pool(&gate);
    let queued: Vec<_> = (1..=5).map(|x| pool.submit(&CUBE, x).unwrap()).collect();
    let last = queued.last().unwrap().clone();
    let mut it = as_completed_timeout(&[blocker.clone(), last.clone()], BOUND);
    assert!(last.cancel());
    assert_eq!(it.next().unwrap().unwrap(), last);
    assert!(!blocker.done());
    gate.open();
    assert_eq!(it.next().unwrap().unwrap(), blocker);
}

// ---- §12: wait ----

#[test]
fn wait_all_completed_on_process_futures() {
    let pool = ProcessPoolExecutor::new(2).unwrap();
    let fs: Vec<_> = (1..=10).map(|x| pool.submit(&CUBE, x).unwrap()).collect();
    let r = wait_within(&fs, ReturnWhen::AllCompleted);
    assert_eq!(r.done, fs);
    assert!(r.not_done.is_empty());
}

#[test]
fn wait_with_a_timeout_leaves_the_held_future_running() {
    let gate = RemoteGate::new();
    let (_pool, blocker) = held_pool(&gate);
    let start = Instant::now();
    let r = wait_timeout(
        std::slice::from_ref(&blocker),
        ReturnWhen::AllCompleted,
        Duration::from_millis(200),
    );
    assert!(start.elapsed() >= Duration::from_millis(200));
    assert_eq!(r.not_done, std::slice::from_ref(&blocker));
    assert!(blocker.running());
    gate.open();
    assert_eq!(blocker.result_timeout(BOUND), Ok(0));
}

#[test]
fn wait_first_completed_wakes_when_a_worker_finishes() {
    let gate = RemoteGate::new();
    let (pool, blocker) = held_pool(&gate);
    let queued = pool.submit(&CUBE, 2).unwrap();
    let fs = [queued.clone(), blocker.clone()];
    let waiter = thread::spawn(move || wait_timeout(&fs, ReturnWhen::FirstCompleted, BOUND));
    gate.open();
    let r = waiter.join().unwrap();
    // The blocker finished first; `queued` may have followed by the time
    // `wait` sorted them, but the wait did not time out.
    assert!(r.done.contains(&blocker), "{r:?}");
    assert_eq!(queued.result_timeout(BOUND), Ok(8));
}

#[test]
fn wait_first_exception_wakes_on_a_panic_in_a_worker() {
    // One worker: the failing task, then one held at a second gate that
    // stays shut, so the failure is the only thing that can end the wait.
    let (fail_gate, later_gate) = (RemoteGate::new(), RemoteGate::new());
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let failing = pool.submit(&HELD_THEN_PANIC, (fail_gate.arg(), 7)).unwrap();
    let later = pool.submit(&HELD, (later_gate.arg(), 8)).unwrap();
    fail_gate.arrived();
    let fs = [later.clone(), failing.clone()];
    let waiter = thread::spawn(move || wait_timeout(&fs, ReturnWhen::FirstException, BOUND));
    fail_gate.open();
    let r = waiter.join().unwrap();
    assert_eq!(r.done, std::slice::from_ref(&failing));
    assert_eq!(r.not_done, std::slice::from_ref(&later));
    match failing.exception() {
        Ok(Some(Error::Panicked { message })) => assert!(message.contains("task 7 failed")),
        other => panic!("expected the task's panic, got {other:?}"),
    }
    later_gate.open();
    assert_eq!(later.result_timeout(BOUND), Ok(8));
}

#[test]
fn a_cancelled_process_future_counts_as_done_for_wait_at_once() {
    let gate = RemoteGate::new();
    let (pool, blocker) = held_pool(&gate);
    let queued: Vec<_> = (1..=5).map(|x| pool.submit(&CUBE, x).unwrap()).collect();
    let last = queued.last().unwrap().clone();
    assert!(last.cancel());
    let r = wait_within(std::slice::from_ref(&last), ReturnWhen::AllCompleted);
    assert_eq!(r.done, [last]);
    // And a cancelled future is no exception.
    let r = wait_timeout(
        &[queued[4].clone(), blocker.clone()],
        ReturnWhen::FirstException,
        Duration::from_millis(100),
    );
    assert_eq!(r.not_done, std::slice::from_ref(&blocker));
    gate.open();
    assert_eq!(blocker.result_timeout(BOUND), Ok(0));
}
