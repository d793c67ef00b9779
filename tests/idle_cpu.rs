//! An idle pool costs no CPU (issue 12): workers that found no work may
//! watch the queue for some microseconds, but then they sleep until a task
//! comes. Measured as CPU time, so a busy machine cannot fail it: each
//! thread's time on a CPU, in nanoseconds, from `/proc/<pid>/task/*/schedstat`
//! (the precise form of the `utime` and `stime` of `/proc/<pid>/stat`), for
//! this process and the process pool's workers.
#![cfg(target_os = "linux")]

mod common;

use std::thread;
use std::time::Duration;

use common::{Rendezvous, BOUND};
use concurrent_futures::process::{Registered, Task};
use concurrent_futures::{ProcessPoolExecutor, ThreadPoolExecutor};

fn echo(x: u64) -> u64 {
    x
}

const ECHO: Task<u64, u64> = Task::new("echo", echo);
const TASKS: &[&dyn Registered] = &[&ECHO];

concurrent_futures::worker_test!(TASKS);

/// Nanoseconds that every thread of process `pid` has spent on a CPU.
fn cpu_ns(pid: &str) -> u64 {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap();
    tasks
        .filter_map(|task| {
            let path = task.ok()?.path().join("schedstat");
            // A thread that ended meanwhile has no file left: it counts 0.
            let line = std::fs::read_to_string(path).ok()?;
            line.split(' ').next()?.parse::<u64>().ok()
        })
        .sum()
}

fn total_cpu_ns(worker_pids: &[u32]) -> u64 {
    let workers: u64 = worker_pids.iter().map(|p| cpu_ns(&p.to_string())).sum();
    cpu_ns("self") + workers
}

#[test]
fn pools_idle_for_a_second_use_under_one_percent_of_a_core_in_the_next() {
    // Four threads, all started (they meet), then a burst of tiny tasks:
    // every worker has just spun for work when the pools fall idle.
    let threads = ThreadPoolExecutor::new(4).unwrap();
    let all = Rendezvous::new(4);
    let met: Vec<_> = (0..4)
        .map(|_| {
            let all = std::sync::Arc::clone(&all);
            threads.submit(move || all.wait()).unwrap()
        })
        .collect();
    for f in met {
        f.result_timeout(BOUND).unwrap();
    }
    let burst: Vec<_> = (0..1000_u64)
        .map(|i| threads.submit(move || i).unwrap())
        .collect();
    let processes = ProcessPoolExecutor::new(2).unwrap();
    let remote: Vec<_> = (0..100_u64)
        .map(|i| processes.submit(&ECHO, i).unwrap())
        .collect();
    for (i, f) in (0..).zip(&burst) {
        assert_eq!(f.result_timeout(BOUND), Ok(i));
    }
    for (i, f) in (0..).zip(&remote) {
        assert_eq!(f.result_timeout(BOUND), Ok(i));
    }
    assert_eq!(threads.threads_started(), 4);
    let pids = processes.worker_pids();
    assert!(!pids.is_empty());

    // Idle is the point here, so this test sleeps: a second to settle, then
    // the second that is measured.
    thread::sleep(Duration::from_secs(1));
    let before = total_cpu_ns(&pids);
    thread::sleep(Duration::from_secs(1));
    let used = total_cpu_ns(&pids) - before;
    assert!(
        used < 10_000_000,
        "idle pools used {used} ns of CPU in one second (1% is 10,000,000)"
    );
}
