//! Article §5, "Map Tasks to Thread Pool using map()" (5.1 one iterable,
//! 5.2 several, 5.3 with a timeout, 5.4 chunksize); the code is `src/map.rs`.
//!
//! The story: `map` submits every item before it returns and hands back an
//! iterator that yields the results in input order. Its timeout runs from the
//! `map` call. The first failure or timeout is yielded once and ends the
//! iteration, cancelling every task that has not started; dropping the
//! iterator does the same once it has been read from (an unread one cancels
//! nothing, as a Python generator that never started). `buffersize` keeps only a window of the input
//! submitted, so an endless input works; `chunksize` means nothing to
//! threads and is accepted and ignored, as in Python.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{held_pool, thread_name, Gate, Rendezvous, BOUND};
use concurrent_futures::{Error, MapOptions, ThreadPoolExecutor};

fn cube(x: u64) -> u64 {
    x.pow(3)
}

/// Which items a `map`'s function was called on, in call order.
type Log = Arc<Mutex<Vec<u64>>>;

fn logged(log: &Log) -> Vec<u64> {
    let mut items = log.lock().unwrap().clone();
    items.sort_unstable();
    items
}

#[test]
fn map_yields_cubes_in_input_order() {
    // §5.1: `pool.map(cube, range(1, 11))` on five threads named `Thread_n`.
    let pool = ThreadPoolExecutor::builder()
        .max_workers(5)
        .thread_name_prefix("Thread")
        .build()
        .unwrap();
    let results = pool.map(|x| (thread_name(), cube(x)), 1..=10).unwrap();
    let results: Vec<_> = results.map(Result::unwrap).collect();
    let cubes: Vec<u64> = results.iter().map(|(_, c)| *c).collect();
    assert_eq!(cubes, (1..=10).map(cube).collect::<Vec<_>>());
    assert!(results.iter().all(|(name, _)| name.starts_with("Thread_")));
}

#[test]
fn results_come_in_input_order_even_when_tasks_finish_in_reverse() {
    // Task i may only finish after task i+1 has: a chain of gates makes the
    // completion order exactly the reverse of the input order.
    const N: usize = 5;
    let pool = ThreadPoolExecutor::new(N).unwrap();
    let finished: Vec<Arc<Gate>> = (0..N).map(|_| Gate::new()).collect();
    let order = Arc::new(Mutex::new(Vec::new()));
    let (gates, log) = (finished.clone(), Arc::clone(&order));
    let results = pool
        .map(
            move |i: usize| {
                if i + 1 < N {
                    gates[i + 1].wait();
                }
                log.lock().unwrap().push(i);
                gates[i].open();
                i * 10
            },
            0..N,
        )
        .unwrap();
    let results: Vec<usize> = results.map(Result::unwrap).collect();
    assert_eq!(results, [0, 10, 20, 30, 40]);
    assert_eq!(*order.lock().unwrap(), [4, 3, 2, 1, 0]);
}

#[test]
fn map_submits_every_item_before_returning() {
    // The iterator is never touched until the end, yet all ten tasks run:
    // they were all submitted by `map` itself, and `shutdown` waits for
    // everything submitted.
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let gate = Gate::new();
    let pulled = Arc::new(AtomicUsize::new(0));
    let ran = Arc::new(AtomicUsize::new(0));
    let (g, r, p) = (Arc::clone(&gate), Arc::clone(&ran), Arc::clone(&pulled));
    let results = pool
        .map(
            move |x: u64| {
                g.wait();
                r.fetch_add(1, Ordering::SeqCst);
                cube(x)
            },
            (1..=10).inspect(move |_| {
                p.fetch_add(1, Ordering::SeqCst);
            }),
        )
        .unwrap();
    assert_eq!(pulled.load(Ordering::SeqCst), 10);

    gate.open();
    pool.shutdown();
    assert_eq!(ran.load(Ordering::SeqCst), 10);
    let cubes: Vec<u64> = results.map(Result::unwrap).collect();
    assert_eq!(cubes, (1..=10).map(cube).collect::<Vec<_>>());
}

#[test]
fn several_iterables_are_one_zipped_iterator() {
    // §5.2: `pool.map(cube, range(1, 11), range(1, 11))` becomes one zip.
    // Like Python's `map`, the shortest input decides the length.
    let pool = ThreadPoolExecutor::new(5).unwrap();
    let xs = 1..=10_u64;
    let results = pool.map(|(a, b)| cube(a + b), xs.clone().zip(xs)).unwrap();
    let results: Vec<u64> = results.map(Result::unwrap).collect();
    assert_eq!(results, (1..=10).map(|x| cube(2 * x)).collect::<Vec<_>>());

    let short = pool
        .map(|(a, b): (u64, u64)| a * b, (1..=3).zip(10..))
        .unwrap();
    let short: Vec<u64> = short.map(Result::unwrap).collect();
    assert_eq!(short, [10, 22, 36]);
}

#[test]
fn map_after_shutdown_is_an_error_even_for_an_empty_input() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    pool.shutdown();
    let e = pool.map(cube, 1..=3).unwrap_err();
    assert_eq!(e, Error::Shutdown);
    let e = pool.map(cube, std::iter::empty()).unwrap_err();
    assert_eq!(e, Error::Shutdown);
    let e = pool
        .map_with(cube, 1..=3, MapOptions::default())
        .unwrap_err();
    assert_eq!(e, Error::Shutdown);
}

#[test]
fn the_first_failure_is_yielded_once_and_cancels_what_has_not_started() {
    // One worker, ten items: 0 succeeds, 1 panics, 2 holds the worker at a
    // gate, 3 to 9 wait in the queue.
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let gate = Gate::new();
    let log: Log = Arc::default();
    let (started_tx, started) = mpsc::channel();
    let (g, l) = (Arc::clone(&gate), Arc::clone(&log));
    let mut results = pool
        .map(
            move |i: u64| {
                l.lock().unwrap().push(i);
                match i {
                    1 => panic!("item 1 failed"),
                    2 => {
                        started_tx.send(()).unwrap();
                        g.wait();
                    }
                    _ => {}
                }
                i
            },
            0..10,
        )
        .unwrap();
    started.recv_timeout(BOUND).unwrap();

    assert_eq!(results.next(), Some(Ok(0)));
    match results.next() {
        Some(Err(Error::Panicked { message })) => {
            assert!(message.starts_with("item 1 failed (at "), "{message}")
        }
        other => panic!("expected Error::Panicked, got {other:?}"),
    }
    // One error, then the end; the running item 2 is not waited for.
    assert_eq!(results.next(), None);
    assert_eq!(results.next(), None);

    // Items 3 to 9 were cancelled, so the worker skips them all.
    gate.open();
    pool.shutdown();
    assert_eq!(logged(&log), [0, 1, 2]);
}

#[test]
fn the_timeout_counts_from_the_map_call() {
    // §5.3, scaled down: items 0 and 1 return at once, 2 and 3 never do
    // (until the end of the test). The consumer dawdles before it asks for
    // anything; the deadline must still fall `TIMEOUT` after `map`, not
    // `TIMEOUT` after the first `next`.
    const TIMEOUT: Duration = Duration::from_millis(1000);
    const DAWDLE: Duration = Duration::from_millis(800);
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let gate = Gate::new();
    let g = Arc::clone(&gate);
    let opts = MapOptions {
        timeout: Some(TIMEOUT),
        ..Default::default()
    };
    let start = Instant::now();
    let mut results = pool
        .map_with(
            move |x: u64| {
                if x >= 2 {
                    g.wait();
                }
                cube(x)
            },
            0..4,
            opts,
        )
        .unwrap();
    thread::sleep(DAWDLE);
    // What the dawdle really took: on a loaded machine a sleep overruns.
    let dawdled = start.elapsed();

    assert_eq!(results.next(), Some(Ok(0)));
    assert_eq!(results.next(), Some(Ok(1)));
    let e = results.next().unwrap().unwrap_err();
    let elapsed = start.elapsed();
    gate.open();
    assert!(matches!(e, Error::Timeout { .. }), "{e:?}");
    assert_eq!(e.python_name(), "TimeoutError");
    assert_eq!(results.next(), None);

    // Measured from the first `next`, it could not end before
    // dawdled + TIMEOUT; measured from `map`, it ends at TIMEOUT or, if the
    // dawdle overran that, at once.
    assert!(elapsed >= TIMEOUT, "gave up early: {elapsed:?}");
    assert!(
        elapsed < dawdled + TIMEOUT,
        "timeout counted from too late: {elapsed:?} (dawdled {dawdled:?})"
    );
}

#[test]
fn a_timeout_cancels_every_pending_item_including_the_one_it_timed_out_on() {
    // The worker is busy elsewhere, so all five items are still pending when
    // the consumer gives up on item 0: Python's `_result_or_cancel` cancels
    // item 0 too, and the iterator's end cancels the rest.
    let gate = Gate::new();
    let (pool, blocker) = held_pool(&gate);
    let log: Log = Arc::default();
    let l = Arc::clone(&log);
    let opts = MapOptions {
        timeout: Some(Duration::from_millis(100)),
        ..Default::default()
    };
    let mut results = pool
        .map_with(move |i: u64| l.lock().unwrap().push(i), 0..5, opts)
        .unwrap();
    assert!(matches!(results.next(), Some(Err(Error::Timeout { .. }))));
    assert_eq!(results.next(), None);

    gate.open();
    blocker.result_timeout(BOUND).unwrap();
    pool.shutdown();
    assert_eq!(logged(&log), [] as [u64; 0]);
}

#[test]
fn dropping_an_unread_iterator_cancels_nothing() {
    // CPython 3.13: `map` returns a generator whose cleanup (which cancels)
    // only runs once it has started, so the tasks of an unread `map` all
    // run. Dropping it used to cancel them.
    let gate = Gate::new();
    let (pool, _blocker) = held_pool(&gate);
    let log: Log = Arc::default();
    let l = Arc::clone(&log);
    let results = pool
        .map(move |i: u64| l.lock().unwrap().push(i), 0..5)
        .unwrap();
    drop(results);

    gate.open();
    pool.shutdown();
    assert_eq!(logged(&log), [0, 1, 2, 3, 4]);
}

#[test]
fn dropping_a_read_iterator_cancels_the_items_not_yet_started() {
    // Once read from, the iterator owns its tasks: its first result was
    // yielded, then it goes with items 2-4 queued behind the held worker.
    let gate = Gate::new();
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let log: Log = Arc::default();
    let (started_tx, started) = mpsc::channel();
    let (g, l) = (Arc::clone(&gate), Arc::clone(&log));
    let mut results = pool
        .map(
            move |i: u64| {
                l.lock().unwrap().push(i);
                if i == 1 {
                    started_tx.send(()).unwrap();
                    g.wait();
                }
            },
            0..5,
        )
        .unwrap();
    assert_eq!(results.next(), Some(Ok(())));
    started.recv_timeout(BOUND).unwrap();
    drop(results);

    gate.open();
    pool.shutdown();
    assert_eq!(logged(&log), [0, 1]);
}

#[test]
fn dropping_a_half_read_iterator_cancels_only_the_rest() {
    // Items 0 and 1 are read, item 2 is running when the iterator goes:
    // it finishes, and 3 and 4 never start.
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let gate = Gate::new();
    let log: Log = Arc::default();
    let (started_tx, started) = mpsc::channel();
    let (g, l) = (Arc::clone(&gate), Arc::clone(&log));
    let mut results = pool
        .map(
            move |i: u64| {
                l.lock().unwrap().push(i);
                if i == 2 {
                    started_tx.send(()).unwrap();
                    g.wait();
                }
                i
            },
            0..5,
        )
        .unwrap();
    assert_eq!(results.next(), Some(Ok(0)));
    assert_eq!(results.next(), Some(Ok(1)));
    started.recv_timeout(BOUND).unwrap();
    drop(results);

    gate.open();
    pool.shutdown();
    assert_eq!(logged(&log), [0, 1, 2]);
}

#[test]
fn buffersize_keeps_at_most_n_items_ahead_of_the_consumer() {
    // Count how many items `map` has taken from its input: with
    // `buffersize: Some(3)` that is 3 before anything is read, and one more
    // for each result read (Python submits the next item, then yields).
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let pulled = Arc::new(AtomicUsize::new(0));
    let p = Arc::clone(&pulled);
    let input = (0..10_u64).inspect(move |_| {
        p.fetch_add(1, Ordering::SeqCst);
    });
    let opts = MapOptions {
        buffersize: Some(3),
        ..Default::default()
    };
    let mut results = pool.map_with(cube, input, opts).unwrap();
    assert_eq!(pulled.load(Ordering::SeqCst), 3);
    for read in 1..=10 {
        assert_eq!(results.next(), Some(Ok(cube(read - 1))));
        assert_eq!(pulled.load(Ordering::SeqCst), (3 + read as usize).min(10));
    }
    assert_eq!(results.next(), None);
}

#[test]
fn buffersize_makes_an_endless_input_work() {
    // Without a window, `map` would try to submit all of `0..` before
    // returning. The `inspect` turns that mistake into a failure instead of
    // a test that never ends.
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let endless = (0_u64..).inspect(|&i| assert!(i < 1000, "map ran ahead of buffersize"));
    let opts = MapOptions {
        buffersize: Some(4),
        timeout: Some(BOUND),
        ..Default::default()
    };
    let results = pool.map_with(|x| x * 2, endless, opts).unwrap();
    let firsts: Vec<u64> = results.take(10).map(Result::unwrap).collect();
    assert_eq!(firsts, [0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
}

#[test]
fn map_over_an_empty_input_on_a_broken_pool_is_an_empty_iterator() {
    // CPython 3.13: a broken pool fails `map` at its first submit only, so
    // an empty input gives an empty iterator; one item gives BrokenPool.
    let pool = ThreadPoolExecutor::builder()
        .max_workers(1)
        .initializer(|| panic!("the initializer fails"))
        .build()
        .unwrap();
    let first = pool.submit(|| ()).unwrap();
    assert!(matches!(
        first.result_timeout(BOUND),
        Err(Error::BrokenPool { .. })
    ));
    let mut empty = pool.map(cube, std::iter::empty()).unwrap();
    assert_eq!(empty.next(), None);
    let opts = MapOptions {
        buffersize: Some(2),
        ..Default::default()
    };
    let mut empty = pool.map_with(cube, std::iter::empty(), opts).unwrap();
    assert_eq!(empty.next(), None);
    let e = pool.map(cube, 1..=1).unwrap_err();
    assert!(matches!(e, Error::BrokenPool { .. }), "{e:?}");
    // Still so once the broken pool is also shut down: broken comes first.
    pool.shutdown();
    assert_eq!(pool.map(cube, std::iter::empty()).unwrap().next(), None);
}

#[test]
fn buffersize_zero_is_checked_before_the_pools_state() {
    // CPython 3.14 checks `map`'s arguments first: ValueError, not the
    // shut-down pool's RuntimeError.
    let pool = ThreadPoolExecutor::new(1).unwrap();
    pool.shutdown();
    let opts = MapOptions {
        buffersize: Some(0),
        ..Default::default()
    };
    let e = pool.map_with(cube, 1..=3, opts).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{e:?}");
}

#[test]
fn buffersize_zero_is_an_invalid_argument() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let opts = MapOptions {
        buffersize: Some(0),
        ..Default::default()
    };
    let e = pool.map_with(cube, 1..=3, opts).unwrap_err();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{e:?}");
}

#[test]
fn chunksize_is_accepted_and_ignored_by_threads() {
    // Any chunksize, 0 (meaning 1) included, gives the same results...
    let pool = ThreadPoolExecutor::new(4).unwrap();
    for chunksize in [0, 1, 3, 100] {
        let opts = MapOptions {
            chunksize,
            ..Default::default()
        };
        let cubes: Vec<u64> = pool
            .map_with(cube, 1..=10, opts)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(cubes, (1..=10).map(cube).collect::<Vec<_>>(), "{chunksize}");
    }
    // ...and each item is still its own task: four items that must meet can
    // only do so on four threads at once, never inside one chunk.
    let meet = Rendezvous::new(4);
    let opts = MapOptions {
        chunksize: 4,
        ..Default::default()
    };
    let met = pool.map_with(move |_: u8| meet.wait(), 0..4, opts).unwrap();
    assert_eq!(met.filter(Result::is_ok).count(), 4);
}

#[test]
fn a_generous_timeout_changes_nothing() {
    let pool = ThreadPoolExecutor::new(3).unwrap();
    let opts = MapOptions {
        timeout: Some(BOUND),
        ..Default::default()
    };
    let cubes: Result<Vec<u64>, Error> = pool.map_with(cube, 1..=10, opts).unwrap().collect();
    assert_eq!(cubes.unwrap(), (1..=10).map(cube).collect::<Vec<_>>());
}

#[test]
fn with_buffersize_the_end_of_the_map_stops_taking_input() {
    // After the error, and after a drop, no more items are taken from the
    // input: the window is not refilled.
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let pulled = Arc::new(AtomicUsize::new(0));
    let p = Arc::clone(&pulled);
    let input = (0..100_u64).inspect(move |_| {
        p.fetch_add(1, Ordering::SeqCst);
    });
    let opts = MapOptions {
        buffersize: Some(2),
        ..Default::default()
    };
    let mut results = pool
        .map_with(
            |x: u64| {
                assert!(x != 1, "item 1 failed");
                x
            },
            input,
            opts,
        )
        .unwrap();
    assert_eq!(results.next(), Some(Ok(0)));
    assert!(matches!(results.next(), Some(Err(Error::Panicked { .. }))));
    let after_error = pulled.load(Ordering::SeqCst);
    assert_eq!(after_error, 4); // 2 ahead, plus one per `next`
    assert_eq!(results.next(), None);
    drop(results);
    assert_eq!(pulled.load(Ordering::SeqCst), after_error);
}
