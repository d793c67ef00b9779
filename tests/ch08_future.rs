//! Article §8, "Useful Methods of Future Objects"; the code is
//! `src/future.rs` (the five states and the methods that read them).
//!
//! The story: a future starts pending, becomes running when a worker takes
//! it, and ends finished (with a value or an error) or cancelled. `result`
//! and `exception` wait for the end, or give up after a timeout. Only the
//! first outcome counts: setting another is an `InvalidState` error. Its
//! `Debug` reads like Python's repr.

mod common;

use std::collections::HashSet;
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use common::{Gate, BOUND};
use concurrent_futures::{Error, Future, ThreadPoolExecutor};

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn futures_and_errors_can_cross_threads() {
    assert_send_sync::<Future<u64>>();
    assert_send_sync::<Error>();
    assert_send_sync::<ThreadPoolExecutor>();
    fn is_error<E: std::error::Error + Clone + 'static>() {}
    is_error::<Error>();
}

#[test]
fn a_future_moves_from_pending_to_running_to_finished() {
    // Driven by hand, as an executor does (Python allows `Future()` too).
    let f = Future::new();
    assert!(!f.running() && !f.done() && !f.cancelled());

    assert!(f.set_running_or_notify_cancel());
    assert!(f.running() && !f.done() && !f.cancelled());
    // Only a pending future can start; Python raises here, we answer false.
    assert!(!f.set_running_or_notify_cancel());

    f.set_result(125).unwrap();
    assert!(!f.running() && f.done() && !f.cancelled());
    assert_eq!(f.result(), Ok(125));
    assert_eq!(f.exception(), Ok(None));
}

#[test]
fn result_waits_for_the_task() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let gate = Gate::new();
    let g = Arc::clone(&gate);
    let f = pool
        .submit(move || {
            g.wait();
            "late"
        })
        .unwrap();
    assert!(!f.done());
    // Let the task go only once a thread is about to block in `result()`.
    let waiting = f.clone();
    let (going_tx, going) = mpsc::channel();
    let reader = thread::spawn(move || {
        going_tx.send(()).unwrap();
        waiting.result_timeout(BOUND)
    });
    going.recv_timeout(BOUND).unwrap();
    gate.open();
    assert_eq!(reader.join().unwrap(), Ok("late"));
    assert_eq!(f.result(), Ok("late"));
}

#[test]
fn a_value_set_from_another_thread_wakes_every_reader() {
    let f = Future::new();
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let f = f.clone();
            thread::spawn(move || f.result_timeout(BOUND))
        })
        .collect();
    f.set_result(String::from("for everyone")).unwrap();
    for r in readers {
        assert_eq!(r.join().unwrap().as_deref(), Ok("for everyone"));
    }
}

#[test]
fn result_timeout_gives_up_and_the_task_goes_on() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let gate = Gate::new();
    let g = Arc::clone(&gate);
    let f = pool
        .submit(move || {
            g.wait();
            1
        })
        .unwrap();
    let start = Instant::now();
    let e = f.result_timeout(Duration::from_millis(50)).unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
    assert!(start.elapsed() >= Duration::from_millis(50));
    assert!(matches!(
        f.exception_timeout(Duration::from_millis(1)),
        Err(Error::Timeout { .. })
    ));
    // Giving up on a result does not cancel the task.
    assert!(!f.cancelled());
    gate.open();
    assert_eq!(f.result_timeout(BOUND), Ok(1));
}

#[test]
fn exception_tells_success_failure_and_cancellation_apart() {
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let ok = pool.submit(|| 1).unwrap();
    let failed = pool
        .submit(|| -> i32 { panic!("division by zero") })
        .unwrap();
    assert_eq!(ok.exception_timeout(BOUND), Ok(None));
    match failed.exception_timeout(BOUND) {
        Ok(Some(Error::Panicked { message })) => {
            assert!(message.starts_with("division by zero (at "), "{message}")
        }
        other => panic!("expected Error::Panicked, got {other:?}"),
    }

    let cancelled = Future::<i32>::new();
    cancelled.cancel();
    assert_eq!(cancelled.exception(), Err(Error::Cancelled));
    assert_eq!(cancelled.result(), Err(Error::Cancelled));
}

#[test]
fn set_exception_is_what_result_returns() {
    let f = Future::<u8>::new();
    f.set_exception(Error::Shutdown).unwrap();
    assert!(f.done());
    assert_eq!(f.result(), Err(Error::Shutdown));
    assert_eq!(f.exception(), Ok(Some(Error::Shutdown)));
}

#[test]
fn only_the_first_outcome_counts() {
    // Python raises `InvalidStateError` for a second outcome.
    let f = Future::new();
    f.set_result(1).unwrap();
    assert!(matches!(f.set_result(2), Err(Error::InvalidState { .. })));
    assert!(matches!(
        f.set_exception(Error::Shutdown),
        Err(Error::InvalidState { .. })
    ));
    assert_eq!(f.result(), Ok(1));

    let failed = Future::<u8>::new();
    failed.set_exception(Error::Cancelled).unwrap();
    assert!(matches!(
        failed.set_result(2),
        Err(Error::InvalidState { .. })
    ));

    // A cancelled future cannot be given an outcome either.
    let cancelled = Future::new();
    cancelled.cancel();
    let e = cancelled.set_result(3).unwrap_err();
    assert!(matches!(e, Error::InvalidState { .. }), "{e:?}");
    assert_eq!(e.python_name(), "InvalidStateError");
    assert_eq!(cancelled.result(), Err(Error::Cancelled));
}

#[test]
// Clippy fears the lock inside a key; a future hashes by its shared state's
// address, which the lock never changes.
#[allow(clippy::mutable_key_type)]
fn clones_are_the_same_task() {
    let f = Future::new();
    let g = f.clone();
    assert_eq!(f, g);
    assert_ne!(f, Future::new());
    g.set_result('x').unwrap();
    assert_eq!(f.result(), Ok('x'));
    // Equal handles hash alike, so futures can key a map or fill a set.
    let set: HashSet<Future<char>> = [f.clone(), g, f].into_iter().collect();
    assert_eq!(set.len(), 1);
    // `Default` is `new()`: a fresh, pending future.
    assert!(!Future::<u8>::default().done());
}

#[test]
fn debug_reads_like_pythons_repr() {
    // Python: <Future at 0x.. state=pending>, state=running,
    // state=cancelled, state=finished returned int, state=finished raised
    // ValueError.
    let f = Future::<u64>::new();
    assert_eq!(format!("{f:?}"), "Future { state: pending }");
    f.set_running_or_notify_cancel();
    assert_eq!(format!("{f:?}"), "Future { state: running }");
    f.set_result(1).unwrap();
    assert_eq!(
        format!("{f:?}"),
        "Future { state: finished, returned: u64 }"
    );

    let failed = Future::<u64>::new();
    failed.set_exception(Error::Shutdown).unwrap();
    assert_eq!(
        format!("{failed:?}"),
        "Future { state: finished, raised: RuntimeError }"
    );

    let cancelled = Future::<u64>::new();
    cancelled.cancel();
    assert_eq!(format!("{cancelled:?}"), "Future { state: cancelled }");
    // Still "cancelled" once a worker has noticed (CANCELLED_AND_NOTIFIED).
    assert!(!cancelled.set_running_or_notify_cancel());
    assert_eq!(format!("{cancelled:?}"), "Future { state: cancelled }");
}
