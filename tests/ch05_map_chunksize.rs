//! Article §5.4, "When should you use the chunksize parameter of map()?";
//! the code is `src/process/map.rs` (chunks on top of the shared `Map` of
//! `src/map.rs`).
//!
//! The story: on processes every work item crosses a socket, so `map` can
//! pack `chunksize` calls into one item and unpack the results in order.
//! A chunk lives and dies as one: if one call in it panics, the whole chunk
//! fails and the iteration ends there, as in CPython. `buffersize` counts
//! chunks. The worker processes are this test binary, re-executed; they
//! come in through `worker_test!` below (inside a module, as in a
//! `#[cfg(test)] mod tests`).

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::remote::{wait_at, RemoteGate};
use common::BOUND;
use concurrent_futures::process::{Registered, Task};
use concurrent_futures::{Error, MapOptions, ProcessPoolExecutor};

fn cube(x: u64) -> u64 {
    x.pow(3)
}

fn with_pid(x: u64) -> (u64, u32) {
    (x, std::process::id())
}

fn boom(x: u64) -> u64 {
    assert!(x != 4, "boom {x}");
    x
}

fn add((a, b): (u64, u64)) -> u64 {
    a + b
}

/// `(gate, hold, x)`: returns `x`, first waiting at `gate` if `x == hold`.
fn held((gate, hold, x): (String, u64, u64)) -> u64 {
    if x == hold {
        wait_at(&gate);
    }
    x
}

const CUBE: Task<u64, u64> = Task::new("cube", cube);
const WITH_PID: Task<u64, (u64, u32)> = Task::new("with_pid", with_pid);
const BOOM: Task<u64, u64> = Task::new("boom", boom);
const ADD: Task<(u64, u64), u64> = Task::new("add", add);
const HELD: Task<(String, u64, u64), u64> = Task::new("held", held);
const TASKS: &[&dyn Registered] = &[&CUBE, &WITH_PID, &BOOM, &ADD, &HELD];

/// The worker entry inside a module, as in a `#[cfg(test)] mod tests`: the
/// pool finds `worker::__concurrent_futures_worker` all the same.
mod worker {
    concurrent_futures::worker_test!(super::TASKS);
}

fn chunks(chunksize: usize) -> MapOptions {
    MapOptions {
        chunksize,
        ..Default::default()
    }
}

#[test]
fn any_chunksize_gives_the_results_in_input_order() {
    // 0 means 1; 3 leaves a short last chunk; 11 is one chunk for all.
    let pool = ProcessPoolExecutor::new(2).unwrap();
    for chunksize in [0, 1, 2, 3, 4, 10, 11] {
        let cubes: Result<Vec<u64>, Error> = pool
            .map_with(&CUBE, 1..=10, chunks(chunksize))
            .unwrap()
            .collect();
        assert_eq!(
            cubes.unwrap(),
            (1..=10).map(cube).collect::<Vec<_>>(),
            "chunksize {chunksize}"
        );
    }
    let none: Vec<_> = pool
        .map_with(&CUBE, std::iter::empty(), chunks(3))
        .unwrap()
        .collect();
    assert!(none.is_empty());
}

#[test]
fn a_chunk_is_one_work_item_run_by_one_process() {
    // With `max_tasks_per_child(1)` every work item gets a fresh process, so
    // counting processes counts work items: twelve calls in chunks of four
    // are three items, three processes, one per chunk.
    let pool = ProcessPoolExecutor::builder()
        .max_workers(2)
        .max_tasks_per_child(1)
        .build()
        .unwrap();
    let results: Vec<(u64, u32)> = pool
        .map_with(&WITH_PID, 0..12, chunks(4))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let xs: Vec<u64> = results.iter().map(|(x, _)| *x).collect();
    assert_eq!(xs, (0..12).collect::<Vec<_>>());
    let pids_per_chunk: Vec<HashSet<u32>> = results
        .chunks(4)
        .map(|c| c.iter().map(|(_, pid)| *pid).collect())
        .collect();
    assert!(
        pids_per_chunk.iter().all(|p| p.len() == 1),
        "{pids_per_chunk:?}"
    );
    let all: HashSet<u32> = results.iter().map(|(_, pid)| *pid).collect();
    assert_eq!(all.len(), 3);
}

#[test]
fn one_panic_fails_its_whole_chunk_and_ends_the_map() {
    // Chunks of three: [0 1 2] [3 4 5] [6 7 8] [9]. Item 4 panics, so 3 and
    // 5 are lost with it, as in CPython (which yields 0, 1, 2, then raises).
    let pool = ProcessPoolExecutor::new(2).unwrap();
    let mut results = pool.map_with(&BOOM, 0..10, chunks(3)).unwrap();
    for x in 0..3 {
        assert_eq!(results.next(), Some(Ok(x)));
    }
    match results.next() {
        Some(Err(Error::Panicked { message })) => assert!(message.contains("boom 4"), "{message}"),
        other => panic!("expected the chunk's panic, got {other:?}"),
    }
    assert_eq!(results.next(), None);
    // The pool itself is fine.
    assert_eq!(pool.submit(&CUBE, 2).unwrap().result_timeout(BOUND), Ok(8));
}

#[test]
fn several_iterables_zip_into_chunks_of_tuples() {
    let pool = ProcessPoolExecutor::new(2).unwrap();
    let sums: Vec<u64> = pool
        .map_with(&ADD, (1..=5).zip(10..), chunks(2))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(sums, [11, 13, 15, 17, 19]);
}

#[test]
fn buffersize_counts_chunks() {
    // Two chunks of three ahead: six items taken from the input at once,
    // three more (one chunk) each time a new chunk is opened.
    let pool = ProcessPoolExecutor::new(2).unwrap();
    let pulled = Arc::new(AtomicUsize::new(0));
    let p = Arc::clone(&pulled);
    let input = (0..30_u64).inspect(move |_| {
        p.fetch_add(1, Ordering::SeqCst);
    });
    let opts = MapOptions {
        chunksize: 3,
        buffersize: Some(2),
        timeout: Some(BOUND),
        ..Default::default()
    };
    let mut results = pool.map_with(&CUBE, input, opts).unwrap();
    assert_eq!(pulled.load(Ordering::SeqCst), 6);
    let mut read = 0_u64;
    for expected_pulled in [9, 9, 9, 12, 12, 12, 15] {
        assert_eq!(results.next(), Some(Ok(cube(read))));
        read += 1;
        assert_eq!(
            pulled.load(Ordering::SeqCst),
            expected_pulled,
            "after {read}"
        );
    }
    let rest: Vec<u64> = results.map(Result::unwrap).collect();
    assert_eq!(rest.len(), 30 - 7);
}

#[test]
fn a_timeout_waits_for_the_whole_chunk() {
    // Chunks of two: [0 1] [2 3] [4 5]; item 3 is held, so the chunk
    // [2 3] is late as a whole and item 2, though computed, is not yielded.
    const TIMEOUT: Duration = Duration::from_millis(2000);
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let gate = RemoteGate::new();
    let input: Vec<_> = (0..6).map(|x| (gate.arg(), 3, x)).collect();
    let opts = MapOptions {
        chunksize: 2,
        timeout: Some(TIMEOUT),
        ..Default::default()
    };
    let start = Instant::now();
    let mut results = pool.map_with(&HELD, input, opts).unwrap();
    assert_eq!(results.next(), Some(Ok(0)));
    assert_eq!(results.next(), Some(Ok(1)));
    assert!(matches!(results.next(), Some(Err(Error::Timeout { .. }))));
    assert!(start.elapsed() >= TIMEOUT);
    assert_eq!(results.next(), None);
    gate.arrived();
    gate.open();
}

#[test]
fn map_after_shutdown_is_an_error() {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    pool.shutdown();
    let e = pool.map_with(&CUBE, 1..=3, chunks(2)).unwrap_err();
    assert_eq!(e, Error::Shutdown);
    assert_eq!(pool.map(&CUBE, 1..=3).unwrap_err(), Error::Shutdown);
}

#[test]
fn buffersize_zero_is_an_invalid_argument() {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let opts = MapOptions {
        chunksize: 2,
        buffersize: Some(0),
        ..Default::default()
    };
    let e = pool.map_with(&CUBE, 1..=3, opts).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{e:?}");
}
