//! Every way a task or a pool can fail, and the `Error` each one produces,
//! printed as a reader would see it. The book's "When things go wrong"
//! chapter shows this program's output.
//!
//! Run it with `cargo run --example failures` (about a second). It starts
//! several process pools, since some of the failures break their pool.

use std::time::{Duration, Instant};

use concurrent_futures::process::{serve_if_worker, Registered, Task, Wire};
use concurrent_futures::{Error, Future, ProcessPoolExecutor, ThreadPoolExecutor};

/// Every wait below is bounded, so a bug fails instead of hanging.
const BOUND: Duration = Duration::from_secs(10);

/// A value that refuses to be encoded when it is even: stands for any user
/// type whose `Wire` impl can fail.
#[derive(Clone, Debug)]
struct Odd(u64);

impl Wire for Odd {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        if self.0 % 2 == 0 {
            return Err(Error::Encoding {
                message: format!("Odd({}) is even", self.0),
            });
        }
        self.0.encode(out)
    }
    fn decode(input: &mut &[u8]) -> Result<Self, Error> {
        u64::decode(input).map(Odd)
    }
}

fn cube(x: u64) -> u64 {
    x.pow(3)
}
fn refuse_three(x: u64) -> u64 {
    assert!(x != 3, "cube({x}) refused");
    x.pow(3)
}
fn exit_with(code: i32) {
    std::process::exit(code)
}
fn abort(_: ()) {
    std::process::abort()
}
fn sleep_for_an_hour(_: ()) {
    std::thread::sleep(Duration::from_secs(3600))
}
fn no_database(_: ()) {
    panic!("no database")
}
fn odd_cube(x: u64) -> Odd {
    Odd(x.pow(3))
}

const CUBE: Task<u64, u64> = Task::new("cube", cube);
const REFUSE_THREE: Task<u64, u64> = Task::new("refuse_three", refuse_three);
const EXIT: Task<i32, ()> = Task::new("exit_with", exit_with);
const ABORT: Task<(), ()> = Task::new("abort", abort);
const SLEEP: Task<(), ()> = Task::new("sleep_for_an_hour", sleep_for_an_hour);
const NO_DATABASE: Task<(), ()> = Task::new("no_database", no_database);
const ODD_CUBE: Task<u64, Odd> = Task::new("odd_cube", odd_cube);
const ODD_ARG: Task<Odd, u64> = Task::new("odd_arg", |Odd(x)| x);
/// Deliberately left out of `TASKS`.
const UNLISTED: Task<u64, u64> = Task::new("unlisted", cube);

const TASKS: &[&dyn Registered] = &[
    &CUBE,
    &REFUSE_THREE,
    &EXIT,
    &ABORT,
    &SLEEP,
    &NO_DATABASE,
    &ODD_CUBE,
    &ODD_ARG,
];

/// One line per case: what was done, the variant, and its message.
fn show<T: std::fmt::Debug>(case: &str, outcome: Result<T, Error>) {
    let text = match outcome {
        Ok(v) => format!("Ok({v:?})"),
        Err(e) => {
            let variant = format!("{e:?}");
            let variant = variant.split([' ', '(']).next().unwrap_or("?").to_owned();
            format!("Error::{variant}: {e}")
        }
    };
    println!("{case}\n    -> {text}");
}

fn result<T: Clone>(f: &Future<T>) -> Result<T, Error> {
    f.result_timeout(BOUND)
}

/// Waits until `f` has been handed to a worker (bounded).
fn until_running<T>(f: &Future<T>) {
    let start = Instant::now();
    while !f.running() && start.elapsed() < BOUND {
        std::thread::sleep(Duration::from_millis(1));
    }
}

// ANCHOR: main
fn main() {
    serve_if_worker(TASKS);
    println!("== threads ==");
    let pool = ThreadPoolExecutor::new(1).unwrap();
    show(
        "a task panics",
        result(&pool.submit(|| -> u64 { panic!("boom") }).unwrap()),
    );
    let never = Future::<u64>::new();
    show(
        "result_timeout on a task that is not done",
        never.result_timeout(Duration::from_millis(1)),
    );
    never.cancel();
    show("result of a cancelled future", never.result());
    let done = Future::new();
    done.set_result(1).unwrap();
    show("set_result on a finished future", done.set_result(2));
    pool.shutdown();
    show("submit after shutdown", pool.submit(|| 1).map(|_| ()));
    let broken = ThreadPoolExecutor::builder()
        .initializer(|| panic!("no database"))
        .build()
        .unwrap();
    show(
        "a thread initializer panics",
        result(&broken.submit(|| 1).unwrap()),
    );

    println!("\n== processes: the future fails, the pool lives on ==");
    let pool = ProcessPoolExecutor::new(1).unwrap();
    show(
        "a task panics",
        result(&pool.submit(&REFUSE_THREE, 3).unwrap()),
    );
    show(
        "the argument fails to encode (parent)",
        result(&pool.submit(&ODD_ARG, Odd(2)).unwrap()),
    );
    show(
        "the result fails to encode (worker)",
        result(&pool.submit(&ODD_CUBE, 2).unwrap()).map(|o| o.0),
    );
    show(
        "a task missing from the worker's TASKS",
        result(&pool.submit(&UNLISTED, 3).unwrap()),
    );
    show(
        "and the pool still works",
        result(&pool.submit(&CUBE, 3).unwrap()),
    );

    println!("\n== processes: the worker dies, the pool breaks ==");
    let pool = ProcessPoolExecutor::new(1).unwrap();
    show(
        "a task calls process::exit(3)",
        result(&pool.submit(&EXIT, 3).unwrap()),
    );
    show("a later submit", pool.submit(&CUBE, 3).map(|_| ()));
    let pool = ProcessPoolExecutor::new(1).unwrap();
    show(
        "a task calls process::abort()",
        result(&pool.submit(&ABORT, ()).unwrap()),
    );
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let f = pool.submit(&SLEEP, ()).unwrap();
    until_running(&f);
    for pid in pool.worker_pids() {
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    show("the worker is killed with SIGKILL", result(&f));
    let pool = ProcessPoolExecutor::builder()
        .max_workers(1)
        .initializer(&NO_DATABASE, ())
        .build()
        .unwrap();
    show(
        "a process initializer panics",
        result(&pool.submit(&CUBE, 3).unwrap()),
    );
}
// ANCHOR_END: main
