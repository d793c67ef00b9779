//! Article §10, "Execute Callback Immediately after Task Completion using
//! add_done_callback()"; the code is `src/callbacks.rs`.
//!
//! The story: a callback runs once the future is done, exactly once, in the
//! order it was added. It runs in the thread that finished or cancelled the
//! future, or at once in the caller's thread if the future is already done.
//! It runs with no lock held, so it may use the very future it was given. A
//! panicking callback is reported and does not stop the ones after it.

mod common;

use std::sync::{mpsc, Arc, Mutex};
use std::thread;

use common::{thread_name, AbandonOnPanic, Gate, BOUND};
use concurrent_futures::{Future, ThreadPoolExecutor};

#[test]
fn each_callback_gets_the_done_future_as_in_the_article() {
    // The article prints each task's completion from its callback; here the
    // callbacks send the result they read from the future they are given.
    // (Reading it from a worker would deadlock if the worker held the
    // future's lock; the guard keeps such a bug from hanging the run.)
    let pool = AbandonOnPanic::new(ThreadPoolExecutor::new(5).unwrap());
    let (tx, rx) = mpsc::channel();
    for i in 1..=10_u64 {
        let f = pool.submit(move || i.pow(3)).unwrap();
        let tx = tx.clone();
        f.add_done_callback(move |f| {
            assert!(f.done());
            tx.send(f.result().unwrap()).unwrap();
        });
    }
    let mut cubes: Vec<u64> = (0..10).map(|_| rx.recv_timeout(BOUND).unwrap()).collect();
    cubes.sort_unstable();
    assert_eq!(cubes, (1..=10_u64).map(|i| i.pow(3)).collect::<Vec<_>>());
}

#[test]
fn callbacks_run_in_registration_order_exactly_once() {
    let f = Future::new();
    let order = Arc::new(Mutex::new(Vec::new()));
    for n in 1..=3 {
        let order = Arc::clone(&order);
        f.add_done_callback(move |_| order.lock().unwrap().push(n));
    }
    assert!(order.lock().unwrap().is_empty());
    f.set_result(()).unwrap();
    assert_eq!(*order.lock().unwrap(), [1, 2, 3]);

    // Nothing that happens to a done future runs them again.
    assert!(f.set_result(()).is_err());
    assert!(!f.cancel());
    f.result().unwrap();
    assert_eq!(*order.lock().unwrap(), [1, 2, 3]);
}

#[test]
fn a_callback_runs_in_the_thread_that_completes_the_future() {
    let pool = ThreadPoolExecutor::builder()
        .max_workers(1)
        .thread_name_prefix("worker")
        .build()
        .unwrap();
    let gate = Gate::new();
    let g = Arc::clone(&gate);
    let f = pool.submit(move || g.wait()).unwrap();
    // The task cannot be done before the gate opens, so this registers.
    let (tx, rx) = mpsc::channel();
    f.add_done_callback(move |_| tx.send(thread_name()).unwrap());
    gate.open();
    assert_eq!(rx.recv_timeout(BOUND).unwrap(), "worker_0");
}

#[test]
fn a_callback_on_a_done_future_runs_at_once_in_the_callers_thread() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let f = pool.submit(|| 8).unwrap();
    f.result_timeout(BOUND).unwrap();
    let seen = Arc::new(Mutex::new(None));
    let s = Arc::clone(&seen);
    f.add_done_callback(move |f| *s.lock().unwrap() = Some((thread_name(), f.result())));
    // Already run, before `add_done_callback` returned.
    assert_eq!(*seen.lock().unwrap(), Some((thread_name(), Ok(8))));
}

#[test]
fn cancel_runs_the_callbacks_in_the_cancelling_thread() {
    let f = Future::<u8>::new();
    let (tx, rx) = mpsc::channel();
    f.add_done_callback(move |f| tx.send((thread_name(), f.cancelled())).unwrap());
    let canceller = thread::Builder::new()
        .name("canceller".into())
        .spawn({
            let f = f.clone();
            move || f.cancel()
        })
        .unwrap();
    // The channel first: a canceller stuck in its callback fails the test.
    assert_eq!(rx.recv_timeout(BOUND), Ok(("canceller".into(), true)));
    assert!(canceller.join().unwrap());
}

#[test]
fn a_callback_on_a_cancelled_future_runs_at_once() {
    let f = Future::<u8>::new();
    f.cancel();
    let ran_here = Arc::new(Mutex::new(None));
    let r = Arc::clone(&ran_here);
    f.add_done_callback(move |f| *r.lock().unwrap() = Some((thread_name(), f.cancelled())));
    assert_eq!(*ran_here.lock().unwrap(), Some((thread_name(), true)));
}

#[test]
fn a_callback_may_use_its_own_future_because_no_lock_is_held() {
    // Inside the callback: read the result, ask the state, print the repr,
    // and add another callback, which (the future being done) runs at once.
    // Any lock held around the callback would deadlock one of these. The
    // future is completed by a plain thread, so a deadlock can only strand
    // that thread; the test itself fails on its bounded `recv`.
    let f = Future::new();
    let (tx, rx) = mpsc::channel();
    f.add_done_callback(move |f| {
        let value = f.result().unwrap();
        let state = (f.done(), f.running(), f.cancelled());
        let repr = format!("{f:?}");
        let inner_tx = tx.clone();
        f.add_done_callback(move |f| inner_tx.send(format!("inner {:?}", f.result())).unwrap());
        tx.send(format!("outer {value} {state:?} {repr}")).unwrap();
    });
    let completer = thread::spawn({
        let f = f.clone();
        move || f.set_result(5_u32).unwrap()
    });
    assert_eq!(rx.recv_timeout(BOUND).unwrap(), "inner Ok(5)");
    assert_eq!(
        rx.recv_timeout(BOUND).unwrap(),
        "outer 5 (true, false, false) Future { state: finished, returned: u32 }"
    );
    completer.join().unwrap();
}

#[test]
fn a_callback_may_use_its_own_future_when_run_by_cancel_or_at_once() {
    // The same, on the two other paths: `cancel()`, and registering on a
    // future that is already done.
    let (tx, rx) = mpsc::channel();
    let cancelled = Future::<u8>::new();
    let t = tx.clone();
    cancelled.add_done_callback(move |f| {
        let t2 = t.clone();
        f.add_done_callback(move |f| t2.send(f.result()).unwrap());
        t.send(f.result()).unwrap();
    });
    let canceller = thread::spawn(move || cancelled.cancel());
    let first = rx.recv_timeout(BOUND).unwrap();
    let second = rx.recv_timeout(BOUND).unwrap();
    assert!(canceller.join().unwrap());
    assert!(first.is_err() && second.is_err());

    let done = Future::new();
    done.set_result(1_u8).unwrap();
    let t = tx.clone();
    done.add_done_callback(move |f| {
        let t2 = t.clone();
        f.add_done_callback(move |f| t2.send(f.result()).unwrap());
        t.send(f.result()).unwrap();
    });
    assert_eq!(rx.try_recv(), Ok(Ok(1)));
    assert_eq!(rx.try_recv(), Ok(Ok(1)));
}

#[test]
fn a_panicking_callback_does_not_stop_the_later_ones() {
    // The panic is printed to stderr as "exception calling callback for
    // Future { .. }" (Python logs it); the next callback still runs, and so
    // does the completing thread. That printing reads the future's state,
    // so the completing thread is a spare one: were it to deadlock on the
    // future's lock, only it would be stuck, and the `recv` below would fail.
    let f = Future::new();
    let (tx, rx) = mpsc::channel();
    let t = tx.clone();
    f.add_done_callback(move |_| t.send("first").unwrap());
    f.add_done_callback(|_| panic!("callback failed"));
    f.add_done_callback(move |_| tx.send("third").unwrap());
    let completer = thread::spawn({
        let f = f.clone();
        move || f.set_result(()).unwrap()
    });
    assert_eq!(rx.recv_timeout(BOUND), Ok("first"));
    assert_eq!(rx.recv_timeout(BOUND), Ok("third"));
    completer.join().unwrap();

    // Run at once on a done future, a panic is caught as well.
    f.add_done_callback(|_| panic!("callback failed again"));
    assert_eq!(f.result(), Ok(()));
}

#[test]
fn a_panicking_callback_in_a_worker_leaves_the_worker_alive() {
    let pool = ThreadPoolExecutor::builder()
        .max_workers(1)
        .thread_name_prefix("survivor")
        .build()
        .unwrap();
    let pool = AbandonOnPanic::new(pool);
    let gate = Gate::new();
    let g = Arc::clone(&gate);
    let f = pool.submit(move || g.wait()).unwrap();
    let (tx, rx) = mpsc::channel();
    f.add_done_callback(|_| panic!("callback failed in a worker"));
    f.add_done_callback(move |_| tx.send(()).unwrap());
    gate.open();
    rx.recv_timeout(BOUND).unwrap();
    let next = pool.submit(thread_name).unwrap();
    assert_eq!(next.result_timeout(BOUND).unwrap(), "survivor_0");
    assert_eq!(pool.threads_started(), 1);
}

#[test]
fn callbacks_added_while_the_future_completes_run_exactly_once() {
    // Race registration against completion: whichever wins, each callback
    // runs once, either in the worker or at once here.
    const N: usize = 500;
    let pool = AbandonOnPanic::new(ThreadPoolExecutor::new(2).unwrap());
    let (tx, rx) = mpsc::channel();
    let futures: Vec<_> = (0..N).map(|i| pool.submit(move || i).unwrap()).collect();
    for f in &futures {
        let tx = tx.clone();
        f.add_done_callback(move |f| tx.send(f.result().unwrap()).unwrap());
    }
    let mut seen: Vec<usize> = (0..N).map(|_| rx.recv_timeout(BOUND).unwrap()).collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..N).collect::<Vec<_>>());
    // Once the workers are gone, no second call can still be on its way.
    pool.shutdown();
    drop(tx);
    assert!(rx.try_recv().is_err());
}

#[test]
fn a_panicking_callback_is_reported_on_stderr() {
    // libtest captures what a test prints, so the test runs itself again in
    // a child process, with capture off, and reads the child's stderr.
    const CHILD: &str = "CONCURRENT_FUTURES_CALLBACK_CHILD";
    if std::env::var_os(CHILD).is_some() {
        let f = Future::new();
        f.add_done_callback(|_| panic!("callback failed loudly"));
        f.set_result(7_u8).unwrap();
        return;
    }
    let mut child = std::process::Command::new(std::env::current_exe().unwrap());
    child
        .args(["--exact", "a_panicking_callback_is_reported_on_stderr"])
        .args(["--nocapture", "--test-threads=1"])
        .env(CHILD, "1");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || tx.send(child.output()));
    let out = rx.recv_timeout(BOUND).unwrap().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "exception calling callback for Future { state: finished, returned: u8 }: \
             callback failed loudly"
        ),
        "{stderr}"
    );
}

/// A one-worker-at-first pool whose first task has a done-callback that
/// blocks at `held` until the test opens it. Returns once the callback runs.
/// Tasks the test submits before that moment wait in the queue.
fn callback_held(
    pool: &ThreadPoolExecutor,
    held: &Arc<Gate>,
    queue_before: impl FnOnce(),
) -> Future<()> {
    let go = Gate::new();
    let g = Arc::clone(&go);
    let f = pool.submit(move || g.wait()).unwrap();
    let (in_callback_tx, in_callback) = mpsc::channel();
    let held = Arc::clone(held);
    f.add_done_callback(move |_| {
        in_callback_tx.send(()).unwrap();
        held.wait();
    });
    queue_before();
    go.open();
    in_callback.recv_timeout(BOUND).unwrap();
    f
}

#[test]
fn a_blocking_callback_does_not_hold_a_new_task_hostage() {
    // The worker is not idle until its callbacks are done, so a task
    // submitted meanwhile starts a second thread at once (CPython 3.13: the
    // same, on `_1`). Counting the worker idle before its callbacks left the
    // task waiting for the callback.
    let pool = AbandonOnPanic::new(
        ThreadPoolExecutor::builder()
            .max_workers(2)
            .thread_name_prefix("cb")
            .build()
            .unwrap(),
    );
    let held = Gate::new();
    callback_held(&pool, &held, || ());
    let next = pool.submit(thread_name).unwrap();
    // Well before the callback's gate gives up (BOUND), so that waiting
    // for the callback cannot pass for running at once.
    assert_eq!(next.result_timeout(BOUND / 2).unwrap(), "cb_1");
    held.open();
}

#[test]
fn shutdown_cancelling_during_a_blocking_callback_cancels_the_queued_task() {
    // The task queued while the only worker ran its last task stays in the
    // queue while that task's callback runs, so `cancel_futures` reaches it
    // (CPython 3.13: cancelled). Taking it out before the callbacks ran
    // left it pending, and it ran later.
    let pool = AbandonOnPanic::new(ThreadPoolExecutor::new(1).unwrap());
    let held = Gate::new();
    let ran = Arc::new(Mutex::new(false));
    let r = Arc::clone(&ran);
    let mut queued = None;
    callback_held(&pool, &held, || {
        queued = Some(pool.submit(move || *r.lock().unwrap() = true).unwrap());
    });
    let queued = queued.unwrap();
    pool.shutdown_with(concurrent_futures::Shutdown {
        wait: false,
        cancel_futures: true,
    });
    assert!(queued.cancelled(), "{queued:?}");
    held.open();
    pool.shutdown();
    assert!(!*ran.lock().unwrap());
}
