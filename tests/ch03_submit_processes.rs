//! §3 of the article: `submit` on a pool of processes. Workers are this
//! test binary, re-executed; `worker_test!` below is their way in.

mod common;

use std::collections::HashSet;
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use common::remote::{wait_at, RemoteGate};
use concurrent_futures::process::{Registered, Task, Wire};
use concurrent_futures::{Error, MapOptions, ProcessPoolExecutor, Shutdown};

const LONG: Duration = Duration::from_secs(20);

fn cube(x: u64) -> u64 {
    x.pow(3)
}

fn pid(_: ()) -> u32 {
    std::process::id()
}

fn chatty(x: u64) -> u64 {
    // Bytes that would look like a frame if stdout were the channel.
    for _ in 0..100 {
        println!("\x05\x00\x00\x00R chatty {x}");
        eprintln!("\x05\x00\x00\x00R chatty on stderr {x}");
    }
    print!("no newline at the end");
    x + 1
}

fn boom(x: u64) -> u64 {
    if x == 7 {
        panic!("boom {x}");
    }
    x
}

/// Waits at the test's `RemoteGate` (tests/common/remote.rs) until it opens:
/// a latch across processes. Returns this worker's pid.
fn gate(path: String) -> u32 {
    wait_at(&path)
}

const CUBE: Task<u64, u64> = Task::new("cube", cube);
const PID: Task<(), u32> = Task::new("pid", pid);
const CHATTY: Task<u64, u64> = Task::new("chatty", chatty);
const BOOM: Task<u64, u64> = Task::new("boom", boom);
const GATE: Task<String, u32> = Task::new("gate", gate);
const TASKS: &[&dyn Registered] = &[&CUBE, &PID, &CHATTY, &BOOM, &GATE];

concurrent_futures::worker_test!(TASKS);

/// True if `pid` is a child of this process that has not been reaped.
fn is_our_child(pid: u32) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false; // gone: reaped
    };
    // The fields after the parenthesised command name: state, then ppid.
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let ppid: u32 = after.split(' ').nth(1).unwrap().parse().unwrap();
    ppid == std::process::id()
}

#[test]
fn submit_returns_each_result() {
    let pool = ProcessPoolExecutor::new(3).unwrap();
    let futures: Vec<_> = (1..=10).map(|i| pool.submit(&CUBE, i).unwrap()).collect();
    let cubes: Vec<u64> = futures
        .iter()
        .map(|f| f.result_timeout(LONG).unwrap())
        .collect();
    assert_eq!(cubes, (1..=10).map(cube).collect::<Vec<_>>());
}

#[test]
fn workers_start_lazily_and_an_idle_one_is_reused() {
    let pool = ProcessPoolExecutor::new(4).unwrap();
    assert!(pool.worker_pids().is_empty());
    let pids: Vec<u32> = (0..3)
        .map(|_| pool.submit(&PID, ()).unwrap().result_timeout(LONG).unwrap())
        .collect();
    assert_eq!(pids, [pids[0]; 3], "three sequential calls, one process");
    assert_eq!(pool.worker_pids(), [pids[0]]);
    assert_ne!(pids[0], std::process::id());
}

#[test]
fn max_workers_two_means_at_most_two_processes() {
    let pool = ProcessPoolExecutor::new(2).unwrap();
    let futures: Vec<_> = (0..40).map(|_| pool.submit(&PID, ()).unwrap()).collect();
    let pids: HashSet<u32> = futures
        .iter()
        .map(|f| f.result_timeout(LONG).unwrap())
        .collect();
    assert!((1..=2).contains(&pids.len()), "{pids:?}");
    assert!(pool.worker_pids().len() <= 2);
}

#[test]
fn a_pool_and_its_futures_can_be_shared_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<ProcessPoolExecutor>();
    send_sync::<concurrent_futures::Future<u64>>();
    let pool = ProcessPoolExecutor::new(2).unwrap();
    let cubes: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = (1..=4)
            .map(|i| {
                let pool = &pool;
                s.spawn(move || pool.submit(&CUBE, i).unwrap().result_timeout(LONG).unwrap())
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(cubes, [1, 8, 27, 64]);
}

#[test]
fn default_max_workers_is_the_number_of_cpus() {
    let cpus = std::thread::available_parallelism().unwrap().get();
    assert_eq!(
        ProcessPoolExecutor::builder()
            .build()
            .unwrap()
            .max_workers(),
        cpus
    );
}

#[test]
fn zero_workers_or_zero_tasks_per_child_is_invalid() {
    let e = ProcessPoolExecutor::new(0).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{e:?}");
    let e = ProcessPoolExecutor::builder()
        .max_tasks_per_child(0)
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{e:?}");
}

/// Runs `n` chatty tasks on two workers (each prints 100 lines on stdout
/// and on stderr), checking their results.
fn run_chatty_tasks(n: u64) {
    let pool = ProcessPoolExecutor::new(2).unwrap();
    let futures: Vec<_> = (0..n).map(|i| pool.submit(&CHATTY, i).unwrap()).collect();
    for (i, f) in (0..).zip(&futures) {
        assert_eq!(f.result_timeout(LONG), Ok(i + 1));
    }
}

/// Set for the copy run by `what_a_task_prints_does_not_corrupt_the_traffic`.
const CHATTY_COPY: &str = "CF_CH03_CHATTY";

#[test]
fn what_a_task_prints_does_not_corrupt_the_traffic() {
    if std::env::var_os(CHATTY_COPY).is_some() {
        run_chatty_tasks(6);
        println!("\nRESULTS: ok");
        return;
    }
    // In a copy whose output we read, so 1,200 lines of frame-like bytes
    // prove their point without flooding the test run.
    let out = common::copy_command(
        "what_a_task_prints_does_not_corrupt_the_traffic",
        &[(CHATTY_COPY, "1".as_ref())],
    )
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert_eq!(common::reported(&stdout, "RESULTS"), "ok");
    // Every line the tasks printed got through, on stdout and stderr.
    assert_eq!(stdout.matches("R chatty ").count(), 600, "{stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("R chatty on stderr").count(), 600);
}

/// Set for the copies run by `cargo_test_shows_worker_output_as_it_shows_the_tests_own`.
const CAPTURED_COPY: &str = "CF_CH03_CAPTURED";

#[test]
fn cargo_test_shows_worker_output_as_it_shows_the_tests_own() {
    if std::env::var_os(CAPTURED_COPY).is_some() {
        return run_chatty_tasks(2);
    }
    let name = "cargo_test_shows_worker_output_as_it_shows_the_tests_own";
    let run = |capture: bool| {
        let mut copy = Command::new(std::env::current_exe().unwrap());
        copy.args([name, "--exact", "--test-threads=1"])
            .env(CAPTURED_COPY, "1");
        if !capture {
            copy.arg("--nocapture");
        }
        let out = copy.output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stdout}{stderr}");
        (stdout, stderr)
    };
    // Captured, as libtest captures a passing test's prints: the copy's
    // output is its own header and result, without a header per worker.
    let (stdout, stderr) = run(true);
    assert_eq!(stdout.matches("running 1 test").count(), 1, "{stdout}");
    assert!(
        !stdout.contains("chatty") && !stderr.contains("chatty"),
        "{stdout}{stderr}"
    );
    assert!(!stdout.contains("worker serving"), "{stdout}");
    // Under --nocapture, every line the two tasks printed shows.
    let (stdout, stderr) = run(false);
    assert_eq!(stdout.matches("running 1 test").count(), 1, "{stdout}");
    assert_eq!(stdout.matches("R chatty ").count(), 200, "{stdout}");
    assert_eq!(
        stderr.matches("R chatty on stderr").count(),
        200,
        "{stderr}"
    );
    assert_eq!(
        stdout.matches("no newline at the end").count(),
        2,
        "{stdout}"
    );
}

#[test]
fn a_panic_is_an_error_with_message_and_location_and_the_worker_survives() {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let before = pool.submit(&PID, ()).unwrap().result_timeout(LONG).unwrap();
    let e = pool
        .submit(&BOOM, 7)
        .unwrap()
        .result_timeout(LONG)
        .unwrap_err();
    let Error::Panicked { message } = &e else {
        panic!("expected Panicked, got {e:?}");
    };
    assert!(message.contains("boom 7"), "{message}");
    assert!(message.contains("ch03_submit_processes.rs:"), "{message}");
    assert_eq!(pool.submit(&BOOM, 8).unwrap().result_timeout(LONG), Ok(8));
    let after = pool.submit(&PID, ()).unwrap().result_timeout(LONG).unwrap();
    assert_eq!(before, after, "the same worker process");
}

#[test]
fn max_tasks_per_child_replaces_workers_and_never_stalls() {
    for workers in [1, 2] {
        let pool = ProcessPoolExecutor::builder()
            .max_workers(workers)
            .max_tasks_per_child(2)
            .build()
            .unwrap();
        let futures: Vec<_> = (0..9).map(|_| pool.submit(&PID, ()).unwrap()).collect();
        let mut uses = std::collections::HashMap::new();
        for f in &futures {
            *uses.entry(f.result_timeout(LONG).unwrap()).or_insert(0) += 1;
        }
        assert!(uses.values().all(|&n| n <= 2), "{uses:?}");
        assert!(uses.len() >= 5, "9 tasks, 2 per process: {uses:?}");
        // Sequential calls too: each retirement is followed by a fresh worker.
        for _ in 0..5 {
            pool.submit(&PID, ()).unwrap().result_timeout(LONG).unwrap();
        }
    }
}

#[test]
fn shutdown_leaves_no_child_process() {
    let pool = ProcessPoolExecutor::new(3).unwrap();
    let futures: Vec<_> = (0..12).map(|i| pool.submit(&CUBE, i).unwrap()).collect();
    let pids = pool.worker_pids();
    assert!(!pids.is_empty());
    pool.shutdown();
    assert!(
        futures.iter().all(|f| f.done()),
        "shutdown waits for the queue"
    );
    for pid in pids {
        assert!(!is_our_child(pid), "worker {pid} is still our child");
    }
    assert_eq!(pool.submit(&CUBE, 1).unwrap_err(), Error::Shutdown);
}

#[test]
fn drop_waits_for_every_queued_task() {
    let futures: Vec<_> = {
        let pool = ProcessPoolExecutor::new(2).unwrap();
        (0..20).map(|i| pool.submit(&CUBE, i).unwrap()).collect()
    };
    for (i, f) in (0..).zip(&futures) {
        assert!(f.done());
        assert_eq!(f.result(), Ok(cube(i)));
    }
}

#[test]
fn futures_not_yet_handed_to_a_worker_stay_cancellable() {
    let gate = RemoteGate::new();
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let blocker = pool.submit(&GATE, gate.arg()).unwrap();
    let queued: Vec<_> = (0..6).map(|i| pool.submit(&CUBE, i).unwrap()).collect();
    gate.arrived();
    assert!(blocker.running());
    // Nothing more goes to a busy worker: every queued item is still pending.
    let cancelled = queued.iter().filter(|f| f.cancel()).count();
    assert_eq!(cancelled, 6);
    pool.shutdown_with(Shutdown {
        wait: false,
        cancel_futures: false,
    });
    gate.open();
    assert!(blocker.result_timeout(LONG).is_ok());
    drop(pool);
    for f in queued.iter().filter(|f| !f.cancelled()) {
        assert!(f.result().is_ok());
    }
}

/// Set for the copy of this binary that `workers_exit_when_the_parent_dies` runs.
const ORPHAN: &str = "CF_CH03_ORPHAN";

#[test]
fn workers_exit_on_their_own_when_the_parent_dies() {
    if std::env::var_os(ORPHAN).is_some() {
        // In the copy: start a worker, then die without shutting down.
        let pool = ProcessPoolExecutor::new(1).unwrap();
        let pid = pool.submit(&PID, ()).unwrap().result_timeout(LONG).unwrap();
        println!("WORKER: {pid}");
        std::process::exit(0);
    }
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "workers_exit_on_their_own_when_the_parent_dies",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ORPHAN, "1")
            .output();
        let _ = tx.send(out);
    });
    // The orphaned worker inherited the copy's stdout: `output()` returns
    // only once it has exited too.
    let out = rx
        .recv_timeout(LONG)
        .expect("the orphaned worker did not exit")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let pid: u32 = stdout
        .lines()
        .find_map(|l| l.split_once("WORKER: ").map(|(_, m)| m))
        .unwrap_or_else(|| panic!("no worker pid in {stdout}"))
        .parse()
        .unwrap();
    // Its stdout closed as it exited; give the exit a moment to complete.
    let alive = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|stat| !stat[stat.rfind(')').unwrap() + 2..].starts_with('Z'))
            .unwrap_or(false)
    };
    let start = std::time::Instant::now();
    while alive() {
        assert!(start.elapsed() < LONG, "worker {pid} outlived its parent");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn map_and_map_with_chunks_yield_in_order() {
    let pool = ProcessPoolExecutor::new(2).unwrap();
    let plain: Vec<u64> = pool
        .map(&CUBE, 1..=10)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(plain, (1..=10).map(cube).collect::<Vec<_>>());
    for chunksize in [0, 1, 3, 10, 50] {
        let opts = MapOptions {
            chunksize,
            ..Default::default()
        };
        let got: Vec<u64> = pool
            .map_with(&CUBE, 1..=25, opts)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            got,
            (1..=25).map(cube).collect::<Vec<_>>(),
            "chunksize {chunksize}"
        );
    }
}

#[test]
fn map_with_buffersize_consumes_an_endless_input() {
    let pool = ProcessPoolExecutor::new(2).unwrap();
    let opts = MapOptions {
        buffersize: Some(3),
        chunksize: 2,
        timeout: Some(LONG),
        ..Default::default()
    };
    let firsts: Vec<u64> = pool
        .map_with(&CUBE, 0.., opts)
        .unwrap()
        .take(7)
        .map(Result::unwrap)
        .collect();
    assert_eq!(firsts, (0..7).map(cube).collect::<Vec<_>>());
}

#[test]
fn shutdown_with_cancel_futures_cancels_what_no_worker_has_taken() {
    let gate = RemoteGate::new();
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let blocker = pool.submit(&GATE, gate.arg()).unwrap();
    let queued: Vec<_> = (0..5).map(|i| pool.submit(&CUBE, i).unwrap()).collect();
    let pid = gate.arrived();
    pool.shutdown_with(Shutdown {
        wait: false,
        cancel_futures: true,
    });
    assert!(queued.iter().all(|f| f.cancelled()));
    gate.open();
    assert_eq!(blocker.result_timeout(LONG), Ok(pid));
    drop(pool);
    assert!(!is_our_child(pid));
}

#[test]
fn a_panic_in_a_chunk_fails_the_chunk_and_ends_the_map() {
    let pool = ProcessPoolExecutor::new(2).unwrap();
    let opts = MapOptions {
        chunksize: 4,
        ..Default::default()
    };
    let got: Vec<_> = pool.map_with(&BOOM, 0..20, opts).unwrap().collect();
    // 0..4 succeed; 7 is in the chunk 4..8, which fails as a whole.
    assert_eq!(got.len(), 5);
    assert_eq!(got[..4], [Ok(0), Ok(1), Ok(2), Ok(3)]);
    assert!(matches!(&got[4], Err(Error::Panicked { message }) if message.contains("boom 7")));
}

fn round_trip<T: Wire + PartialEq + std::fmt::Debug>(value: T) {
    let mut bytes = Vec::new();
    value.encode(&mut bytes).unwrap();
    let mut input = &bytes[..];
    assert_eq!(T::decode(&mut input).unwrap(), value);
    assert!(input.is_empty(), "{value:?} left bytes behind");
}

#[test]
fn every_std_type_round_trips_through_wire() {
    round_trip(u8::MAX);
    round_trip(u16::MAX);
    round_trip(u32::MAX);
    round_trip(u64::MAX);
    round_trip(u128::MAX);
    round_trip(usize::MAX);
    round_trip(i8::MIN);
    round_trip(i16::MIN);
    round_trip(i32::MIN);
    round_trip(i64::MIN);
    round_trip(i128::MIN);
    round_trip(isize::MIN);
    round_trip(1.5f32);
    round_trip(-0.25f64);
    round_trip(f64::INFINITY);
    round_trip(true);
    round_trip(false);
    round_trip('é');
    round_trip('🦀');
    round_trip(String::from("héllo, world"));
    round_trip(String::new());
    round_trip(());
    round_trip(vec![1u64, 2, 3]);
    round_trip(Vec::<String>::new());
    round_trip(vec![(), (), ()]);
    round_trip(Some(5u8));
    round_trip(None::<u8>);
    round_trip(Ok::<u8, String>(1));
    round_trip(Err::<u8, String>("no".into()));
    round_trip((1u8,));
    round_trip((1u8, 2u16));
    round_trip((1u8, 2u16, 3u32));
    round_trip((1u8, 2u16, 3u32, 4u64));
    round_trip((1u8, 2u16, 3u32, 4u64, 'x'));
    round_trip((1u8, 2u16, 3u32, 4u64, 'x', String::from("six")));
    round_trip(vec![Some((1i32, String::from("a"))), None]);
    // NaN is not equal to itself: compare bits instead.
    let mut bytes = Vec::new();
    f64::NAN.encode(&mut bytes).unwrap();
    assert!(f64::decode(&mut &bytes[..]).unwrap().is_nan());
}

#[test]
fn wire_refuses_bad_input_without_allocating_for_a_lying_length() {
    let mut bytes = Vec::new();
    u64::MAX.encode(&mut bytes).unwrap(); // a length of 2^64 - 1 elements
    let e = Vec::<u64>::decode(&mut &bytes[..]).unwrap_err();
    assert!(matches!(e, Error::Encoding { .. }), "{e:?}");
    assert!(bool::decode(&mut &[2u8][..]).is_err());
    assert!(char::decode(&mut &0xD800u32.to_le_bytes()[..]).is_err());
    assert!(String::decode(&mut &[1, 0, 0, 0, 0, 0, 0, 0, 0xff][..]).is_err());
    assert!(u32::decode(&mut &[1u8, 2][..]).is_err());
}

/// Set for the copies run by the `$TMPDIR` tests: run one pool and say so.
const TMPDIR_COPY: &str = "CF_CH03_TMPDIR";

/// Runs `test` in a copy of this binary whose `$TMPDIR` (and Windows'
/// `TMP`/`TEMP`) is `dir`; in the copy, a pool must work.
fn pool_works_with_tmpdir(test: &str, dir: &std::path::Path) {
    if std::env::var_os(TMPDIR_COPY).is_some() {
        // The pool reads nothing from the environment but its own variables;
        // this copy's temp_dir() is the odd one the test chose.
        #[cfg(unix)]
        assert_eq!(std::env::temp_dir(), dir);
        let pool = ProcessPoolExecutor::new(2).unwrap();
        let cubes: Vec<u64> = pool
            .map(&CUBE, 1..=4)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(cubes, [1, 8, 27, 64]);
        println!("POOL: ok");
        return;
    }
    let d = dir.as_os_str();
    let env = [
        (TMPDIR_COPY, "1".as_ref()),
        ("TMPDIR", d),
        ("TMP", d),
        ("TEMP", d),
    ];
    let out = common::run_copy(test, &env);
    assert_eq!(common::reported(&out, "POOL"), "ok");
}

#[test]
fn a_pool_works_with_a_200_character_tmpdir() {
    // The copy finds the variable already set: its pool runs with it.
    if let Some(dir) =
        std::env::var_os("TMPDIR").filter(|_| std::env::var_os(TMPDIR_COPY).is_some())
    {
        return pool_works_with_tmpdir("", std::path::Path::new(&dir));
    }
    let base = std::env::temp_dir();
    let room = 200usize.saturating_sub(base.as_os_str().len()).max(1);
    let dir = base.join("t".repeat(room));
    assert!(dir.as_os_str().len() >= 200);
    std::fs::create_dir_all(&dir).unwrap();
    pool_works_with_tmpdir("a_pool_works_with_a_200_character_tmpdir", &dir);
    let _ = std::fs::remove_dir(&dir);
}

#[test]
fn a_pool_works_with_a_tmpdir_that_does_not_exist() {
    if let Some(dir) =
        std::env::var_os("TMPDIR").filter(|_| std::env::var_os(TMPDIR_COPY).is_some())
    {
        return pool_works_with_tmpdir("", std::path::Path::new(&dir));
    }
    let dir = std::env::temp_dir().join("cf-no-such-dir").join("nor-this");
    assert!(!dir.exists());
    pool_works_with_tmpdir("a_pool_works_with_a_tmpdir_that_does_not_exist", &dir);
}
