//! Article §7, "Thread/Process Pools with Initialization Methods for Tasks";
//! the code is `src/initializer.rs`.
//!
//! The story: the initializer runs once in each worker thread, as that
//! thread starts and before its first task. If it panics, the pool is broken
//! for good: every task still queued fails with `BrokenPool`, and so does
//! every later `submit` or `map`, even after `shutdown` (broken is checked
//! first, as in Python).

mod common;

use std::cell::Cell;
use std::sync::{Arc, Mutex};

use common::{thread_name, Gate, Rendezvous, BOUND};
use concurrent_futures::{Error, MapOptions, ThreadPoolExecutor};

/// Python's `BrokenThreadPool` message, word for word.
const BROKEN: &str = "A thread initializer failed, the thread pool is not usable anymore";

fn broken() -> Error {
    Error::BrokenPool {
        message: BROKEN.into(),
    }
}

thread_local! {
    /// Set by the initializer, read by tasks: proves both ran on one thread,
    /// the initializer first.
    static INITIALIZED: Cell<bool> = const { Cell::new(false) };
}

#[test]
fn the_initializer_runs_once_per_thread_before_any_task() {
    // The article's example: five threads, each printing its name from the
    // initializer; here the names are collected instead.
    let inits = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&inits);
    let pool = ThreadPoolExecutor::builder()
        .max_workers(5)
        .thread_name_prefix("Thread")
        .initializer(move || {
            INITIALIZED.with(|i| i.set(true));
            seen.lock().unwrap().push(thread_name());
        })
        .build()
        .unwrap();
    // Five tasks that meet force five threads; twenty more reuse them.
    let meet = Rendezvous::new(5);
    let all_met: Vec<_> = (0..5)
        .map(|_| {
            let meet = Arc::clone(&meet);
            pool.submit(move || {
                meet.wait();
                INITIALIZED.with(Cell::get)
            })
            .unwrap()
        })
        .collect();
    let later: Vec<_> = (0..20)
        .map(|_| pool.submit(|| INITIALIZED.with(Cell::get)).unwrap())
        .collect();
    for f in all_met.iter().chain(&later) {
        assert_eq!(f.result_timeout(BOUND), Ok(true));
    }

    let mut names = inits.lock().unwrap().clone();
    names.sort();
    assert_eq!(
        names,
        ["Thread_0", "Thread_1", "Thread_2", "Thread_3", "Thread_4"]
    );
}

#[test]
fn the_initializer_runs_only_in_threads_that_start() {
    // Lazy threads, lazy initializers: ten sequential tasks, one thread, one
    // call.
    let calls = Arc::new(Mutex::new(0));
    let c = Arc::clone(&calls);
    let pool = ThreadPoolExecutor::builder()
        .max_workers(4)
        .initializer(move || *c.lock().unwrap() += 1)
        .build()
        .unwrap();
    assert_eq!(*calls.lock().unwrap(), 0);
    for i in 0..10 {
        assert_eq!(pool.submit(move || i).unwrap().result_timeout(BOUND), Ok(i));
    }
    assert_eq!(*calls.lock().unwrap(), 1);
}

#[test]
fn a_failing_initializer_breaks_the_pool_for_queued_and_later_tasks() {
    // The initializer waits at a gate before it panics, so that three tasks
    // are queued by the time the pool breaks.
    let gate = Gate::new();
    let g = Arc::clone(&gate);
    let pool = ThreadPoolExecutor::builder()
        .max_workers(1)
        .initializer(move || {
            g.wait();
            panic!("cannot open the database");
        })
        .build()
        .unwrap();
    let queued: Vec<_> = (0..3).map(|i| pool.submit(move || i).unwrap()).collect();
    gate.open();
    for f in &queued {
        assert_eq!(f.result_timeout(BOUND), Err(broken()));
        assert!(!f.cancelled());
    }

    // From now on nothing is accepted.
    assert_eq!(pool.submit(|| 4).unwrap_err(), broken());
    assert_eq!(pool.map(|x: u8| x, 0..3).unwrap_err(), broken());
    let opts = MapOptions {
        buffersize: Some(2),
        ..Default::default()
    };
    assert_eq!(pool.map_with(|x: u8| x, 0..3, opts).unwrap_err(), broken());
    assert_eq!(broken().to_string(), BROKEN);
    assert_eq!(broken().python_name(), "BrokenExecutor");
}

#[test]
fn the_task_that_started_the_thread_fails_too() {
    // The first submit queues its task and starts the thread; the thread's
    // initializer fails before the task can run, so the task gets the error.
    let pool = ThreadPoolExecutor::builder()
        .max_workers(2)
        .initializer(|| panic!("no"))
        .build()
        .unwrap();
    let f = pool.submit(|| 1).unwrap();
    assert_eq!(f.result_timeout(BOUND), Err(broken()));
}

#[test]
fn submit_checks_broken_before_shut_down() {
    // Python's `submit` raises `BrokenThreadPool` before it looks at
    // `_shutdown`, so a broken pool that was then shut down says "broken".
    let pool = ThreadPoolExecutor::builder()
        .max_workers(1)
        .initializer(|| panic!("no"))
        .build()
        .unwrap();
    let f = pool.submit(|| 1).unwrap();
    assert_eq!(f.result_timeout(BOUND), Err(broken()));
    pool.shutdown();
    assert_eq!(pool.submit(|| 2).unwrap_err(), broken());
    assert_eq!(pool.map(|x: u8| x, 0..1).unwrap_err(), broken());
}

#[test]
fn a_task_already_running_when_the_pool_breaks_still_finishes() {
    // Thread 0 initializes fine and runs a task held at a gate; thread 1's
    // initializer fails. The pool is broken, but the running task's result
    // is not lost, and the queued one is failed rather than left pending.
    let gate = Gate::new();
    let pool = ThreadPoolExecutor::builder()
        .max_workers(2)
        .thread_name_prefix("half")
        .initializer(|| {
            if thread_name() == "half_1" {
                panic!("the second thread cannot start");
            }
        })
        .build()
        .unwrap();
    let (started_tx, started) = std::sync::mpsc::channel();
    let g = Arc::clone(&gate);
    let running = pool
        .submit(move || {
            started_tx.send(()).unwrap();
            g.wait();
            "finished"
        })
        .unwrap();
    started.recv_timeout(BOUND).unwrap();
    // This submit starts thread 1, whose initializer breaks the pool.
    let queued = pool.submit(|| "never").unwrap();
    assert_eq!(queued.result_timeout(BOUND), Err(broken()));

    gate.open();
    assert_eq!(running.result_timeout(BOUND), Ok("finished"));
}

/// A pool of `n` threads named `init_k` whose initializer, in `init_1` only,
/// says it started and then waits at `held`; in `init_2`, it panics. The
/// pool's first task holds `init_0` at `busy`; returns once it runs.
fn second_initializer_held(
    n: usize,
    held: &Arc<Gate>,
    busy: &Arc<Gate>,
) -> (ThreadPoolExecutor, std::sync::mpsc::Receiver<()>) {
    let (init_tx, init_started) = std::sync::mpsc::channel();
    let held = Arc::clone(held);
    let pool = ThreadPoolExecutor::builder()
        .max_workers(n)
        .thread_name_prefix("init")
        .initializer(move || match thread_name().as_str() {
            "init_1" => {
                init_tx.send(()).unwrap();
                held.wait();
            }
            "init_2" => panic!("the third thread's initializer fails"),
            _ => {}
        })
        .build()
        .unwrap();
    let (running_tx, running) = std::sync::mpsc::channel();
    let busy = Arc::clone(busy);
    pool.submit(move || {
        running_tx.send(()).unwrap();
        busy.wait();
    })
    .unwrap();
    running.recv_timeout(BOUND).unwrap();
    (pool, init_started)
}

#[test]
fn a_task_does_not_wait_for_the_initializer_of_the_thread_it_started() {
    // The task starts `init_1`, whose initializer is slow; `init_0` becomes
    // free first and runs it (CPython 3.13: on `_0`). One queue for every
    // task is what allows it: a task handed to its new thread waited for
    // that thread's initializer.
    let (held, busy) = (Gate::new(), Gate::new());
    let (pool, init_started) = second_initializer_held(2, &held, &busy);
    let task = pool.submit(thread_name).unwrap();
    init_started.recv_timeout(BOUND).unwrap();
    busy.open();
    // Well before `held` gives up, so waiting for it cannot pass.
    assert_eq!(task.result_timeout(BOUND / 2).unwrap(), "init_0");
    held.open();
}

#[test]
fn shutdown_cancels_a_task_whose_new_thread_is_still_initializing() {
    // CPython 3.13: cancelled, since it is still in the queue.
    let (held, busy) = (Gate::new(), Gate::new());
    let (pool, init_started) = second_initializer_held(2, &held, &busy);
    let task = pool.submit(|| ()).unwrap();
    init_started.recv_timeout(BOUND).unwrap();
    pool.shutdown_with(concurrent_futures::Shutdown {
        wait: false,
        cancel_futures: true,
    });
    assert!(task.cancelled(), "{task:?}");
    busy.open();
    held.open();
}

#[test]
fn a_task_waiting_for_an_initializer_fails_when_another_breaks_the_pool() {
    // `init_1` initializes slowly with the second task still queued; then
    // `init_2`'s initializer fails. Both queued tasks fail with BrokenPool
    // (CPython 3.13: the same); the one handed to `init_1` used to run.
    let (held, busy) = (Gate::new(), Gate::new());
    let (pool, init_started) = second_initializer_held(3, &held, &busy);
    let waiting = pool.submit(|| 1).unwrap();
    init_started.recv_timeout(BOUND).unwrap();
    let breaking = pool.submit(|| 2).unwrap();
    assert_eq!(breaking.result_timeout(BOUND), Err(broken()));
    held.open();
    assert_eq!(waiting.result_timeout(BOUND), Err(broken()));
    busy.open();
}
