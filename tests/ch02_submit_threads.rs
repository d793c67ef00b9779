//! Article §2, "Submit Tasks to Pool of Threads using submit()"; the code is
//! `src/submit.rs` (`submit`, the work item, the worker loop).
//!
//! The story: `submit` hands back a future at once; a worker picks the item
//! up, first asks the future whether it may run (a cancelled one is
//! skipped), runs it, and stores what it returned, or the panic it raised,
//! as the future's outcome. A panicking task never takes its worker down.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};

use common::{thread_name, Gate, Rendezvous, BOUND};
use concurrent_futures::{Error, ThreadPoolExecutor};

fn cube(x: u64) -> u64 {
    x.pow(3)
}

#[test]
fn submit_returns_futures_whose_results_are_the_cubes() {
    // The article's example: ten cubes on five threads named `Thread_n`.
    let pool = ThreadPoolExecutor::builder()
        .max_workers(5)
        .thread_name_prefix("Thread")
        .build()
        .unwrap();
    let futures: Vec<_> = (1..=10)
        .map(|i| pool.submit(move || (thread_name(), cube(i))).unwrap())
        .collect();
    for (i, f) in (1..=10).zip(&futures) {
        let (name, value) = f.result_timeout(BOUND).unwrap();
        assert_eq!(value, cube(i));
        assert!(name.starts_with("Thread_"), "{name}");
    }
}

#[test]
fn each_submit_while_every_thread_is_busy_starts_the_next_thread() {
    // Five tasks held until all five run: each submit found no idle thread
    // and started one, named in order. Which new thread takes which task is
    // not promised: every task waits in one queue for whichever thread is
    // ready first, as in CPython 3.13, where a thread slow to start lets a
    // later one take task 1.
    let pool = ThreadPoolExecutor::builder()
        .max_workers(5)
        .thread_name_prefix("Thread")
        .build()
        .unwrap();
    let all_running = Rendezvous::new(5);
    let futures: Vec<_> = (0..5)
        .map(|_| {
            let all_running = Arc::clone(&all_running);
            pool.submit(move || {
                all_running.wait();
                thread_name()
            })
            .unwrap()
        })
        .collect();
    let mut names: Vec<String> = futures
        .iter()
        .map(|f| f.result_timeout(BOUND).unwrap())
        .collect();
    names.sort();
    let expected: Vec<String> = (0..5).map(|n| format!("Thread_{n}")).collect();
    assert_eq!(names, expected);
    assert_eq!(pool.threads_started(), 5);
}

#[test]
fn tasks_run_at_the_same_time_on_different_threads() {
    // Five tasks that can only return once all five are running: a pool
    // that ran them one by one would never get past the first.
    let pool = ThreadPoolExecutor::new(5).unwrap();
    let meet = Rendezvous::new(5);
    let futures: Vec<_> = (0..5)
        .map(|_| {
            let meet = Arc::clone(&meet);
            pool.submit(move || meet.wait()).unwrap()
        })
        .collect();
    for f in futures {
        assert_eq!(f.result_timeout(BOUND), Ok(()));
    }
}

#[test]
fn a_future_is_running_while_its_task_runs() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let gate = Gate::new();
    let (started_tx, started) = mpsc::channel();
    let g = Arc::clone(&gate);
    let f = pool
        .submit(move || {
            started_tx.send(()).unwrap();
            g.wait();
            7
        })
        .unwrap();
    started.recv_timeout(BOUND).unwrap();
    // The worker marked it running before calling the closure.
    assert!(f.running());
    assert!(!f.done());
    gate.open();
    assert_eq!(f.result_timeout(BOUND), Ok(7));
    assert!(!f.running());
    assert!(f.done());
}

#[test]
fn the_worker_skips_a_cancelled_item() {
    // One worker, held by a first task; a second task waits in the queue.
    // Cancelled there, it is taken off the queue later by the worker, whose
    // first step (`set_running_or_notify_cancel`) says "skip it".
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let gate = Gate::new();
    let g = Arc::clone(&gate);
    let blocker = pool.submit(move || g.wait()).unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let r = Arc::clone(&ran);
    let queued = pool
        .submit(move || r.store(true, Ordering::SeqCst))
        .unwrap();

    assert!(queued.cancel());
    gate.open();
    blocker.result_timeout(BOUND).unwrap();
    // Anything queued after the cancelled item runs only once the worker has
    // passed it, so this result orders "the worker saw it" before the check.
    pool.submit(|| ()).unwrap().result_timeout(BOUND).unwrap();

    assert!(!ran.load(Ordering::SeqCst), "a cancelled task ran");
    assert_eq!(queued.result_timeout(BOUND), Err(Error::Cancelled));
}

#[test]
fn a_panic_is_the_tasks_exception_and_the_worker_lives_on() {
    // With one worker, the task after the panic can only run if the worker
    // that caught the panic is still alive.
    let pool = ThreadPoolExecutor::builder()
        .max_workers(1)
        .thread_name_prefix("sturdy")
        .build()
        .unwrap();
    let bad = pool
        .submit(|| -> u64 { panic!("cube of {} failed", 7) })
        .unwrap();
    // The message, then where the panic happened.
    let message = match bad.result_timeout(BOUND) {
        Err(Error::Panicked { message }) => message,
        other => panic!("expected Error::Panicked, got {other:?}"),
    };
    assert!(message.starts_with("cube of 7 failed (at "), "{message}");
    // `exception()` gives the same error without the value.
    assert!(matches!(
        bad.exception_timeout(BOUND),
        Ok(Some(Error::Panicked { .. }))
    ));

    let good = pool.submit(|| (thread_name(), cube(3))).unwrap();
    assert_eq!(good.result_timeout(BOUND), Ok(("sturdy_0".into(), 27)));
    assert_eq!(pool.threads_started(), 1);
}

#[test]
fn a_panic_with_a_string_payload_keeps_its_message() {
    // `panic!("{}", x)` carries a `String`, a literal a `&str`; both are kept.
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let owned = String::from("owned message");
    let f = pool
        .submit(move || -> () { std::panic::panic_any(owned) })
        .unwrap();
    let e = f.result_timeout(BOUND).unwrap_err();
    assert!(
        matches!(&e, Error::Panicked { message } if message.starts_with("owned message (at ")),
        "{e:?}"
    );
    assert!(e.to_string().contains("owned message"), "{e}");
}
