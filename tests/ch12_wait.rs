//! Article §12, "Wait for Completion of Tasks using wait()" (12.1 all,
//! 12.2 with a timeout, 12.3 the first one); the code is `src/wait.rs`.
//!
//! The story: `wait` blocks until its condition holds and splits the futures
//! into done and not done, each distinct future once, in input order.
//! `FirstCompleted` wants any one done; `FirstException` wants a failure (a
//! cancelled future is not one) or else all; `AllCompleted` wants all. A
//! timeout ends the wait whatever the state, cancelling nothing. One
//! deliberate difference from CPython: a future cancelled with `cancel()`
//! counts as done at once.

mod common;

use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use common::{Gate, BOUND};
use concurrent_futures::{
    wait, wait_timeout, DoneAndNotDone, Error, Future, ReturnWhen, ThreadPoolExecutor,
};

/// Runs `wait` on another thread so that a bug fails the test after
/// `BOUND` instead of hanging it.
fn wait_within<T: Send + 'static>(fs: &[Future<T>], when: ReturnWhen) -> DoneAndNotDone<T> {
    let fs = fs.to_vec();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || tx.send(wait(&fs, when)));
    rx.recv_timeout(BOUND).expect("wait did not return in time")
}

/// Ten tasks, `cube(i)` for i in 1..=10, each held at its own gate.
fn gated_cubes(pool: &ThreadPoolExecutor) -> (Vec<Future<u64>>, Vec<Arc<Gate>>) {
    (1..=10_u64)
        .map(|i| {
            let gate = Gate::new();
            let g = Arc::clone(&gate);
            let f = pool
                .submit(move || {
                    g.wait();
                    i.pow(3)
                })
                .unwrap();
            (f, gate)
        })
        .unzip()
}

#[test]
fn all_completed_waits_for_every_future() {
    // §12.1: ten tasks; half are let through, then the rest.
    let pool = ThreadPoolExecutor::new(10).unwrap();
    let (futures, gates) = gated_cubes(&pool);
    let first_five = &futures[..5];
    for g in &gates[..5] {
        g.open();
    }
    let r = wait_within(first_five, ReturnWhen::AllCompleted);
    assert_eq!(r.done, first_five);
    assert!(r.not_done.is_empty());
    assert!(futures[5..].iter().all(|f| !f.done()));

    for g in &gates[5..] {
        g.open();
    }
    let r = wait_within(&futures, ReturnWhen::AllCompleted);
    assert_eq!(r.done, futures);
    let cubes: Vec<u64> = r.done.iter().map(|f| f.result().unwrap()).collect();
    assert_eq!(cubes, (1..=10_u64).map(|i| i.pow(3)).collect::<Vec<_>>());
}

#[test]
fn all_completed_is_the_default() {
    assert_eq!(ReturnWhen::default(), ReturnWhen::AllCompleted);
}

#[test]
fn a_timeout_returns_what_is_done_so_far_and_cancels_nothing() {
    // §12.2, scaled: three tasks done, seven held; the wait gives up.
    const TIMEOUT: Duration = Duration::from_millis(100);
    let pool = ThreadPoolExecutor::new(10).unwrap();
    let (futures, gates) = gated_cubes(&pool);
    for g in &gates[..3] {
        g.open();
    }
    for f in &futures[..3] {
        f.result_timeout(BOUND).unwrap();
    }
    let start = Instant::now();
    let r = wait_timeout(&futures, ReturnWhen::AllCompleted, TIMEOUT);
    assert!(start.elapsed() >= TIMEOUT);
    assert_eq!(r.done, &futures[..3]);
    assert_eq!(r.not_done, &futures[3..]);
    assert!(r.not_done.iter().all(|f| !f.cancelled()));

    for g in &gates[3..] {
        g.open();
    }
    let r = wait_timeout(&futures, ReturnWhen::AllCompleted, BOUND);
    assert_eq!(r.done.len(), 10);
}

#[test]
fn first_completed_returns_when_any_one_is_done() {
    // §12.3: five tasks, the wait returns as soon as the fourth one is done.
    let pool = ThreadPoolExecutor::new(10).unwrap();
    let (futures, gates) = gated_cubes(&pool);
    let five = &futures[..5];
    gates[3].open();
    let r = wait_within(five, ReturnWhen::FirstCompleted);
    assert_eq!(r.done, [futures[3].clone()]);
    assert_eq!(r.not_done.len(), 4);
    for g in &gates {
        g.open();
    }
}

#[test]
fn first_completed_wakes_on_a_completion_from_another_thread() {
    let (a, b) = (Future::new(), Future::new());
    let waiter = thread::spawn({
        let fs = [a.clone(), b.clone()];
        move || wait_timeout(&fs, ReturnWhen::FirstCompleted, BOUND)
    });
    b.set_result(2).unwrap();
    let r = waiter.join().unwrap();
    assert_eq!(r.done, [b]);
    assert_eq!(r.not_done, [a]);
}

#[test]
fn first_completed_returns_at_once_if_one_is_already_done() {
    let done = Future::new();
    done.set_result(1).unwrap();
    let r = wait_within(&[Future::new(), done.clone()], ReturnWhen::FirstCompleted);
    assert_eq!(r.done, [done]);
    assert_eq!(r.not_done.len(), 1);
}

#[test]
fn first_exception_returns_at_once_if_one_has_already_failed() {
    let failed = Future::<u8>::new();
    failed.set_exception(Error::Shutdown).unwrap();
    let never = Future::new();
    let r = wait_within(&[never.clone(), failed.clone()], ReturnWhen::FirstException);
    assert_eq!(r.done, [failed]);
    assert_eq!(r.not_done, [never]);
}

#[test]
fn first_exception_wakes_on_a_panic_and_not_on_a_success() {
    let pool = ThreadPoolExecutor::new(3).unwrap();
    let (ok_gate, bad_gate, slow_gate) = (Gate::new(), Gate::new(), Gate::new());
    let g = Arc::clone(&ok_gate);
    let ok = pool.submit(move || g.wait()).unwrap();
    let g = Arc::clone(&bad_gate);
    let bad = pool
        .submit(move || {
            g.wait();
            panic!("task failed")
        })
        .unwrap();
    let g = Arc::clone(&slow_gate);
    let slow = pool.submit(move || g.wait()).unwrap();
    let fs = [ok.clone(), bad.clone(), slow.clone()];

    // A success alone does not satisfy FirstException...
    ok_gate.open();
    ok.result_timeout(BOUND).unwrap();
    let r = wait_timeout(&fs, ReturnWhen::FirstException, Duration::from_millis(50));
    assert_eq!(r.done, std::slice::from_ref(&ok));
    // ...a failure does.
    bad_gate.open();
    let r = wait_within(&fs, ReturnWhen::FirstException);
    assert_eq!(r.done, [ok, bad]);
    assert_eq!(r.not_done, [slow]);
    slow_gate.open();
}

#[test]
fn first_exception_without_a_failure_waits_for_all() {
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let fs: Vec<_> = (0..4).map(|i| pool.submit(move || i).unwrap()).collect();
    let r = wait_within(&fs, ReturnWhen::FirstException);
    assert_eq!(r.done, fs);
    assert!(r.not_done.is_empty());
}

#[test]
fn a_cancelled_future_is_not_an_exception() {
    // Python agrees: FIRST_EXCEPTION looks for `exception()`, and a cancelled
    // future has none. So this wait runs into its timeout.
    let cancelled = Future::<u8>::new();
    cancelled.cancel();
    let pending = Future::new();
    let start = Instant::now();
    let r = wait_timeout(
        &[cancelled.clone(), pending.clone()],
        ReturnWhen::FirstException,
        Duration::from_millis(100),
    );
    assert!(start.elapsed() >= Duration::from_millis(100));
    assert_eq!(r.done, [cancelled]);
    assert_eq!(r.not_done, [pending]);
}

#[test]
fn duplicates_count_once_and_input_order_is_kept() {
    let (a, b, c) = (Future::new(), Future::new(), Future::new());
    c.set_result(3).unwrap();
    a.set_result(1).unwrap();
    let fs = [c.clone(), b.clone(), a.clone(), c.clone(), b.clone()];
    let r = wait_timeout(&fs, ReturnWhen::AllCompleted, Duration::from_millis(20));
    assert_eq!(r.done, [c.clone(), a.clone()]);
    assert_eq!(r.not_done, std::slice::from_ref(&b));

    b.set_result(2).unwrap();
    let r = wait_within(&fs, ReturnWhen::AllCompleted);
    assert_eq!(r.done, [c, b, a]);
}

#[test]
fn an_empty_slice_returns_at_once() {
    for when in [
        ReturnWhen::FirstCompleted,
        ReturnWhen::FirstException,
        ReturnWhen::AllCompleted,
    ] {
        let r = wait_within::<u8>(&[], when);
        assert!(r.done.is_empty() && r.not_done.is_empty());
    }
}

#[test]
fn a_cancelled_future_counts_as_done_at_once() {
    // The deliberate difference from CPython, where `wait` on a future that
    // was cancelled in the queue blocks until a worker reaches it. Here the
    // worker is still busy when `wait` returns.
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let gate = Gate::new();
    let g = Arc::clone(&gate);
    let busy = pool.submit(move || g.wait()).unwrap();
    let queued = pool.submit(|| ()).unwrap();
    assert!(queued.cancel());

    let r = wait_within(std::slice::from_ref(&queued), ReturnWhen::AllCompleted);
    assert_eq!(r.done, std::slice::from_ref(&queued));
    assert!(!busy.done());

    // Also when the cancel comes while `wait` is already blocked.
    let other = pool.submit(|| ()).unwrap();
    let waiter = thread::spawn({
        let fs = [other.clone(), queued];
        move || wait_timeout(&fs, ReturnWhen::AllCompleted, BOUND)
    });
    assert!(other.cancel());
    let r = waiter.join().unwrap();
    assert_eq!(r.done.len(), 2);
    assert!(!busy.done());
    gate.open();
}
