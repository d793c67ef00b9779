//! Memory per pending thread-pool task (issue 12): queues a million tiny
//! tasks behind a worker held busy, keeps their futures, and reports the
//! growth of peak resident memory (`VmHWM` in `/proc/self/status`) per task.
//! Beside it, the same for a `threadpool`-style pool (one `mpsc` channel of
//! boxed jobs, each holding a sender of one shared result channel).
//!
//! `cargo run --release --example pending_memory` (Linux only).

use std::sync::mpsc;

use concurrent_futures::ThreadPoolExecutor;

const PENDING: u64 = 1_000_000;

/// Peak resident memory so far, in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    let line = status.lines().find(|l| l.starts_with("VmHWM")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

fn ours() -> f64 {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let (release, held) = mpsc::channel::<()>();
    let (started_tx, started) = mpsc::channel();
    let blocker = pool
        .submit(move || {
            started_tx.send(()).unwrap();
            held.recv().unwrap();
        })
        .unwrap();
    started.recv().unwrap();
    let before = peak_rss();
    let futures: Vec<_> = (0..PENDING)
        .map(|i| pool.submit(move || i).unwrap())
        .collect();
    let per_task = (peak_rss() - before) as f64 / PENDING as f64;
    release.send(()).unwrap();
    blocker.result().unwrap();
    assert_eq!(
        futures.iter().map(|f| f.result().unwrap()).sum::<u64>(),
        PENDING * (PENDING - 1) / 2
    );
    per_task
}

fn threadpool_style() -> f64 {
    type Job = Box<dyn FnOnce() + Send>;
    let (jobs, queued) = mpsc::channel::<Job>();
    let (release, held) = mpsc::channel::<()>();
    let before = peak_rss();
    let (results_tx, results) = mpsc::channel();
    for i in 0..PENDING {
        let tx = results_tx.clone();
        jobs.send(Box::new(move || tx.send(i).unwrap())).unwrap();
    }
    let per_task = (peak_rss() - before) as f64 / PENDING as f64;
    drop(jobs);
    let worker = std::thread::spawn(move || {
        held.recv().unwrap();
        queued.into_iter().for_each(|job| job());
    });
    release.send(()).unwrap();
    drop(results_tx);
    assert_eq!(results.iter().sum::<u64>(), PENDING * (PENDING - 1) / 2);
    worker.join().unwrap();
    per_task
}

fn main() {
    // Each in a process of its own: memory one of them freed would
    // otherwise be reused by the other without raising the peak.
    match std::env::args().nth(1).as_deref() {
        Some("ours") => return println!("{:.1}", ours()),
        Some("threadpool") => return println!("{:.1}", threadpool_style()),
        _ => {}
    }
    let run = |which: &str| {
        let exe = std::env::current_exe().unwrap();
        let out = std::process::Command::new(exe).arg(which).output().unwrap();
        assert!(out.status.success(), "{which}: {out:?}");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    println!("bytes per pending task, 1M pending (peak RSS growth):");
    println!("  concurrent_futures     {:>6}", run("ours"));
    println!("  threadpool + channel   {:>6}", run("threadpool"));
}
