//! Article §11, "Retrieve Results as Tasks Complete using as_completed()"
//! (11.1 without a timeout, 11.2 with one); the code is
//! `src/as_completed.rs`.
//!
//! The story: `as_completed` hands out each distinct future once: those
//! already done first, then the others in the order they complete. With a
//! timeout, counted from the call, it yields one `Timeout` error saying how
//! many futures are unfinished, then ends. One deliberate difference from
//! CPython: a future cancelled with `cancel()` counts as completed at once.

mod common;

use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use common::{Gate, BOUND};
use concurrent_futures::{as_completed, as_completed_timeout, Error, Future, ThreadPoolExecutor};

/// Reads the next future from `it`, which must come at once or within the
/// bound; a bug then fails instead of hanging.
fn next_within<T: Send + 'static>(
    it: concurrent_futures::AsCompleted<T>,
) -> (
    Option<Result<Future<T>, Error>>,
    concurrent_futures::AsCompleted<T>,
) {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut it = it;
        let item = it.next();
        let _ = tx.send((item, it));
    });
    rx.recv_timeout(BOUND)
        .expect("as_completed did not yield in time")
}

#[test]
fn results_arrive_as_tasks_complete() {
    // §11.1, made deterministic: task i waits until future i+1 is done (a
    // done-callback on it opens gate i+1), so the futures complete strictly
    // in reverse. The last task waits for `start`, opened only once
    // `as_completed` watches them all, so none is done before the call.
    const N: usize = 10;
    let pool = ThreadPoolExecutor::new(N).unwrap();
    let start = Gate::new();
    let finished: Vec<Arc<Gate>> = (0..N).map(|_| Gate::new()).collect();
    let futures: Vec<_> = (0..N)
        .map(|i| {
            let after = if i + 1 < N {
                Arc::clone(&finished[i + 1])
            } else {
                Arc::clone(&start)
            };
            pool.submit(move || {
                after.wait();
                (i as u64).pow(3)
            })
            .unwrap()
        })
        .collect();
    for (f, gate) in futures.iter().zip(&finished) {
        let gate = Arc::clone(gate);
        f.add_done_callback(move |_| gate.open());
    }

    let it = as_completed_timeout(&futures, BOUND);
    start.open();
    let cubes: Vec<u64> = it.map(|f| f.unwrap().result().unwrap()).collect();
    assert_eq!(cubes, [729, 512, 343, 216, 125, 64, 27, 8, 1, 0]);
}

#[test]
fn done_futures_come_first_then_completion_order() {
    let (d1, d2) = (Future::new(), Future::new());
    d1.set_result("d1").unwrap();
    d2.set_result("d2").unwrap();
    let (p1, p2, p3) = (Future::new(), Future::new(), Future::new());
    let fs = [p1.clone(), d1.clone(), p2.clone(), d2.clone(), p3.clone()];
    let mut it = as_completed_timeout(&fs, BOUND);

    // The two done ones, in input order (Python gives them as a set).
    assert_eq!(it.next().unwrap().unwrap(), d1);
    assert_eq!(it.next().unwrap().unwrap(), d2);
    // Then in the order the others complete, whatever their input order.
    p3.set_result("p3").unwrap();
    assert_eq!(it.next().unwrap().unwrap(), p3);
    p2.set_result("p2").unwrap();
    p1.set_result("p1").unwrap();
    assert_eq!(it.next().unwrap().unwrap(), p2);
    assert_eq!(it.next().unwrap().unwrap(), p1);
    assert!(it.next().is_none());
}

#[test]
fn a_future_completed_from_another_thread_wakes_the_iterator() {
    let f = Future::new();
    let it = as_completed(std::slice::from_ref(&f));
    let completer = thread::spawn(move || f.set_result(42).unwrap());
    let (item, mut it) = next_within(it);
    assert_eq!(item.unwrap().unwrap().result(), Ok(42));
    assert!(it.next().is_none());
    completer.join().unwrap();
}

#[test]
fn each_distinct_future_comes_once() {
    let (a, b, c) = (Future::new(), Future::new(), Future::new());
    a.set_result(1).unwrap();
    b.set_result(2).unwrap();
    let it = as_completed_timeout(
        &[a.clone(), b.clone(), a.clone(), c.clone(), c.clone()],
        BOUND,
    );
    c.set_result(3).unwrap();
    let got: Vec<Future<i32>> = it.map(Result::unwrap).collect();
    assert_eq!(got, [a, b, c]);
}

#[test]
fn an_empty_slice_ends_at_once() {
    assert!(as_completed::<u8>(&[]).next().is_none());
    assert!(as_completed_timeout::<u8>(&[], Duration::ZERO)
        .next()
        .is_none());
}

#[test]
fn a_timeout_yields_one_error_naming_the_unfinished_then_ends() {
    // §11.2, scaled: two done, three that never finish within the timeout.
    const TIMEOUT: Duration = Duration::from_millis(100);
    let done: Vec<Future<u8>> = (0..2).map(|_| Future::new()).collect();
    for (i, f) in done.iter().enumerate() {
        f.set_result(i as u8).unwrap();
    }
    let never: Vec<Future<u8>> = (0..3).map(|_| Future::new()).collect();
    let fs: Vec<_> = done.iter().chain(&never).cloned().collect();

    let start = Instant::now();
    let mut it = as_completed_timeout(&fs, TIMEOUT);
    assert!(it.next().unwrap().is_ok());
    assert!(it.next().unwrap().is_ok());
    let e = it.next().unwrap().unwrap_err();
    assert!(start.elapsed() >= TIMEOUT);
    assert!(start.elapsed() < BOUND);
    // Python: TimeoutError('3 (of 5) futures unfinished').
    assert_eq!(
        e,
        Error::Timeout {
            message: "3 (of 5) futures unfinished".into()
        }
    );
    assert_eq!(e.to_string(), "3 (of 5) futures unfinished");
    assert!(it.next().is_none());
    // Timing out cancels nothing.
    assert!(never.iter().all(|f| !f.done()));

    // Duplicates count once in the message too (Python counts `set(fs)`).
    let twice = [done[0].clone(), never[0].clone(), never[0].clone()];
    let mut it = as_completed_timeout(&twice, Duration::ZERO);
    assert!(it.next().unwrap().is_ok());
    let e = it.next().unwrap().unwrap_err();
    assert_eq!(e.to_string(), "1 (of 2) futures unfinished");
    assert!(it.next().is_none());
}

#[test]
fn after_the_deadline_a_future_finished_meanwhile_is_not_handed_out() {
    // CPython 3.13 looks at the clock before collecting what finished: once
    // the deadline has passed, the next step is the timeout, even though
    // `late` finished after the deadline and before that step.
    let (early, late) = (Future::new(), Future::new());
    early.set_result(1).unwrap();
    let mut it = as_completed_timeout(&[early, late.clone()], Duration::ZERO);
    late.set_result(2).unwrap();
    assert_eq!(it.next().unwrap().unwrap().result(), Ok(1));
    let e = it.next().unwrap().unwrap_err();
    assert_eq!(e.to_string(), "1 (of 2) futures unfinished");
    assert!(it.next().is_none());
}

#[test]
fn the_timeout_counts_from_the_call_not_from_next() {
    // The consumer dawdles before its first `next`; the error must still
    // come `TIMEOUT` after `as_completed_timeout`, not after the dawdling.
    const TIMEOUT: Duration = Duration::from_millis(800);
    const DAWDLE: Duration = Duration::from_millis(600);
    let never = Future::<u8>::new();
    let start = Instant::now();
    let mut it = as_completed_timeout(&[never], TIMEOUT);
    thread::sleep(DAWDLE);
    // What the dawdle really took: on a loaded machine a sleep overruns.
    let dawdled = start.elapsed();
    assert!(matches!(it.next(), Some(Err(Error::Timeout { .. }))));
    let elapsed = start.elapsed();
    assert!(elapsed >= TIMEOUT, "{elapsed:?}");
    // Counted from `next` it could not end before dawdled + TIMEOUT.
    assert!(
        elapsed < dawdled + TIMEOUT,
        "{elapsed:?} (dawdled {dawdled:?})"
    );
}

#[test]
fn all_done_before_a_zero_timeout_is_no_error() {
    let fs: Vec<Future<u8>> = (0..3).map(|_| Future::new()).collect();
    for f in &fs {
        f.set_result(1).unwrap();
    }
    let got: Vec<_> = as_completed_timeout(&fs, Duration::ZERO).collect();
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(Result::is_ok));
}

#[test]
fn a_cancelled_future_counts_as_completed_at_once() {
    // The deliberate difference from CPython. A queued task is cancelled
    // while the only worker is busy; CPython's `as_completed` would wait
    // until the worker reached it. Here it comes out at once, while the
    // worker is still busy.
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let gate = Gate::new();
    let g = Arc::clone(&gate);
    let busy = pool.submit(move || g.wait()).unwrap();
    let queued = pool.submit(|| ()).unwrap();

    let it = as_completed(&[busy.clone(), queued.clone()]);
    assert!(queued.cancel());
    let (first, it) = next_within(it);
    assert_eq!(first.unwrap().unwrap(), queued);
    assert!(!busy.done());

    gate.open();
    let (second, mut it) = next_within(it);
    assert_eq!(second.unwrap().unwrap(), busy);
    assert!(it.next().is_none());
}

#[test]
fn dropping_the_iterator_cancels_nothing() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let gate = Gate::new();
    let g = Arc::clone(&gate);
    let f = pool.submit(move || g.wait()).unwrap();
    let queued = pool.submit(|| ()).unwrap();
    drop(as_completed(&[f.clone(), queued.clone()]));
    gate.open();
    assert_eq!(f.result_timeout(BOUND), Ok(()));
    assert_eq!(queued.result_timeout(BOUND), Ok(()));
}
