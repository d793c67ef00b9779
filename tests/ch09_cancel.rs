//! Article §9, "Cancel Tasks using cancel()"; the code is `src/cancel.rs`.
//!
//! The story: `cancel()` works only while a task waits in the queue. Once a
//! worker has started it, `cancel()` answers `false` and the task runs to the
//! end. The worker and the canceller race for one lock, so exactly one of
//! them wins: a task is either cancelled and never runs, or runs and is not
//! cancelled.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;

use common::{Gate, BOUND};
use concurrent_futures::{Error, Future, ThreadPoolExecutor};

#[test]
fn the_articles_story_running_tasks_finish_queued_ones_are_cancelled() {
    // Five workers, ten tasks: tasks 1-5 run (held at a gate), 6-10 wait.
    // The article sleeps and hopes; here the test knows five have started.
    let pool = ThreadPoolExecutor::builder()
        .max_workers(5)
        .thread_name_prefix("Thread")
        .build()
        .unwrap();
    let gate = Gate::new();
    let (started_tx, started) = mpsc::channel();
    let futures: Vec<_> = (1..=10_u64)
        .map(|i| {
            let (gate, started_tx) = (Arc::clone(&gate), started_tx.clone());
            pool.submit(move || {
                started_tx.send(()).unwrap();
                gate.wait();
                i.pow(3)
            })
            .unwrap()
        })
        .collect();
    for _ in 0..5 {
        started.recv_timeout(BOUND).unwrap();
    }

    // "Task has not started yet. We can cancel it."
    let mut cancelled = 0;
    for f in &futures {
        if !f.running() && f.cancel() {
            assert!(f.cancelled());
            cancelled += 1;
        }
    }
    assert_eq!(cancelled, 5);

    gate.open();
    let completed: Vec<u64> = futures
        .iter()
        .filter(|f| !f.cancelled())
        .map(|f| f.result_timeout(BOUND).unwrap())
        .collect();
    assert_eq!(completed, [1, 8, 27, 64, 125]);
}

#[test]
fn cancel_succeeds_only_while_pending() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let gate = Gate::new();
    let (started_tx, started) = mpsc::channel();
    let g = Arc::clone(&gate);
    let running = pool
        .submit(move || {
            started_tx.send(()).unwrap();
            g.wait();
            "ran"
        })
        .unwrap();
    let pending = pool.submit(|| "never").unwrap();
    started.recv_timeout(BOUND).unwrap();

    // Running: too late.
    assert!(!running.cancel());
    assert!(!running.cancelled());
    assert!(running.running());

    // Pending: cancelled, done, and its result is `Cancelled`.
    assert!(pending.cancel());
    assert!(pending.cancelled() && pending.done() && !pending.running());
    assert_eq!(pending.result_timeout(BOUND), Err(Error::Cancelled));
    // Cancelling again is not an error: the future *is* cancelled.
    assert!(pending.cancel());

    gate.open();
    assert_eq!(running.result_timeout(BOUND), Ok("ran"));
    // Finished: too late as well.
    assert!(!running.cancel());
    assert!(!running.cancelled());
}

#[test]
fn a_cancelled_future_ignores_the_worker_and_stays_cancelled() {
    // Cancelled while queued; after the worker has passed it, it is still
    // cancelled and `cancel()` still says true.
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let gate = Gate::new();
    let g = Arc::clone(&gate);
    let blocker = pool.submit(move || g.wait()).unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let r = Arc::clone(&ran);
    let f = pool
        .submit(move || r.store(true, Ordering::SeqCst))
        .unwrap();
    assert!(f.cancel());
    gate.open();
    blocker.result_timeout(BOUND).unwrap();
    pool.shutdown();
    assert!(!ran.load(Ordering::SeqCst));
    assert!(f.cancelled() && f.cancel());
    assert_eq!(f.result(), Err(Error::Cancelled));
}

#[test]
fn cancel_wakes_a_thread_waiting_for_the_result() {
    let f = Future::<u8>::new();
    let waiting = f.clone();
    let (going_tx, going) = mpsc::channel();
    let reader = thread::spawn(move || {
        going_tx.send(()).unwrap();
        waiting.result_timeout(BOUND)
    });
    going.recv_timeout(BOUND).unwrap();
    assert!(f.cancel());
    assert_eq!(reader.join().unwrap(), Err(Error::Cancelled));
}

#[test]
fn cancel_and_the_worker_never_both_win() {
    // Submit many small tasks, then cancel them all while the workers are
    // eating through the queue from the same end: each task either ran and
    // was not cancelled, or was cancelled and never ran. Never both, never
    // neither.
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let tasks: Vec<(Future<()>, Arc<AtomicBool>)> = (0..2000)
        .map(|_| {
            let ran = Arc::new(AtomicBool::new(false));
            let r = Arc::clone(&ran);
            let f = pool
                .submit(move || r.store(true, Ordering::SeqCst))
                .unwrap();
            (f, ran)
        })
        .collect();
    let cancelled: Vec<bool> = tasks.iter().map(|(f, _)| f.cancel()).collect();
    pool.shutdown();
    let mut outcomes = [0; 2];
    for ((f, ran), cancelled) in tasks.iter().zip(cancelled) {
        assert!(f.done());
        let ran = ran.load(Ordering::SeqCst);
        assert_eq!(cancelled, f.cancelled());
        assert_ne!(ran, cancelled, "ran: {ran}, cancelled: {cancelled}");
        assert_eq!(f.result().is_ok(), ran);
        outcomes[usize::from(ran)] += 1;
    }
    // Not asserted (it depends on scheduling), but worth seeing with --nocapture.
    println!("cancelled {}, ran {}", outcomes[0], outcomes[1]);
}
