//! One `Executor` for both pools (`src/executor.rs`): the same generic code
//! runs a named `Task` on threads and on processes, and the thread pool
//! calls the function directly, with no encoding. Workers are this test
//! binary, re-executed; `worker_test!` below is their way in.

mod common;

use concurrent_futures::process::{Registered, Task, Wire};
use concurrent_futures::{
    Error, Executor, MapOptions, ProcessPoolExecutor, Shutdown, ThreadPoolExecutor,
};

use common::{held_pool, Gate, BOUND};

fn cube(x: u64) -> u64 {
    x.pow(3)
}

/// A value whose encoding always fails: it can only reach a task that is
/// called directly.
#[derive(Debug)]
struct NoWire(u64);

impl Wire for NoWire {
    fn encode(&self, _: &mut Vec<u8>) -> Result<(), Error> {
        Err(Error::Encoding {
            message: "NoWire never encodes".into(),
        })
    }

    fn decode(_: &mut &[u8]) -> Result<NoWire, Error> {
        Err(Error::Encoding {
            message: "NoWire never decodes".into(),
        })
    }
}

fn unwrap_no_wire(x: NoWire) -> u64 {
    x.0
}

fn boom(x: u64) -> u64 {
    assert!(x != 3, "boom at {x}");
    x
}

const CUBE: Task<u64, u64> = Task::new("cube", cube);
const NO_WIRE: Task<NoWire, u64> = Task::new("no_wire", unwrap_no_wire);
const BOOM: Task<u64, u64> = Task::new("boom", boom);
const TASKS: &[&dyn Registered] = &[&CUBE, &NO_WIRE, &BOOM];

concurrent_futures::worker_test!(TASKS);

/// The article's §2 and §3 loop, written once for any pool.
fn cubes<E: Executor>(pool: &E) -> Vec<u64> {
    let futures: Vec<_> = (1..=10)
        .map(|i| pool.submit_task(&CUBE, i).unwrap())
        .collect();
    futures
        .iter()
        .map(|f| f.result_timeout(BOUND).unwrap())
        .collect()
}

fn mapped<E: Executor>(pool: &E, options: MapOptions) -> Result<Vec<u64>, Error> {
    pool.map_task_with(&CUBE, 1..=10, options)?.collect()
}

const EXPECTED: [u64; 10] = [1, 8, 27, 64, 125, 216, 343, 512, 729, 1000];

#[test]
fn one_generic_function_runs_on_threads_and_on_processes() {
    assert_eq!(cubes(&ThreadPoolExecutor::new(5).unwrap()), EXPECTED);
    assert_eq!(cubes(&ProcessPoolExecutor::new(2).unwrap()), EXPECTED);
}

#[test]
fn map_task_gives_input_order_on_both_pools() {
    let threads = ThreadPoolExecutor::new(3).unwrap();
    let processes = ProcessPoolExecutor::new(2).unwrap();
    let t: Result<Vec<u64>, Error> = threads.map_task(&CUBE, 1..=10).unwrap().collect();
    let p: Result<Vec<u64>, Error> = processes.map_task(&CUBE, 1..=10).unwrap().collect();
    assert_eq!(t.unwrap(), EXPECTED);
    assert_eq!(p.unwrap(), EXPECTED);
}

#[test]
fn map_task_with_passes_the_options_on() {
    let chunks = MapOptions {
        chunksize: 3,
        buffersize: Some(2),
        timeout: Some(BOUND),
        ..Default::default()
    };
    let threads = ThreadPoolExecutor::new(3).unwrap();
    let processes = ProcessPoolExecutor::new(2).unwrap();
    assert_eq!(mapped(&threads, chunks.clone()).unwrap(), EXPECTED);
    assert_eq!(mapped(&processes, chunks).unwrap(), EXPECTED);
    // Proof the options arrive: one a thread pool must refuse.
    let limited = MapOptions {
        task_timeout: Some(BOUND),
        ..Default::default()
    };
    let e = mapped(&threads, limited).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }));
}

#[test]
fn a_failure_ends_map_task_on_both_pools() {
    let threads = ThreadPoolExecutor::new(2).unwrap();
    let processes = ProcessPoolExecutor::new(2).unwrap();
    for outcome in [
        threads.map_task(&BOOM, 1..=5).unwrap().collect::<Vec<_>>(),
        processes
            .map_task(&BOOM, 1..=5)
            .unwrap()
            .collect::<Vec<_>>(),
    ] {
        assert_eq!(outcome.len(), 3, "{outcome:?}");
        assert!(
            matches!(&outcome[2], Err(Error::Panicked { message }) if message.contains("boom at 3"))
        );
    }
}

#[test]
fn the_thread_pool_calls_the_task_without_encoding_it() {
    let threads = ThreadPoolExecutor::new(1).unwrap();
    let f = threads.submit_task(&NO_WIRE, NoWire(5)).unwrap();
    assert_eq!(f.result_timeout(BOUND), Ok(5));
    // The process pool must encode, and says so in the future.
    let processes = ProcessPoolExecutor::new(1).unwrap();
    let f = processes.submit_task(&NO_WIRE, NoWire(5)).unwrap();
    assert!(matches!(
        f.result_timeout(BOUND),
        Err(Error::Encoding { .. })
    ));
}

#[test]
fn shutdown_through_the_trait_closes_either_pool() {
    fn close<E: Executor>(pool: &E) -> Error {
        pool.shutdown();
        pool.submit_task(&CUBE, 1).unwrap_err()
    }
    assert_eq!(close(&ThreadPoolExecutor::new(1).unwrap()), Error::Shutdown);
    assert_eq!(
        close(&ProcessPoolExecutor::new(1).unwrap()),
        Error::Shutdown
    );
}

#[test]
fn shutdown_with_through_the_trait_cancels_what_is_queued() {
    fn close_now<E: Executor>(pool: &E) {
        pool.shutdown_with(Shutdown {
            wait: false,
            cancel_futures: true,
        });
    }
    let gate = Gate::new();
    let (pool, _blocker) = held_pool(&gate);
    let queued = pool.submit_task(&CUBE, 2).unwrap();
    close_now(&pool);
    assert!(queued.cancelled());
    gate.open();
}
