//! What a thread-pool task costs, beside what a user would otherwise write.
//!
//! Every benchmark states its throughput in tasks (`Throughput::Elements`), so
//! criterion's `thrpt` line reads as tasks per second and `time / elements` is
//! the cost of one task. The two baselines live in this file, std only, and
//! run in the same process, so their ratios to ours survive a noisy machine:
//!
//! - `std_threadpool_channel`: what the `threadpool` crate does, rewritten
//!   with std: jobs go down one `mpsc` channel whose receiver the workers
//!   share behind a `Mutex`, and results come back on one shared `mpsc`
//!   channel, in whatever order they finish. The fastest thing a Rust user
//!   would reach for instead of futures;
//! - `std_minimal_pool`: the textbook pool, a `Mutex<VecDeque<Job>>` and a
//!   `Condvar`, and one `Arc<(Mutex<Option<T>>, Condvar)>` slot per task;
//! - `std_spawn_per_task`: `std::thread::spawn` and `join` for every task.
//!
//! `one_at_a_time` adds `std_park_unpark_floor`, two threads handing a number
//! back and forth with `park`/`unpark`: no queue, no result, only the two
//! wake-ups that any round trip to a sleeping thread needs.
//!
//! Run with `cargo bench --bench overhead`; pin the one-at-a-time figures to
//! one CPU with `taskset -c 0 cargo bench --bench overhead -- one_at_a_time`.

use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use concurrent_futures::ThreadPoolExecutor;
use criterion::{criterion_group, Criterion, SamplingMode, Throughput};

/// Tasks per iteration of the bulk benchmarks.
const TASKS: u64 = 100_000;
/// Spawning a thread costs some 100 times more than queueing a task, so the
/// spawn baseline does fewer per iteration; the per-task figure is unaffected.
const SPAWNS: u64 = 10_000;
const WORKERS: usize = 2;
/// The many-threads case: far more workers than CPUs, so most are idle.
const MANY_WORKERS: usize = 32;

// ---- Baseline 0: the `threadpool` crate's design, with std ----

/// Workers take jobs from one channel; the user sends results back on a
/// channel of their own, as `threadpool`'s documentation shows.
struct ChannelPool {
    jobs: Option<Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
}

impl ChannelPool {
    fn new(n: usize) -> ChannelPool {
        let (jobs, rx) = mpsc::channel::<Job>();
        let rx: Arc<Mutex<Receiver<Job>>> = Arc::new(Mutex::new(rx));
        let workers = (0..n)
            .map(|_| {
                let rx = Arc::clone(&rx);
                thread::spawn(move || loop {
                    // The lock is held while waiting, as in `threadpool`:
                    // one worker waits on the channel, the others on the lock.
                    let job = match rx.lock().unwrap().recv() {
                        Ok(job) => job,
                        Err(_) => return,
                    };
                    job();
                })
            })
            .collect();
        ChannelPool {
            jobs: Some(jobs),
            workers,
        }
    }

    fn execute(&self, job: impl FnOnce() + Send + 'static) {
        self.jobs.as_ref().unwrap().send(Box::new(job)).unwrap();
    }

    /// Runs `0..n` through the pool, each result back on one shared
    /// channel, and sums them: submit all, then collect.
    fn submit_collect(&self, n: u64) -> u64 {
        let (tx, rx) = mpsc::channel();
        for i in 0..n {
            let tx = tx.clone();
            self.execute(move || tx.send(i).unwrap());
        }
        rx.iter().take(n as usize).sum()
    }
}

impl Drop for ChannelPool {
    fn drop(&mut self) {
        drop(self.jobs.take());
        for w in self.workers.drain(..) {
            w.join().unwrap();
        }
    }
}

// ---- Baseline 1: the textbook std pool ----

type Job = Box<dyn FnOnce() + Send>;
type Slot<T> = Arc<(Mutex<Option<T>>, Condvar)>;

struct Queue {
    jobs: VecDeque<Job>,
    closed: bool,
}

struct MinimalPool {
    shared: Arc<(Mutex<Queue>, Condvar)>,
    workers: Vec<JoinHandle<()>>,
}

impl MinimalPool {
    fn new(n: usize) -> MinimalPool {
        let shared = Arc::new((
            Mutex::new(Queue {
                jobs: VecDeque::new(),
                closed: false,
            }),
            Condvar::new(),
        ));
        let workers = (0..n)
            .map(|_| {
                let shared = Arc::clone(&shared);
                thread::spawn(move || loop {
                    let job = {
                        let mut q = shared.0.lock().unwrap();
                        loop {
                            if let Some(job) = q.jobs.pop_front() {
                                break job;
                            }
                            if q.closed {
                                return;
                            }
                            q = shared.1.wait(q).unwrap();
                        }
                    };
                    job();
                })
            })
            .collect();
        MinimalPool { shared, workers }
    }

    fn submit<T, F>(&self, f: F) -> Slot<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let slot: Slot<T> = Arc::new((Mutex::new(None), Condvar::new()));
        let filled = Arc::clone(&slot);
        let job: Job = Box::new(move || {
            let value = f();
            *filled.0.lock().unwrap() = Some(value);
            filled.1.notify_one();
        });
        self.shared.0.lock().unwrap().jobs.push_back(job);
        self.shared.1.notify_one();
        slot
    }
}

fn wait<T>(slot: &Slot<T>) -> T {
    let mut value = slot.0.lock().unwrap();
    loop {
        if let Some(v) = value.take() {
            return v;
        }
        value = slot.1.wait(value).unwrap();
    }
}

impl Drop for MinimalPool {
    fn drop(&mut self) {
        self.shared.0.lock().unwrap().closed = true;
        self.shared.1.notify_all();
        for w in self.workers.drain(..) {
            w.join().unwrap();
        }
    }
}

// ---- Baseline 2: a thread per task ----

/// Spawns `n` no-op threads and joins them, a thousand alive at most so the
/// benchmark measures spawning rather than the kernel's thread limit.
fn spawn_per_task(n: u64) -> u64 {
    let mut sum = 0;
    let mut handles = Vec::with_capacity(1000);
    for start in (0..n).step_by(1000) {
        handles.extend((start..n.min(start + 1000)).map(|i| thread::spawn(move || black_box(i))));
        sum += handles.drain(..).map(|h| h.join().unwrap()).sum::<u64>();
    }
    sum
}

// ---- The floor: the cheapest blocking hand-off std offers ----

/// A thread that answers each odd number in `turn` with the next even one,
/// parking in between: one round trip is two wake-ups and nothing else, the
/// least any pool that sleeps while idle can pay.
struct PingPong {
    turn: Arc<AtomicU64>,
    next: u64,
    echo: Option<JoinHandle<()>>,
}

impl PingPong {
    const STOP: u64 = u64::MAX;

    fn new() -> PingPong {
        let turn = Arc::new(AtomicU64::new(0));
        let caller = thread::current();
        let theirs = Arc::clone(&turn);
        let echo = thread::spawn(move || loop {
            match theirs.load(Ordering::Acquire) {
                PingPong::STOP => return,
                odd if odd % 2 == 1 => {
                    theirs.store(odd + 1, Ordering::Release);
                    caller.unpark();
                }
                _ => thread::park(),
            }
        });
        PingPong {
            turn,
            next: 1,
            echo: Some(echo),
        }
    }

    fn round_trip(&mut self) {
        let echo = self.echo.as_ref().unwrap().thread();
        self.turn.store(self.next, Ordering::Release);
        echo.unpark();
        while self.turn.load(Ordering::Acquire) != self.next + 1 {
            thread::park();
        }
        self.next += 2;
    }
}

impl Drop for PingPong {
    fn drop(&mut self) {
        self.turn.store(PingPong::STOP, Ordering::Release);
        let echo = self.echo.take().unwrap();
        echo.thread().unpark();
        echo.join().unwrap();
    }
}

// ---- The benchmarks ----

/// Ours against the `threadpool` design with `workers` threads each.
fn submit_collect_against_channels(c: &mut Criterion, group: &str, workers: usize) {
    let mut g = c.benchmark_group(group);
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    g.throughput(Throughput::Elements(TASKS));
    let pool = ThreadPoolExecutor::new(workers).unwrap();
    g.bench_function("concurrent_futures", |b| {
        b.iter(|| {
            let fs: Vec<_> = (0..TASKS)
                .map(|i| pool.submit(move || i).unwrap())
                .collect();
            fs.iter().map(|f| f.result().unwrap()).sum::<u64>()
        })
    });
    drop(pool);
    let channels = ChannelPool::new(workers);
    g.bench_function("std_threadpool_channel", |b| {
        b.iter(|| channels.submit_collect(TASKS))
    });
    g.finish();
}

fn submit_collect_32(c: &mut Criterion) {
    submit_collect_against_channels(c, "submit_collect_32_workers", MANY_WORKERS);
}

fn submit_collect(c: &mut Criterion) {
    let mut g = c.benchmark_group("submit_collect");
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    g.throughput(Throughput::Elements(TASKS));

    let channels = ChannelPool::new(WORKERS);
    g.bench_function("std_threadpool_channel", |b| {
        b.iter(|| channels.submit_collect(TASKS))
    });
    drop(channels);

    let pool = ThreadPoolExecutor::new(WORKERS).unwrap();
    g.bench_function("concurrent_futures", |b| {
        b.iter(|| {
            let fs: Vec<_> = (0..TASKS)
                .map(|i| pool.submit(move || i).unwrap())
                .collect();
            fs.iter().map(|f| f.result().unwrap()).sum::<u64>()
        })
    });
    drop(pool);

    let minimal = MinimalPool::new(WORKERS);
    g.bench_function("std_minimal_pool", |b| {
        b.iter(|| {
            let slots: Vec<_> = (0..TASKS).map(|i| minimal.submit(move || i)).collect();
            slots.iter().map(wait).sum::<u64>()
        })
    });
    drop(minimal);

    g.throughput(Throughput::Elements(SPAWNS));
    g.bench_function("std_spawn_per_task", |b| b.iter(|| spawn_per_task(SPAWNS)));
    g.finish();
}

fn map(c: &mut Criterion) {
    let mut g = c.benchmark_group("map");
    g.sampling_mode(SamplingMode::Flat).sample_size(10);
    g.throughput(Throughput::Elements(TASKS));

    let pool = ThreadPoolExecutor::new(WORKERS).unwrap();
    g.bench_function("concurrent_futures", |b| {
        b.iter(|| {
            let results = pool.map(|x: u64| x, 0..TASKS).unwrap();
            results.map(Result::unwrap).sum::<u64>()
        })
    });
    drop(pool);

    // Results in input order cost `threadpool` users a sort or a slot per
    // task; its cheapest form, unordered, is the bar `map` is held to.
    let channels = ChannelPool::new(WORKERS);
    g.bench_function("std_threadpool_channel", |b| {
        b.iter(|| channels.submit_collect(TASKS))
    });
    drop(channels);

    // What `map` saves over a hand-written loop is typing, not time: the
    // minimal pool's equivalent is its submit-then-collect.
    let minimal = MinimalPool::new(WORKERS);
    g.bench_function("std_minimal_pool", |b| {
        b.iter(|| {
            let slots: Vec<_> = (0..TASKS).map(|i| minimal.submit(move || i)).collect();
            slots.iter().map(wait).sum::<u64>()
        })
    });
    g.finish();
}

/// Submit one task, wait for it, repeat: a wake-up of a worker and a wake-up
/// of the caller per task, nothing to amortise them over.
fn one_at_a_time(c: &mut Criterion) {
    let mut g = c.benchmark_group("one_at_a_time");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(3));

    let pool = ThreadPoolExecutor::new(WORKERS).unwrap();
    g.bench_function("concurrent_futures", |b| {
        b.iter(|| pool.submit(|| black_box(1_u64)).unwrap().result().unwrap())
    });
    drop(pool);

    let minimal = MinimalPool::new(WORKERS);
    g.bench_function("std_minimal_pool", |b| {
        b.iter(|| wait(&minimal.submit(|| black_box(1_u64))))
    });
    drop(minimal);

    g.bench_function("std_spawn_per_task", |b| {
        b.iter(|| thread::spawn(|| black_box(1_u64)).join().unwrap())
    });

    let mut ping = PingPong::new();
    g.bench_function("std_park_unpark_floor", |b| b.iter(|| ping.round_trip()));
    drop(ping);
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = submit_collect, submit_collect_32, map, one_at_a_time
}

// ---- Paired runs: `OVERHEAD_PAIRED=ROUNDS cargo bench --bench overhead` ----

/// On a shared machine the load changes between criterion's benchmarks,
/// which run one after the other. Here each round times ours and the
/// `threadpool` design back to back, and the median of the per-round ratios
/// is printed: a ratio that the load changes far less.
fn paired(rounds: usize) {
    let time = |f: &mut dyn FnMut() -> u64| {
        let start = std::time::Instant::now();
        black_box(f());
        start.elapsed().as_secs_f64()
    };
    for (name, workers, mapped) in [
        ("submit_collect", WORKERS, false),
        ("submit_collect_32_workers", MANY_WORKERS, false),
        ("map", WORKERS, true),
    ] {
        let pool = ThreadPoolExecutor::new(workers).unwrap();
        let channels = ChannelPool::new(workers);
        let mut ratios = Vec::new();
        let (mut ours_total, mut theirs_total) = (0.0, 0.0);
        for _ in 0..rounds {
            let ours = time(&mut || match mapped {
                true => pool
                    .map(|x: u64| x, 0..TASKS)
                    .unwrap()
                    .map(Result::unwrap)
                    .sum(),
                false => {
                    let fs: Vec<_> = (0..TASKS)
                        .map(|i| pool.submit(move || i).unwrap())
                        .collect();
                    fs.iter().map(|f| f.result().unwrap()).sum()
                }
            });
            let theirs = time(&mut || channels.submit_collect(TASKS));
            ratios.push(ours / theirs);
            ours_total += ours;
            theirs_total += theirs;
        }
        ratios.sort_by(f64::total_cmp);
        let per_task = |total: f64| total / (rounds as f64 * TASKS as f64) * 1e9;
        println!(
            "{name:28} ours {:6.0} ns/task  threadpool+channel {:6.0} ns/task  median ratio {:.2} (quartiles {:.2}-{:.2}, {rounds} rounds)",
            per_task(ours_total),
            per_task(theirs_total),
            ratios[rounds / 2],
            ratios[rounds / 4],
            ratios[rounds * 3 / 4],
        );
    }
    let pool = ThreadPoolExecutor::new(WORKERS).unwrap();
    let mut ping = PingPong::new();
    let mut ratios = Vec::new();
    for _ in 0..rounds {
        let ours = time(&mut || {
            (0..1000)
                .map(|_| pool.submit(|| black_box(1_u64)).unwrap().result().unwrap())
                .sum()
        });
        let floor = time(&mut || {
            (0..1000).for_each(|_| ping.round_trip());
            0
        });
        ratios.push(ours / floor);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "{:28} median ratio to the park/unpark floor {:.2} (quartiles {:.2}-{:.2})",
        "one_at_a_time",
        ratios[rounds / 2],
        ratios[rounds / 4],
        ratios[rounds * 3 / 4],
    );
}

// ---- One side alone, for `perf stat`: `OVERHEAD_ALONE=ours:2 cargo bench --bench overhead` ----

/// Ten rounds of submit-then-collect over 100k tasks on one pool only
/// (`ours` or `threadpool`, and the number of workers), so that a profiler's
/// figures (task-clock, instructions, context switches) belong to that pool.
fn alone(spec: &str) {
    let (which, workers) = spec.split_once(':').unwrap_or((spec, "2"));
    let workers: usize = workers.parse().expect("OVERHEAD_ALONE=ours:2");
    let sum = match which {
        "ours" => {
            let pool = ThreadPoolExecutor::new(workers).unwrap();
            (0..10)
                .map(|_| {
                    let fs: Vec<_> = (0..TASKS)
                        .map(|i| pool.submit(move || i).unwrap())
                        .collect();
                    fs.iter().map(|f| f.result().unwrap()).sum::<u64>()
                })
                .sum::<u64>()
        }
        "threadpool" => {
            let channels = ChannelPool::new(workers);
            (0..10).map(|_| channels.submit_collect(TASKS)).sum()
        }
        _ => panic!("OVERHEAD_ALONE takes ours:N or threadpool:N"),
    };
    assert_eq!(sum, 10 * TASKS * (TASKS - 1) / 2);
}

fn main() {
    if let Ok(spec) = std::env::var("OVERHEAD_ALONE") {
        return alone(&spec);
    }
    if let Some(rounds) = std::env::var("OVERHEAD_PAIRED")
        .ok()
        .and_then(|r| r.parse().ok())
    {
        return paired(rounds);
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
