//! Article §7, "Thread/Process Pools with Initialization Methods", on
//! processes; the code is the `initializer` of the builder in
//! `src/process/mod.rs`, sent by `src/process/conn.rs` and run by
//! `src/process/worker.rs`.
//!
//! The story: the initializer is a registered task too. Each worker process
//! runs it once, with the pool's arguments, before its first task. If it
//! panics the pool is broken: every pending future fails with `BrokenPool`,
//! and so does every later `submit` or `map`, even after `shutdown`. Unlike
//! CPython's "a child process terminated abruptly", the message says which
//! initializer failed, in which worker.

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use common::remote::{wait_at, RemoteGate};
use common::BOUND;
use concurrent_futures::process::{Registered, Task};
use concurrent_futures::{Error, ProcessPoolExecutor};

/// In a worker process: what the initializer was given, and how many times
/// it ran there.
static INIT_ARG: OnceLock<String> = OnceLock::new();
static INIT_CALLS: AtomicUsize = AtomicUsize::new(0);

fn initializer(arg: String) {
    INIT_CALLS.fetch_add(1, Ordering::SeqCst);
    let _ = INIT_ARG.set(arg);
}

/// What a task sees of its process: the initializer's argument, how many
/// times the initializer ran, and the pid.
fn state(_: ()) -> (Option<String>, usize, u32) {
    (
        INIT_ARG.get().cloned(),
        INIT_CALLS.load(Ordering::SeqCst),
        std::process::id(),
    )
}

fn failing_init(_: ()) {
    panic!("cannot open the database");
}

/// Waits at the test's gate, then fails: lets the test queue work first.
fn failing_init_after(gate: String) {
    wait_at(&gate);
    panic!("cannot open the database");
}

fn cube(x: u64) -> u64 {
    x.pow(3)
}

const INIT: Task<String, ()> = Task::new("initializer", initializer);
const STATE: Task<(), (Option<String>, usize, u32)> = Task::new("state", state);
const FAILING_INIT: Task<(), ()> = Task::new("failing_init", failing_init);
const FAILING_INIT_AFTER: Task<String, ()> = Task::new("failing_init_after", failing_init_after);
const CUBE: Task<u64, u64> = Task::new("cube", cube);
const TASKS: &[&dyn Registered] = &[&INIT, &STATE, &FAILING_INIT, &FAILING_INIT_AFTER, &CUBE];

concurrent_futures::worker_test!(TASKS);

/// True for the pool's "broken by a failed initializer" error.
fn is_broken_by_init(e: &Error, task: &str) -> bool {
    matches!(e, Error::BrokenPool { message }
        if message.contains(&format!("initializer `{task}` failed"))
            && message.contains("cannot open the database")
            && message.contains("not usable anymore"))
}

#[test]
fn the_initializer_runs_once_in_each_worker_before_any_task() {
    // The article passes `initargs=("test_arg",)`. One worker at a time, each
    // retired after two tasks: six tasks, three fresh processes, and every
    // task finds the initializer already run, exactly once, in its process.
    let pool = ProcessPoolExecutor::builder()
        .max_workers(1)
        .max_tasks_per_child(2)
        .initializer(&INIT, "test_arg".to_string())
        .build()
        .unwrap();
    let seen: Vec<_> = (0..6)
        .map(|_| {
            pool.submit(&STATE, ())
                .unwrap()
                .result_timeout(BOUND)
                .unwrap()
        })
        .collect();
    for (arg, calls, _) in &seen {
        assert_eq!(arg.as_deref(), Some("test_arg"));
        assert_eq!(*calls, 1);
    }
    let pids: HashSet<u32> = seen.iter().map(|(_, _, pid)| *pid).collect();
    assert_eq!(pids.len(), 3, "{seen:?}");
}

#[test]
fn many_tasks_on_several_workers_all_see_one_initializer_run() {
    let pool = ProcessPoolExecutor::builder()
        .max_workers(2)
        .initializer(&INIT, "test_arg".to_string())
        .build()
        .unwrap();
    let futures: Vec<_> = (0..20).map(|_| pool.submit(&STATE, ()).unwrap()).collect();
    for f in futures {
        let (arg, calls, pid) = f.result_timeout(BOUND).unwrap();
        assert_eq!((arg.as_deref(), calls), (Some("test_arg"), 1));
        assert_ne!(pid, std::process::id());
    }
    assert!(pool.worker_pids().len() <= 2);
}

#[test]
fn a_failing_initializer_breaks_the_pool_for_pending_and_later_tasks() {
    // The initializer holds at a gate, so three tasks are submitted (and
    // accepted) before it fails.
    let gate = RemoteGate::new();
    let pool = ProcessPoolExecutor::builder()
        .max_workers(1)
        .initializer(&FAILING_INIT_AFTER, gate.arg())
        .build()
        .unwrap();
    let pending: Vec<_> = (1..=3).map(|x| pool.submit(&CUBE, x).unwrap()).collect();
    gate.arrived();
    gate.open();
    for f in &pending {
        let e = f.result_timeout(BOUND).unwrap_err();
        assert!(is_broken_by_init(&e, "failing_init_after"), "{e:?}");
    }

    // From now on nothing is accepted, with the same reason.
    let e = pool.submit(&CUBE, 4).unwrap_err();
    assert!(is_broken_by_init(&e, "failing_init_after"), "{e:?}");
    let e = pool.map(&CUBE, 1..=3).unwrap_err();
    assert!(is_broken_by_init(&e, "failing_init_after"), "{e:?}");
}

#[test]
fn the_task_that_started_the_worker_fails_too() {
    let pool = ProcessPoolExecutor::builder()
        .max_workers(2)
        .initializer(&FAILING_INIT, ())
        .build()
        .unwrap();
    let f = pool.submit(&CUBE, 3).unwrap();
    let e = f.result_timeout(BOUND).unwrap_err();
    assert!(is_broken_by_init(&e, "failing_init"), "{e:?}");
    assert!(!f.cancelled());
}

#[test]
fn submit_checks_broken_before_shut_down() {
    let pool = ProcessPoolExecutor::builder()
        .max_workers(1)
        .initializer(&FAILING_INIT, ())
        .build()
        .unwrap();
    let f = pool.submit(&CUBE, 3).unwrap();
    assert!(f.result_timeout(BOUND).is_err());
    pool.shutdown();
    let e = pool.submit(&CUBE, 4).unwrap_err();
    assert!(is_broken_by_init(&e, "failing_init"), "{e:?}");
}
