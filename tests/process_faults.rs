//! The failure matrix of the process pool (issue 3, §3), in the spirit of
//! CPython's `test_concurrent_futures/test_deadlock.py`: a fault injected at
//! every stage, each ending within a bounded time in a clear error on the
//! right futures, never in a hang.
//!
#![doc = include_str!("failure_matrix.md")]
//!
//! Where the pool breaks, the message names the worker (index and pid), how
//! it ended (exit code or signal) and which task it was running.

mod common;

use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::remote::{wait_at, RemoteGate};
use concurrent_futures::process::{serve_if_worker, Registered, Task, Wire};
use concurrent_futures::{Error, Future, MapOptions, ProcessPoolExecutor};

const LONG: Duration = Duration::from_secs(20);

/// Refuses to encode 13 and to decode 666, wherever that happens.
#[derive(Clone, Debug, PartialEq)]
struct Fragile(u64);

impl Wire for Fragile {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        if self.0 == 13 {
            return Err(Error::Encoding {
                message: "13 is unlucky".into(),
            });
        }
        self.0.encode(out)
    }
    fn decode(input: &mut &[u8]) -> Result<Self, Error> {
        match u64::decode(input)? {
            666 => Err(Error::Encoding {
                message: "666 will not decode".into(),
            }),
            n => Ok(Fragile(n)),
        }
    }
}

fn fragile_id(x: Fragile) -> Fragile {
    x
}

/// Returns `Fragile(x)`: a result that may fail to encode or decode.
fn make_fragile(x: u64) -> Fragile {
    Fragile(x)
}

fn cube(x: u64) -> u64 {
    x.pow(3)
}

fn exit_with(code: i32) -> u64 {
    std::process::exit(code)
}

fn abort(_: ()) -> u64 {
    std::process::abort()
}

fn fail_init(_: u64) {
    panic!("the initializer refuses");
}

fn shout(s: String) -> String {
    s.to_uppercase()
}

fn pid(_: ()) -> u32 {
    std::process::id()
}

/// Waits at the test's `RemoteGate` (tests/common/remote.rs) until it opens:
/// a latch across processes. Returns this worker's pid.
fn gate(path: String) -> u32 {
    wait_at(&path)
}

const FRAGILE_ID: Task<Fragile, Fragile> = Task::new("fragile_id", fragile_id);
const MAKE_FRAGILE: Task<u64, Fragile> = Task::new("make_fragile", make_fragile);
const CUBE: Task<u64, u64> = Task::new("cube", cube);
const EXIT: Task<i32, u64> = Task::new("exit", exit_with);
const ABORT: Task<(), u64> = Task::new("abort", abort);
const FAIL_INIT: Task<u64, ()> = Task::new("fail_init", fail_init);
const SHOUT: Task<String, String> = Task::new("shout", shout);
const PID: Task<(), u32> = Task::new("pid", pid);
const GATE: Task<String, u32> = Task::new("gate", gate);
/// In no table: workers do not know it.
const MISSING: Task<u64, u64> = Task::new("missing", cube);
const TASKS: &[&dyn Registered] = &[
    &FRAGILE_ID,
    &MAKE_FRAGILE,
    &CUBE,
    &EXIT,
    &ABORT,
    &FAIL_INIT,
    &SHOUT,
    &PID,
    &GATE,
];

/// Set for the processes of `a_worker_that_exits_before_connecting`: they
/// play a program whose `main` forgot `serve_if_worker`.
const FORGETFUL: &str = "CF_FAULTS_FORGET_TO_SERVE";

/// What `worker_test!(TASKS)` expands to, plus the forgetful mode.
#[test]
fn __concurrent_futures_worker() {
    if std::env::var_os(FORGETFUL).is_none() {
        serve_if_worker(TASKS)
    }
}

/// `kill -9 pid`, then waits (boundedly) until the pool has reaped it.
/// (A zombie is not enough: a worker has several threads, and its socket
/// closes only once the last one is gone.)
fn kill9(pid: u32) {
    let ok = Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let start = Instant::now();
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        assert!(start.elapsed() < LONG, "{pid} was not reaped after SIGKILL");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// True if `pid` is a child of this process that has not been reaped.
fn is_our_child(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    after.split(' ').nth(1).unwrap().parse::<u32>().unwrap() == std::process::id()
}

fn broken_message<T: Clone + std::fmt::Debug>(f: &Future<T>) -> String {
    match f.result_timeout(LONG) {
        Err(Error::BrokenPool { message }) => message,
        other => panic!("expected BrokenPool, got {other:?}"),
    }
}

fn encoding_message<T: Clone + std::fmt::Debug>(f: &Future<T>) -> String {
    match f.result_timeout(LONG) {
        Err(Error::Encoding { message }) => message,
        other => panic!("expected Encoding, got {other:?}"),
    }
}

fn assert_broken_for_later_submits(pool: &ProcessPoolExecutor) {
    let e = pool.submit(&CUBE, 1).unwrap_err();
    assert!(matches!(e, Error::BrokenPool { .. }), "{e:?}");
}

/// The pool still works after a fault that was meant to spare it.
fn assert_survives(pool: &ProcessPoolExecutor) {
    assert_eq!(pool.submit(&CUBE, 3).unwrap().result_timeout(LONG), Ok(27));
}

#[test]
fn an_argument_that_fails_to_encode_fails_only_its_future() {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let ok = pool.submit(&FRAGILE_ID, Fragile(1)).unwrap();
    let bad = pool.submit(&FRAGILE_ID, Fragile(13)).unwrap();
    let message = encoding_message(&bad);
    assert!(message.contains("13 is unlucky"), "{message}");
    assert!(message.contains("`fragile_id`"), "{message}");
    assert_eq!(ok.result_timeout(LONG), Ok(Fragile(1)));
    assert_survives(&pool);
}

#[test]
fn an_argument_that_fails_to_decode_in_the_worker_fails_only_its_future() {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let before = pool.submit(&PID, ()).unwrap().result_timeout(LONG).unwrap();
    let message = encoding_message(&pool.submit(&FRAGILE_ID, Fragile(666)).unwrap());
    assert!(message.contains("666 will not decode"), "{message}");
    assert!(message.contains("decode the argument"), "{message}");
    assert_survives(&pool);
    let after = pool.submit(&PID, ()).unwrap().result_timeout(LONG).unwrap();
    assert_eq!(before, after, "the same worker lives on");
}

#[test]
fn a_result_that_fails_to_encode_in_the_worker_fails_only_its_future() {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let message = encoding_message(&pool.submit(&MAKE_FRAGILE, 13).unwrap());
    assert!(message.contains("13 is unlucky"), "{message}");
    assert!(message.contains("encode the result"), "{message}");
    assert_eq!(
        pool.submit(&MAKE_FRAGILE, 12).unwrap().result_timeout(LONG),
        Ok(Fragile(12))
    );
}

#[test]
fn a_result_that_fails_to_decode_in_the_parent_fails_only_its_future() {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let message = encoding_message(&pool.submit(&MAKE_FRAGILE, 666).unwrap());
    assert!(message.contains("666 will not decode"), "{message}");
    assert!(message.contains("decode the result"), "{message}");
    assert_survives(&pool);
}

#[test]
fn a_task_missing_from_the_table_fails_only_its_future_and_says_the_fix() {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let message = encoding_message(&pool.submit(&MISSING, 2).unwrap());
    assert!(message.contains("no task named `missing`"), "{message}");
    assert!(message.contains("TASKS"), "{message}");
    assert_survives(&pool);
}

#[test]
fn process_exit_in_a_task_breaks_the_pool_with_the_exit_code() {
    let gate = RemoteGate::new();
    let pool = ProcessPoolExecutor::new(1).unwrap();
    // The gate holds the worker until everything is queued behind `exit`.
    let first = pool.submit(&GATE, gate.arg()).unwrap();
    let dying = pool.submit(&EXIT, 3).unwrap();
    let queued: Vec<_> = (0..4).map(|i| pool.submit(&CUBE, i).unwrap()).collect();
    let pid = gate.arrived();
    gate.open();
    assert_eq!(first.result_timeout(LONG), Ok(pid));
    let message = broken_message(&dying);
    let expected =
        format!("worker 0 (pid {pid}) exited with code 3 while running `exit` (work item 1)");
    assert!(message.contains(&expected), "{message}");
    for f in &queued {
        assert_eq!(broken_message(f), message);
    }
    assert_broken_for_later_submits(&pool);
}

#[test]
fn abort_in_a_task_breaks_the_pool_with_the_signal() {
    let gate = RemoteGate::new();
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let first = pool.submit(&GATE, gate.arg()).unwrap();
    let dying = pool.submit(&ABORT, ()).unwrap();
    let queued: Vec<_> = (0..4).map(|i| pool.submit(&CUBE, i).unwrap()).collect();
    let pid = gate.arrived();
    gate.open();
    assert_eq!(first.result_timeout(LONG), Ok(pid));
    let message = broken_message(&dying);
    let expected = format!(
        "worker 0 (pid {pid}) was killed by signal 6 (SIGABRT) while running `abort` (work item 1)"
    );
    assert!(message.contains(&expected), "{message}");
    for f in &queued {
        assert_eq!(broken_message(f), message);
    }
    assert_broken_for_later_submits(&pool);
}

#[test]
fn sigkill_while_running_a_task_breaks_the_pool_naming_the_task() {
    let gate = RemoteGate::new();
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let running = pool.submit(&GATE, gate.arg()).unwrap();
    let queued: Vec<_> = (0..4).map(|i| pool.submit(&CUBE, i).unwrap()).collect();
    let pid = gate.arrived();
    kill9(pid);
    let message = broken_message(&running);
    let expected = format!(
        "worker 0 (pid {pid}) was killed by signal 9 (SIGKILL) while running `gate` (work item 0)"
    );
    assert!(message.contains(&expected), "{message}");
    for f in &queued {
        assert_eq!(broken_message(f), message);
    }
    assert_broken_for_later_submits(&pool);
}

#[test]
fn sigkill_while_idle_breaks_the_pool_for_the_next_submit() {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let pid = pool.submit(&PID, ()).unwrap().result_timeout(LONG).unwrap();
    kill9(pid);
    // The pool may or may not have noticed yet: either submit refuses, or
    // the future fails; both say what happened.
    let message = match pool.submit(&CUBE, 2) {
        Err(Error::BrokenPool { message }) => message,
        Ok(f) => broken_message(&f),
        Err(e) => panic!("{e:?}"),
    };
    let expected = format!("worker 0 (pid {pid}) was killed by signal 9 (SIGKILL) while idle");
    assert!(message.contains(&expected), "{message}");
    assert_broken_for_later_submits(&pool);
}

#[test]
fn a_failing_initializer_breaks_the_pool() {
    let pool = ProcessPoolExecutor::builder()
        .max_workers(2)
        .initializer(&FAIL_INIT, 0)
        .build()
        .unwrap();
    let first = pool.submit(&CUBE, 0).unwrap();
    let message = broken_message(&first);
    assert!(
        message.contains("the initializer `fail_init` failed in worker"),
        "{message}"
    );
    assert!(
        message.contains("(at tests/process_faults.rs:"),
        "{message}"
    );
    assert!(message.contains("the initializer refuses"), "{message}");
    for i in 1..5 {
        // Once the pool knows, submit refuses; before, the future fails.
        let later = match pool.submit(&CUBE, i) {
            Ok(f) => broken_message(&f),
            Err(Error::BrokenPool { message }) => message,
            Err(e) => panic!("{e:?}"),
        };
        assert_eq!(later, message);
    }
    assert_broken_for_later_submits(&pool);
}

#[test]
fn a_worker_that_exits_before_connecting_says_what_to_fix() {
    if std::env::var_os(FORGETFUL).is_some() {
        // In the copy started below: its workers will not serve.
        let pool = ProcessPoolExecutor::new(1).unwrap();
        let message = broken_message(&pool.submit(&CUBE, 3).unwrap());
        println!("MESSAGE: {message}");
        return;
    }
    // Run this very test in a copy of the binary whose workers forget to
    // call serve_if_worker, as a `main` without it would.
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "a_worker_that_exits_before_connecting_says_what_to_fix",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(FORGETFUL, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let message = stdout
        .lines()
        .find_map(|l| l.split_once("MESSAGE: ").map(|(_, m)| m))
        .unwrap_or_else(|| panic!("no message in {stdout}"));
    assert!(message.starts_with("worker 0 (pid "), "{message}");
    assert!(
        message.contains("exited with code 0 before connecting"),
        "{message}"
    );
    assert!(
        message.contains("serve_if_worker(TASKS)") && message.contains("worker_test!(TASKS)"),
        "{message}"
    );
}

/// Set for the copy run by `a_stray_worker_starts_no_workers`.
const STRAY: &str = "CF_FAULTS_STRAY";

#[test]
fn a_stray_worker_starts_no_workers() {
    if std::env::var_os(STRAY).is_some() {
        let pool = ProcessPoolExecutor::new(1).unwrap();
        let e = pool.submit(&CUBE, 3).unwrap_err();
        assert!(matches!(e, Error::BrokenPool { .. }), "{e:?}");
        println!("MESSAGE: {e}");
        return;
    }
    // A copy that looks like a worker (the pool's variable is set) but runs
    // an ordinary test instead of serving: it must not start copies of itself.
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "a_stray_worker_starts_no_workers",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CONCURRENT_FUTURES_WORKER", "/nonexistent/socket")
        .env(STRAY, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let message = stdout
        .lines()
        .find_map(|l| l.split_once("MESSAGE: ").map(|(_, m)| m))
        .unwrap_or_else(|| panic!("no message in {stdout}"));
    assert!(
        message.contains("did not call serve_if_worker"),
        "{message}"
    );
}

#[test]
fn shutdown_while_a_worker_dies_returns_and_fails_what_was_owed() {
    let gate = RemoteGate::new();
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let running = pool.submit(&GATE, gate.arg()).unwrap();
    let queued: Vec<_> = (0..4).map(|i| pool.submit(&CUBE, i).unwrap()).collect();
    let pid = gate.arrived();
    let (done_tx, done) = mpsc::channel();
    std::thread::scope(|s| {
        s.spawn(|| {
            pool.shutdown(); // blocks: the gate holds the worker
            done_tx.send(()).unwrap();
        });
        assert!(done.recv_timeout(Duration::from_millis(50)).is_err());
        kill9(pid);
        done.recv_timeout(LONG).expect("shutdown hung");
    });
    assert!(broken_message(&running).contains("killed by signal 9"));
    for f in &queued {
        broken_message(f);
    }
    assert!(!is_our_child(pid));
}

#[test]
fn a_16_mib_argument_and_result_get_through() {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let big = "ab".repeat(8 << 20);
    let f = pool.submit(&SHOUT, big).unwrap();
    let got = f.result_timeout(LONG).unwrap();
    assert_eq!(got.len(), 16 << 20);
    assert!(got.bytes().all(|b| b == b'A' || b == b'B'));
}

#[test]
fn a_hundred_thousand_tasks_in_chunks() {
    let pool = ProcessPoolExecutor::new(2).unwrap();
    let opts = MapOptions {
        chunksize: 1000,
        timeout: Some(LONG),
        ..Default::default()
    };
    let mut n = 0u64;
    for (i, r) in (0..100_000u64).zip(pool.map_with(&CUBE, 0..100_000u64, opts).unwrap()) {
        assert_eq!(r, Ok(i.pow(3)));
        n += 1;
    }
    assert_eq!(n, 100_000);
}
