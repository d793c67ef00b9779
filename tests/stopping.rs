//! Stopping running work (`src/stopping.rs`): `Future::kill` on every
//! state, the kill hook an executor installs (here a fake executor that is
//! just a test and a thread), `Error::Killed`, `MapOptions::task_timeout`
//! on threads, and stopping a thread task the only way there is: a flag it
//! checks.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::thread;

use common::{held_pool, Gate, BOUND};
use concurrent_futures::{Error, Future, MapOptions, SubmitOptions, ThreadPoolExecutor};

fn killed(why: &str) -> Error {
    Error::Killed {
        message: why.to_owned(),
    }
}

/// A future as a fake executor leaves it once the task runs: running, with
/// a hook that counts its calls and fails the future with `Killed`.
fn running_with_hook() -> (Future<u32>, Arc<AtomicUsize>) {
    let f = Future::new();
    assert!(f.set_running_or_notify_cancel());
    let calls = Arc::new(AtomicUsize::new(0));
    let (handle, counter) = (f.clone(), Arc::clone(&calls));
    assert!(f.set_kill_hook(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        handle.set_exception(killed("kill() was called")).is_ok()
    }));
    (f, calls)
}

/// Counts the callbacks a future runs.
fn count_callbacks(f: &Future<u32>) -> Arc<AtomicUsize> {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = Arc::clone(&n);
    f.add_done_callback(move |_| {
        n2.fetch_add(1, Ordering::SeqCst);
    });
    n
}

#[test]
fn kill_cancels_a_pending_future_like_cancel() {
    let f = Future::<u32>::new();
    let callbacks = count_callbacks(&f);
    assert!(f.kill());
    assert!(f.cancelled());
    assert_eq!(f.result(), Err(Error::Cancelled));
    assert_eq!(callbacks.load(Ordering::SeqCst), 1);
    assert!(f.kill(), "already cancelled: true, as cancel answers");
    assert_eq!(callbacks.load(Ordering::SeqCst), 1);
}

#[test]
fn kill_on_a_queued_thread_task_cancels_it() {
    let gate = Gate::new();
    let (pool, _blocker) = held_pool(&gate);
    let ran = Arc::new(AtomicBool::new(false));
    let ran2 = Arc::clone(&ran);
    let queued = pool
        .submit(move || ran2.store(true, Ordering::SeqCst))
        .unwrap();
    assert!(queued.kill());
    gate.open();
    pool.shutdown();
    assert!(queued.cancelled());
    assert!(!ran.load(Ordering::SeqCst));
}

#[test]
fn kill_leaves_a_finished_future_alone() {
    let f = Future::new();
    f.set_result(4_u32).unwrap();
    assert!(!f.kill());
    assert_eq!(f.result(), Ok(4));
}

#[test]
fn kill_cannot_stop_a_running_thread_task() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let (started_tx, started) = mpsc::channel();
    let gate = Gate::new();
    let gate2 = Arc::clone(&gate);
    let f = pool
        .submit(move || {
            started_tx.send(()).unwrap();
            gate2.wait();
            8
        })
        .unwrap();
    started.recv_timeout(BOUND).unwrap();
    assert!(!f.kill());
    assert!(f.running());
    gate.open();
    assert_eq!(f.result_timeout(BOUND), Ok(8));
}

#[test]
fn kill_without_a_hook_leaves_a_running_future_running() {
    let f = Future::<u32>::new();
    assert!(f.set_running_or_notify_cancel());
    assert!(!f.kill());
    assert!(f.running());
}

#[test]
fn kill_calls_the_executors_hook_and_the_future_fails_with_killed() {
    let (f, calls) = running_with_hook();
    let callbacks = count_callbacks(&f);
    assert!(f.kill());
    assert_eq!(f.result(), Err(killed("kill() was called")));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(callbacks.load(Ordering::SeqCst), 1);
    assert!(!f.kill(), "a done future: false, and no second call");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[test]
fn a_hook_set_while_pending_is_not_called_by_a_kill_that_cancels() {
    let f = Future::<u32>::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    assert!(f.set_kill_hook(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        true
    }));
    assert!(f.kill());
    assert!(f.cancelled());
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[test]
fn two_racing_kills_call_the_hook_once() {
    for _ in 0..200 {
        let f = Future::<u32>::new();
        assert!(f.set_running_or_notify_cancel());
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        // A hook that stops the task but leaves failing the future for
        // later: the second kill finds the future still running.
        f.set_kill_hook(move || counter.fetch_add(1, Ordering::SeqCst) == 0);
        let start = Arc::new(Barrier::new(2));
        let (f2, start2) = (f.clone(), Arc::clone(&start));
        let other = thread::spawn(move || {
            start2.wait();
            f2.kill()
        });
        start.wait();
        let here = f.kill();
        let there = other.join().unwrap();
        assert!(here ^ there, "exactly one kill took: {here} {there}");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}

#[test]
fn a_kill_racing_the_tasks_own_end_has_exactly_one_outcome() {
    let (mut results, mut kills) = (0, 0);
    for _ in 0..500 {
        let (f, _calls) = running_with_hook();
        let callbacks = count_callbacks(&f);
        let start = Arc::new(Barrier::new(2));
        let (worker, start2) = (f.clone(), Arc::clone(&start));
        // The fake executor's worker, finishing the task.
        let t = thread::spawn(move || {
            start2.wait();
            worker.set_result(1).is_ok()
        });
        start.wait();
        let kill_took = f.kill();
        let result_took = t.join().unwrap();
        assert!(kill_took ^ result_took, "{kill_took} {result_took}");
        match f.result_timeout(BOUND) {
            Ok(1) => {
                assert!(!kill_took);
                results += 1;
            }
            Err(Error::Killed { .. }) => {
                assert!(kill_took);
                kills += 1;
            }
            other => panic!("unexpected outcome {other:?}"),
        }
        assert_eq!(callbacks.load(Ordering::SeqCst), 1);
    }
    assert_eq!(results + kills, 500);
}

#[test]
fn the_hook_is_dropped_once_the_future_is_done() {
    let owned = Arc::new(());
    let f = Future::<u32>::new();
    assert!(f.set_running_or_notify_cancel());
    let held = Arc::clone(&owned);
    f.set_kill_hook(move || {
        drop(held);
        true
    });
    assert_eq!(Arc::strong_count(&owned), 2);
    f.set_result(3).unwrap();
    assert_eq!(Arc::strong_count(&owned), 1, "the hook was dropped unused");

    let held = Arc::clone(&owned);
    assert!(!f.set_kill_hook(move || {
        drop(held);
        true
    }));
    assert_eq!(Arc::strong_count(&owned), 1, "refused and dropped at once");
}

#[test]
fn a_second_hook_replaces_the_first() {
    let f = Future::<u32>::new();
    assert!(f.set_running_or_notify_cancel());
    let which = Arc::new(AtomicUsize::new(0));
    let (w1, w2) = (Arc::clone(&which), Arc::clone(&which));
    f.set_kill_hook(move || {
        w1.store(1, Ordering::SeqCst);
        true
    });
    f.set_kill_hook(move || {
        w2.store(2, Ordering::SeqCst);
        true
    });
    assert!(f.kill());
    assert_eq!(which.load(Ordering::SeqCst), 2);
}

#[test]
fn killed_names_itself_and_its_message() {
    let e = killed("`cube` in worker 4242: its timeout of 2 s ran out");
    assert_eq!(
        e.to_string(),
        "task killed: `cube` in worker 4242: its timeout of 2 s ran out"
    );
    assert_eq!(e.python_name(), "ProcessExpired");
}

#[test]
fn a_thread_pool_refuses_a_task_timeout_in_map() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let opts = MapOptions {
        task_timeout: Some(BOUND),
        ..Default::default()
    };
    let e = pool.map_with(|x: u32| x, 0..3, opts).unwrap_err();
    assert!(matches!(&e, Error::InvalidArgument { message } if message.contains("task_timeout")));
}

#[test]
fn submit_options_default_to_no_limit() {
    let opts = SubmitOptions::default();
    assert_eq!(opts.timeout, None);
    let copy = opts.clone();
    assert_eq!(format!("{copy:?}"), "SubmitOptions { timeout: None }");
}

#[test]
fn a_thread_task_stops_when_the_flag_it_checks_is_set() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let (started_tx, started) = mpsc::channel();
    let flag = Arc::clone(&stop);
    let f = pool
        .submit(move || {
            let mut steps = 0_u64;
            started_tx.send(()).unwrap();
            // The task's own loop decides when to look: between steps.
            while !flag.load(Ordering::Relaxed) {
                steps += 1;
                thread::yield_now();
            }
            steps
        })
        .unwrap();
    started.recv_timeout(BOUND).unwrap();
    assert!(!f.kill(), "from outside, nothing stops it");
    stop.store(true, Ordering::Relaxed);
    assert!(f.result_timeout(BOUND).is_ok(), "it stopped itself");
}
