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

/// Says it runs (on the worker's stdout, inherited from the test's copy),
/// then works for a minute.
fn busy(_: ()) -> u32 {
    println!("RUNNING: {}", std::process::id());
    let _ = std::io::Write::flush(&mut std::io::stdout());
    std::thread::sleep(Duration::from_secs(60));
    std::process::id()
}

/// Runs this very program, as a tool that calls itself would: the worker
/// entry, as an ordinary test. True if that run succeeded.
fn run_self(_: ()) -> bool {
    Command::new(std::env::current_exe().unwrap())
        .args(["__concurrent_futures_worker", "--exact", "--test-threads=1"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
        .status
        .success()
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
const BUSY: Task<(), u32> = Task::new("busy", busy);
const RUN_SELF: Task<(), bool> = Task::new("run_self", run_self);
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
    &BUSY,
    &RUN_SELF,
];

/// Set for the processes of `a_worker_that_exits_before_connecting`: they
/// play a program whose `main` forgot `serve_if_worker`.
const FORGETFUL: &str = "CF_FAULTS_FORGET_TO_SERVE";

/// Set for the workers of `a_connection_that_ends_...` and
/// `a_bad_frame_...`: they play a worker that says hello, then closes its
/// connection ("eof") or sends nonsense ("garbage"), and lives on.
const FAKE: &str = "CF_FAULTS_FAKE_WORKER";

/// What `worker_test!(TASKS)` expands to, plus the forgetful and fake modes.
#[test]
fn __concurrent_futures_worker() {
    if let Some(mode) = std::env::var_os(FAKE) {
        if std::env::var_os("CONCURRENT_FUTURES_WORKER").is_some() {
            fake_worker(&mode.to_string_lossy());
        }
    }
    if std::env::var_os(DUPLICATE).is_some() {
        serve_if_worker(TWICE);
    }
    if std::env::var_os(FORGETFUL).is_none() {
        serve_if_worker(TASKS)
    }
}

/// Set for the copy run by `a_table_with_a_name_twice_is_refused_naming_it`.
const DUPLICATE: &str = "CF_FAULTS_DUPLICATE";

/// Two different tasks under one name (and `cube` twice): a worker would
/// silently run the first.
const TWICE: &[&dyn Registered] = &[
    &CUBE,
    &Task::<u64, u64>::new("add_one", |x| x + 1),
    &Task::<u64, u64>::new("add_one", |x| x + 2),
    &CUBE,
];

/// A worker that proves who it is, then misbehaves and stays alive.
fn fake_worker(mode: &str) -> ! {
    use std::io::Write;
    let address = std::env::var("CONCURRENT_FUTURES_WORKER").unwrap();
    let token = std::env::var("CONCURRENT_FUTURES_TOKEN").unwrap();
    let mut body = Vec::new();
    (token, std::process::id()).encode(&mut body).unwrap();
    let mut hello = ((body.len() + 1) as u32).to_le_bytes().to_vec();
    hello.push(b'H');
    hello.extend(body);
    let mut conn = connect(&address);
    conn.write_all(&hello).unwrap();
    match mode {
        "eof" => drop(conn),
        _ => {
            conn.write_all(&[1, 0, 0, 0, b'?']).unwrap(); // an unknown tag
            std::mem::forget(conn);
        }
    }
    std::thread::sleep(Duration::from_secs(60));
    std::process::exit(0)
}

#[cfg(target_os = "linux")]
fn connect(address: &str) -> Box<dyn std::io::Write> {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixStream};
    let name = address.strip_prefix('@').unwrap();
    let addr = SocketAddr::from_abstract_name(name).unwrap();
    Box::new(UnixStream::connect_addr(&addr).unwrap())
}

#[cfg(not(target_os = "linux"))]
fn connect(address: &str) -> Box<dyn std::io::Write> {
    Box::new(std::net::TcpStream::connect(address).unwrap())
}

#[cfg(unix)]
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

#[cfg(unix)]
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

#[cfg(unix)] // signals
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

#[cfg(unix)] // signals
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

#[cfg(unix)] // signals
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

#[cfg(unix)] // signals
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

// Issue 13 (reliability): each test below failed before the pool was
// rebuilt around a connection per worker that can be killed.

/// Whether `pid` is running (a zombie is not).
#[cfg(target_os = "linux")]
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| !stat[stat.rfind(')').unwrap() + 2..].starts_with('Z'))
        .unwrap_or(false)
}

/// Set for the copy run by `recycled_workers_leave_no_threads_or_maps_behind`.
#[cfg(target_os = "linux")]
const RECYCLE: &str = "CF_FAULTS_RECYCLE";

/// The lines of /proc/self/maps and the threads of this process.
#[cfg(target_os = "linux")]
fn maps_and_threads() -> (usize, usize) {
    let maps = std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .count();
    let threads = std::fs::read_dir("/proc/self/task").unwrap().count();
    (maps, threads)
}

#[cfg(target_os = "linux")]
#[test]
fn recycled_workers_leave_no_threads_or_maps_behind() {
    if std::env::var_os(RECYCLE).is_some() {
        let pool = ProcessPoolExecutor::builder()
            .max_workers(1)
            .max_tasks_per_child(1)
            .build()
            .unwrap();
        let run = |n: u64| {
            for i in 0..n {
                assert_eq!(
                    pool.submit(&CUBE, i).unwrap().result_timeout(LONG),
                    Ok(i.pow(3))
                );
            }
        };
        run(5);
        let before = maps_and_threads();
        run(100);
        // The last retired worker's threads (in a test binary, four: its
        // receiver, its sender, and two passing its output on) end just
        // after its task's result: give them a moment, bounded. Leaked
        // threads, a hundred workers' worth, would never go.
        let start = Instant::now();
        let mut after = maps_and_threads();
        while after.1 > before.1 && start.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(10));
            after = maps_and_threads();
        }
        println!("BEFORE: {} {}", before.0, before.1);
        println!("AFTER: {} {}", after.0, after.1);
        return;
    }
    // In a copy of its own: no other test's threads come and go meanwhile.
    let out = common::run_copy(
        "recycled_workers_leave_no_threads_or_maps_behind",
        &[(RECYCLE, "1".as_ref())],
    );
    let parse = |key| -> Vec<usize> {
        let v = common::reported(&out, key)
            .split(' ')
            .map(|n| n.parse().unwrap())
            .collect();
        v
    };
    let (before, after) = (parse("BEFORE"), parse("AFTER"));
    // 100 workers retired: each used to leave three threads' stacks mapped.
    assert!(
        after[0] < before[0] + 40,
        "maps grew from {} to {}",
        before[0],
        after[0]
    );
    assert!(
        after[1] <= before[1] + 3,
        "threads grew from {} to {}",
        before[1],
        after[1]
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_broken_pool_kills_its_other_workers_and_drops_at_once() {
    let gate = RemoteGate::new();
    let pool = ProcessPoolExecutor::new(2).unwrap();
    let held = pool.submit(&GATE, gate.arg()).unwrap();
    let survivor = gate.arrived();
    let dies = pool.submit(&EXIT, 3).unwrap();
    assert!(broken_message(&dies).contains("exited with code 3"));
    assert!(matches!(
        held.result_timeout(LONG),
        Err(Error::BrokenPool { .. })
    ));
    // The gate stays shut: without the kill, drop would wait for the
    // survivor's task (until the gate gives up after its bound).
    let start = Instant::now();
    drop(pool);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "drop took {:?}",
        start.elapsed()
    );
    assert!(!alive(survivor), "the survivor {survivor} still runs");
    drop(gate);
}

/// Set for the copy run by `busy_workers_exit_within_a_second_when_the_parent_dies`.
#[cfg(target_os = "linux")]
const ORPHAN_BUSY: &str = "CF_FAULTS_ORPHAN_BUSY";

#[cfg(target_os = "linux")]
#[test]
fn busy_workers_exit_within_a_second_when_the_parent_dies() {
    use std::io::BufRead;
    if std::env::var_os(ORPHAN_BUSY).is_some() {
        let pool = ProcessPoolExecutor::new(1).unwrap();
        let _busy = pool.submit(&BUSY, ()).unwrap();
        std::thread::sleep(LONG); // killed by the test long before
        return;
    }
    let mut copy = common::copy_command(
        "busy_workers_exit_within_a_second_when_the_parent_dies",
        &[(ORPHAN_BUSY, "1".as_ref())],
    )
    .stdout(std::process::Stdio::piped())
    .spawn()
    .unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = copy.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if let Some((_, pid)) = line.split_once("RUNNING: ") {
                let _ = tx.send(pid.parse::<u32>().unwrap());
            }
        }
    });
    let worker = rx.recv_timeout(LONG).expect("the task never ran");
    copy.kill().unwrap();
    copy.wait().unwrap();
    let start = Instant::now();
    while alive(worker) {
        // A second, and a margin for a loaded machine.
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "worker {worker} outlived its parent"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Runs `mode` of the fake worker in a copy; the message its pool broke with.
fn fake_worker_message(test: &str, mode: &str) -> String {
    if std::env::var_os(FAKE).is_some() {
        let pool = ProcessPoolExecutor::new(1).unwrap();
        let start = Instant::now();
        let message = broken_message(&pool.submit(&CUBE, 3).unwrap());
        let pid = pool.worker_pids()[0];
        drop(pool);
        println!("MESSAGE: {message}");
        println!("PID: {pid}");
        println!("ELAPSED_MS: {}", start.elapsed().as_millis());
        return String::new();
    }
    let out = common::run_copy(test, &[(FAKE, mode.as_ref())]);
    let elapsed: u128 = common::reported(&out, "ELAPSED_MS").parse().unwrap();
    // One second's grace to exit, and a margin for a loaded machine.
    assert!(elapsed < 5000, "{elapsed} ms");
    #[cfg(target_os = "linux")]
    {
        let pid: u32 = common::reported(&out, "PID").parse().unwrap();
        assert!(!alive(pid), "the fake worker {pid} still runs");
    }
    common::reported(&out, "MESSAGE").to_owned()
}

#[test]
fn a_connection_that_ends_while_the_process_lives_fails_and_kills_it() {
    let test = "a_connection_that_ends_while_the_process_lives_fails_and_kills_it";
    let message = fake_worker_message(test, "eof");
    if !message.is_empty() {
        assert!(
            message.contains("closed its connection but kept running, and was killed"),
            "{message}"
        );
    }
}

#[test]
fn a_bad_frame_fails_the_futures_and_kills_the_process() {
    let test = "a_bad_frame_fails_the_futures_and_kills_the_process";
    let message = fake_worker_message(test, "garbage");
    if !message.is_empty() {
        assert!(message.contains("sent a bad frame"), "{message}");
        assert!(message.contains("and was killed"), "{message}");
    }
}

/// A pool of one worker held by a gate, with four 1 MiB results queued
/// behind it: more than the connection buffers while nobody reads them.
fn gated_pool_with_big_work() -> (
    RemoteGate,
    ProcessPoolExecutor,
    Future<u32>,
    Vec<Future<String>>,
) {
    let gate = RemoteGate::new();
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let f = pool.submit(&GATE, gate.arg()).unwrap();
    let big: Vec<_> = (0..4)
        .map(|_| pool.submit(&SHOUT, "ab".repeat(1 << 19)).unwrap())
        .collect();
    gate.arrived();
    (gate, pool, f, big)
}

#[test]
fn a_done_callback_may_shut_its_pool_down() {
    let (gate, pool, f, big) = gated_pool_with_big_work();
    let pool = std::sync::Arc::new(pool);
    let (tx, rx) = mpsc::channel();
    let p = std::sync::Arc::clone(&pool);
    f.add_done_callback(move |_| {
        // On the thread that reads this worker's results: it cannot wait
        // for the queued work, whose results it would have to read.
        p.shutdown();
        tx.send(()).unwrap();
    });
    gate.open();
    rx.recv_timeout(LONG)
        .expect("shutdown in a done-callback hung");
    for b in &big {
        assert_eq!(b.result_timeout(LONG).map(|s| s.len()), Ok(1 << 20));
    }
    assert!(f.result().is_ok());
}

#[test]
fn a_done_callback_may_drop_the_last_handle_of_its_pool() {
    let (gate, pool, f, big) = gated_pool_with_big_work();
    let (tx, rx) = mpsc::channel();
    f.add_done_callback(move |_| {
        drop(pool); // the last handle: a shutdown, from inside
        tx.send(()).unwrap();
    });
    gate.open();
    rx.recv_timeout(LONG)
        .expect("dropping the pool in a done-callback hung");
    for b in &big {
        assert_eq!(b.result_timeout(LONG).map(|s| s.len()), Ok(1 << 20));
    }
}

/// Set for the copy run by `out_of_file_descriptors_is_a_clear_error`.
#[cfg(target_os = "linux")]
const NOFILE: &str = "CF_FAULTS_NOFILE";

#[cfg(target_os = "linux")]
#[test]
fn out_of_file_descriptors_is_a_clear_error() {
    if std::env::var_os(NOFILE).is_some() {
        // Use up every descriptor, then ask for a worker.
        let mut held = Vec::new();
        while let Ok(f) = std::fs::File::open("/dev/null") {
            held.push(f);
        }
        let pool = ProcessPoolExecutor::new(1).unwrap();
        let e = pool.submit(&CUBE, 3).map(|f| f.result_timeout(LONG));
        println!("MESSAGE: {e:?}");
        drop(held);
        // Freed again: a new pool works.
        let pool = ProcessPoolExecutor::new(1).unwrap();
        assert_eq!(pool.submit(&CUBE, 3).unwrap().result_timeout(LONG), Ok(27));
        return;
    }
    let test = "out_of_file_descriptors_is_a_clear_error";
    let out = Command::new("prlimit")
        .arg("--nofile=128:128")
        .arg(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(NOFILE, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let message = common::reported(&stdout, "MESSAGE");
    assert!(message.contains("BrokenPool"), "{message}");
    assert!(message.contains("file descriptors"), "{message}");
}

/// Set for the copy run by `out_of_processes_and_threads_is_a_clear_error`.
#[cfg(target_os = "linux")]
const NPROC: &str = "CF_FAULTS_NPROC";

/// Whether this process runs as root, for whom the process limit does not
/// count (so the copy that tests it runs as `nobody`).
#[cfg(target_os = "linux")]
fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let uid = status.lines().find_map(|l| l.strip_prefix("Uid:"));
    uid.and_then(|ids| ids.split_whitespace().next()) == Some("0")
}

/// Sets this process's soft limit on processes and threads (`RLIMIT_NPROC`,
/// which counts every thread of the user) with `prlimit`, once `go` is
/// sent. Started before the limit is lowered: afterwards this process can
/// start nothing, not even the command that lifts it again.
#[cfg(target_os = "linux")]
fn limit_processes_on_cue(soft: &str) -> std::process::Child {
    let command = format!(
        "read _ && exec prlimit --pid={} --nproc={soft}:",
        std::process::id()
    );
    Command::new("sh")
        .args(["-c", &command])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Sends the cue and checks that the limit was set.
#[cfg(target_os = "linux")]
fn cue(mut setter: std::process::Child) {
    use std::io::Write;
    setter.stdin.take().unwrap().write_all(b"go\n").unwrap();
    assert!(setter.wait().unwrap().success(), "prlimit failed");
}

#[cfg(target_os = "linux")]
#[test]
fn out_of_processes_and_threads_is_a_clear_error() {
    if std::env::var_os(NPROC).is_some() {
        let before = std::fs::read_to_string("/proc/self/limits").unwrap();
        let soft = before
            .lines()
            .find(|l| l.starts_with("Max processes"))
            .and_then(|l| l.split_whitespace().nth(2))
            .unwrap()
            .to_owned();
        let (lower, lift) = (limit_processes_on_cue("1"), limit_processes_on_cue(&soft));
        // The user already has at least this process: no thread or
        // process may start now. Submit must return, saying so.
        cue(lower);
        let threads = concurrent_futures::ThreadPoolExecutor::new(2).unwrap();
        let e = threads.submit(|| 1).map(|f| f.result_timeout(LONG));
        println!("THREAD: {e:?}");
        let processes = ProcessPoolExecutor::new(1).unwrap();
        let e = processes.submit(&CUBE, 3).map(|f| f.result_timeout(LONG));
        println!("PROCESS: {e:?}");
        cue(lift);
        // Lifted again: the same pools work.
        assert_eq!(threads.submit(|| 2).unwrap().result_timeout(LONG), Ok(2));
        assert_eq!(
            processes.submit(&CUBE, 3).unwrap().result_timeout(LONG),
            Ok(27)
        );
        return;
    }
    let test = "out_of_processes_and_threads_is_a_clear_error";
    // Root is exempt from the limit: the copy runs as `nobody`, from a
    // place `nobody` may read (the build directory may be private).
    let mut copy = common::copy_command(test, &[(NPROC, "1".as_ref())]);
    let mut place = None;
    if is_root() {
        let switch = ["--reuid=65534", "--regid=65534", "--clear-groups"];
        let can = Command::new("setpriv").args(switch).arg("true").status();
        if !can.is_ok_and(|s| s.success()) {
            eprintln!("skipped: setpriv cannot switch to nobody here");
            return;
        }
        let dir = std::path::PathBuf::from(format!("/tmp/cf-nproc-{}", std::process::id()));
        let exe = dir.join("process_faults");
        std::fs::create_dir_all(&dir).unwrap();
        // Copied by `cp`, not here: a worker started meanwhile by another
        // test would inherit our descriptor of the file being written, and
        // running the copy then fails with "Text file busy".
        let copied = Command::new("cp")
            .arg(std::env::current_exe().unwrap())
            .arg(&exe)
            .status();
        assert!(copied.unwrap().success(), "cp failed");
        use std::os::unix::fs::PermissionsExt;
        let open = std::fs::Permissions::from_mode(0o755);
        std::fs::set_permissions(&dir, open.clone()).unwrap();
        std::fs::set_permissions(&exe, open).unwrap();
        let mut as_nobody = Command::new("setpriv");
        as_nobody.args(switch).arg(&exe).args(copy.get_args());
        as_nobody.env(NPROC, "1");
        copy = as_nobody;
        place = Some(dir);
    }
    let run = std::panic::AssertUnwindSafe(|| common::run_to_end(copy, test));
    let stdout = std::panic::catch_unwind(run);
    if let Some(dir) = place {
        let _ = std::fs::remove_dir_all(dir);
    }
    let stdout = stdout.unwrap_or_else(|e| std::panic::resume_unwind(e));
    let thread = common::reported(&stdout, "THREAD");
    assert!(thread.contains("BrokenPool"), "{thread}");
    assert!(
        thread.contains("could not start a worker thread"),
        "{thread}"
    );
    let process = common::reported(&stdout, "PROCESS");
    assert!(process.contains("BrokenPool"), "{process}");
    assert!(process.contains("could not start a process"), "{process}");
}

#[test]
fn a_task_that_runs_its_own_program_gets_an_ordinary_run() {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let f = pool.submit(&RUN_SELF, ()).unwrap();
    assert_eq!(f.result_timeout(LONG), Ok(true));
}

#[test]
fn a_table_with_a_name_twice_is_refused_naming_it() {
    if std::env::var_os(DUPLICATE).is_some() {
        // Its workers serve TWICE: each refuses, naming the names.
        let pool = ProcessPoolExecutor::new(1).unwrap();
        println!(
            "WORKER: {}",
            broken_message(&pool.submit(&CUBE, 3).unwrap())
        );
        drop(pool);
        // Here, where main would call it first: later pools refuse to start.
        serve_if_worker(TWICE);
        println!("POOL: {:?}", ProcessPoolExecutor::new(1).unwrap_err());
        return;
    }
    let test = "a_table_with_a_name_twice_is_refused_naming_it";
    let out = common::run_copy(test, &[(DUPLICATE, "1".as_ref())]);
    let names = "lists `add_one`, `cube` more than once";
    let worker = common::reported(&out, "WORKER");
    assert!(
        worker.contains("refused to serve") && worker.contains(names),
        "{worker}"
    );
    let pool = common::reported(&out, "POOL");
    assert!(
        pool.contains("InvalidArgument") && pool.contains(names),
        "{pool}"
    );
}

#[test]
fn an_item_behind_a_long_task_moves_to_a_worker_that_falls_idle() {
    // Several rounds: the item is given back by a race between the worker
    // falling idle and a write to the other one, which one round rarely
    // loses (run 32 of a loop once did).
    for _ in 0..ROUNDS {
        let (a, c) = (RemoteGate::new(), RemoteGate::new());
        let pool = ProcessPoolExecutor::new(2).unwrap();
        let fa = pool.submit(&GATE, a.arg()).unwrap();
        let pid0 = a.arrived();
        // A second worker, whose last task was short...
        assert_eq!(pool.submit(&CUBE, 2).unwrap().result_timeout(LONG), Ok(8));
        // ...now runs a long one; with no worker idle, the next item may
        // queue behind it there.
        let fc = pool.submit(&GATE, c.arg()).unwrap();
        let pid1 = c.arrived();
        assert_ne!(pid0, pid1);
        let behind = pool.submit(&PID, ()).unwrap();
        // The first worker falls idle: the item must run there now, not
        // after the long task (whose gate stays shut until the end).
        a.open();
        assert_eq!(fa.result_timeout(LONG), Ok(pid0));
        assert_eq!(behind.result_timeout(Duration::from_secs(5)), Ok(pid0));
        c.open();
        assert_eq!(fc.result_timeout(LONG), Ok(pid1));
    }
}

/// Rounds of `an_item_behind_a_long_task_...`.
const ROUNDS: usize = 20;
