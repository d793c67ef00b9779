//! Article §1.1, "Create Pool of Threads/Processes"; the code is `src/pool.rs`
//! (the builder, its defaults and checks) and the thread start-up rule in
//! `src/submit.rs`.
//!
//! The story: a pool is a handful of options, checked once. Its threads are
//! named after a prefix, and they start lazily, one at a time, only when no
//! started thread is free to take the work.

mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};

use common::{thread_name, Gate, Rendezvous, BOUND};
use concurrent_futures::{default_max_workers, Error, ThreadPoolExecutor};

#[test]
fn zero_workers_is_an_invalid_argument() {
    // Python raises `ValueError("max_workers must be greater than 0")`.
    let e = ThreadPoolExecutor::new(0).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{e:?}");
    let e = ThreadPoolExecutor::builder()
        .max_workers(0)
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{e:?}");
    assert!(e.to_string().contains("max_workers"), "{e}");
}

#[test]
fn default_max_workers_is_cpus_plus_four_capped_at_32() {
    // Python 3.8+: `min(32, (os.cpu_count() or 1) + 4)`.
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let expected = 32.min(cpus + 4);
    assert_eq!(default_max_workers(), expected);
    let pool = ThreadPoolExecutor::builder().build().unwrap();
    assert_eq!(pool.max_workers(), expected);
    // An explicit number is kept as given.
    assert_eq!(ThreadPoolExecutor::new(7).unwrap().max_workers(), 7);
}

#[test]
fn threads_are_named_prefix_underscore_index() {
    // The article's pools use `thread_name_prefix="Thread"`. Three tasks that
    // must all meet before any returns are, necessarily, on three threads.
    let pool = ThreadPoolExecutor::builder()
        .max_workers(3)
        .thread_name_prefix("Thread")
        .build()
        .unwrap();
    let meet = Rendezvous::new(3);
    let futures: Vec<_> = (0..3)
        .map(|_| {
            let meet = Arc::clone(&meet);
            pool.submit(move || {
                meet.wait();
                thread_name()
            })
            .unwrap()
        })
        .collect();
    let names: BTreeSet<String> = futures
        .iter()
        .map(|f| f.result_timeout(BOUND).unwrap())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from(["Thread_0".into(), "Thread_1".into(), "Thread_2".into()])
    );
}

/// Splits `ThreadPoolExecutor-{k}_{n}` into `(k, n)`.
fn default_name_parts(name: &str) -> (usize, usize) {
    let rest = name
        .strip_prefix("ThreadPoolExecutor-")
        .unwrap_or_else(|| panic!("{name} lacks the default prefix"));
    let (k, n) = rest.split_once('_').expect("no `_` before the index");
    (k.parse().unwrap(), n.parse().unwrap())
}

#[test]
fn the_default_prefix_counts_pools_across_the_process() {
    // Without a prefix, Python names threads `ThreadPoolExecutor-{k}_{n}`,
    // k counting such pools in the process. Other tests in this binary build
    // unnamed pools too, so k only has to grow, not to grow by one.
    let first = ThreadPoolExecutor::new(1).unwrap();
    let second = ThreadPoolExecutor::new(1).unwrap();
    let name_in = |pool: &ThreadPoolExecutor| {
        let f = pool.submit(thread_name).unwrap();
        f.result_timeout(BOUND).unwrap()
    };
    let (k1, n1) = default_name_parts(&name_in(&first));
    let (k2, n2) = default_name_parts(&name_in(&second));
    assert_eq!((n1, n2), (0, 0));
    assert!(k1 < k2, "pool counter went from {k1} to {k2}");
}

#[test]
fn no_thread_starts_before_the_first_submit() {
    let pool = ThreadPoolExecutor::new(4).unwrap();
    assert_eq!(pool.threads_started(), 0);
    pool.submit(|| ()).unwrap().result_timeout(BOUND).unwrap();
    assert_eq!(pool.threads_started(), 1);
}

#[test]
fn ten_sequential_submits_run_on_one_thread() {
    // Each result is in before the next submit, so the one thread is always
    // idle by then: a new submit must reuse it rather than start another.
    let pool = ThreadPoolExecutor::builder()
        .max_workers(4)
        .thread_name_prefix("seq")
        .build()
        .unwrap();
    let names: Vec<String> = (0..10)
        .map(|_| pool.submit(thread_name).unwrap())
        .map(|f| f.result_timeout(BOUND).unwrap())
        .collect();
    assert_eq!(names, vec!["seq_0".to_string(); 10]);
    assert_eq!(pool.threads_started(), 1);
}

#[test]
fn at_most_one_thread_starts_per_submit() {
    // Two tasks held at a gate: two threads, not the pool's four.
    let pool = ThreadPoolExecutor::new(4).unwrap();
    let gate = Gate::new();
    let held: Vec<_> = (0..2)
        .map(|_| {
            let gate = Arc::clone(&gate);
            pool.submit(move || gate.wait()).unwrap()
        })
        .collect();
    assert_eq!(pool.threads_started(), 2);
    gate.open();
    for f in held {
        f.result_timeout(BOUND).unwrap();
    }
}

#[test]
fn sixty_blocked_tasks_on_four_workers_use_exactly_four_threads() {
    // Every task waits at the gate, so no thread is ever idle: the pool
    // starts one thread per submit until it reaches max_workers, and then
    // the other 56 tasks wait in the queue.
    let pool = ThreadPoolExecutor::builder()
        .max_workers(4)
        .thread_name_prefix("busy")
        .build()
        .unwrap();
    let gate = Gate::new();
    let running = Arc::new(AtomicUsize::new(0));
    let (started_tx, started) = mpsc::channel();
    let futures: Vec<_> = (0..60)
        .map(|_| {
            let (gate, running) = (Arc::clone(&gate), Arc::clone(&running));
            let started_tx = started_tx.clone();
            pool.submit(move || {
                running.fetch_add(1, Ordering::SeqCst);
                started_tx.send(()).unwrap();
                gate.wait();
                thread_name()
            })
            .unwrap()
        })
        .collect();
    assert_eq!(pool.threads_started(), 4);

    // Four tasks start, one on each thread; a fifth would need a fifth thread.
    for _ in 0..4 {
        started.recv_timeout(BOUND).unwrap();
    }
    assert_eq!(running.load(Ordering::SeqCst), 4);

    gate.open();
    let names: BTreeSet<String> = futures
        .iter()
        .map(|f| f.result_timeout(BOUND).unwrap())
        .collect();
    let expected: BTreeSet<String> = (0..4).map(|n| format!("busy_{n}")).collect();
    assert_eq!(names, expected);
    assert_eq!(pool.threads_started(), 4);
}
