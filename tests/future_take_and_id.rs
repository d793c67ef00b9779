//! Two traps a new user hits with futures (`src/future.rs`): a result that
//! is not `Clone` (`Future::into_result` moves it out), and futures as map
//! keys (`Future::id`, a plain `Copy` key that clippy's `mutable_key_type`
//! accepts; this file is checked by `cargo clippy --all-targets`).

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::sync::mpsc;
use std::thread;

use common::BOUND;
use concurrent_futures::{as_completed, Error, Future, FutureId, ThreadPoolExecutor};

/// A value that cannot be cloned, as `io::Error` cannot.
#[derive(Debug, PartialEq)]
struct NotClone(u32);

#[test]
fn into_result_moves_a_value_that_is_not_clone() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let f = pool.submit(|| NotClone(7)).unwrap();
    assert_eq!(f.into_result(), Ok(NotClone(7)));
}

#[test]
fn into_result_of_an_io_result() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let f = pool
        .submit(|| -> io::Result<u32> { Err(io::Error::new(io::ErrorKind::NotFound, "gone")) })
        .unwrap();
    let e = f.into_result().unwrap().unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::NotFound);
}

#[test]
fn into_result_waits_for_the_future() {
    let f = Future::new();
    let (ready_tx, ready) = mpsc::channel();
    let setter = f.clone();
    let t = thread::spawn(move || {
        ready.recv_timeout(BOUND).unwrap();
        setter.set_result(NotClone(1)).unwrap();
    });
    ready_tx.send(()).unwrap();
    assert_eq!(f.into_result(), Ok(NotClone(1)));
    t.join().unwrap();
}

#[test]
fn after_into_result_other_handles_see_a_success_whose_value_is_gone() {
    let f = Future::new();
    f.set_result(NotClone(2)).unwrap();
    let other = f.clone();
    assert_eq!(f.into_result(), Ok(NotClone(2)));
    assert!(other.done() && !other.cancelled());
    assert_eq!(other.exception(), Ok(None), "it still succeeded");
    assert!(
        matches!(other.clone().into_result(), Err(Error::InvalidState { message }) if message.contains("moved out"))
    );
    assert_eq!(
        format!("{other:?}"),
        format!(
            "Future {{ state: finished, returned: {} (moved out) }}",
            std::any::type_name::<NotClone>()
        )
    );
}

#[test]
fn an_error_is_not_moved_every_handle_sees_it() {
    let f = Future::<NotClone>::new();
    f.set_exception(Error::Shutdown).unwrap();
    let other = f.clone();
    assert_eq!(f.into_result(), Err(Error::Shutdown));
    assert_eq!(other.clone().into_result(), Err(Error::Shutdown));
    assert_eq!(other.exception(), Ok(Some(Error::Shutdown)));
}

#[test]
fn into_result_of_a_cancelled_future_is_cancelled() {
    let f = Future::<NotClone>::new();
    f.cancel();
    assert_eq!(f.into_result(), Err(Error::Cancelled));
}

#[test]
fn result_still_clones_and_leaves_the_value_in_place() {
    let f = Future::new();
    f.set_result(String::from("kept")).unwrap();
    assert_eq!(f.result().unwrap(), "kept");
    assert_eq!(f.result().unwrap(), "kept");
    assert_eq!(f.into_result().unwrap(), "kept");
}

#[test]
fn an_id_is_shared_by_clones_and_differs_between_futures() {
    let a = Future::<u8>::new();
    let b = Future::<u8>::new();
    assert_eq!(a.id(), a.clone().id());
    assert_ne!(a.id(), b.id());
    assert!(a.id() < b.id(), "ids grow in creation order");
}

#[test]
fn an_id_is_never_reused_after_its_future_is_dropped() {
    let mut seen = HashSet::new();
    for _ in 0..1000 {
        // Each future is dropped at once: its memory is reused, its id not.
        assert!(seen.insert(Future::<u64>::new().id()));
    }
}

#[test]
fn ids_key_a_map_of_futures_as_python_keys_a_dict() {
    let pool = ThreadPoolExecutor::new(3).unwrap();
    let futures: Vec<Future<u64>> = (1..=6_u64)
        .map(|i| pool.submit(move || i * i).unwrap())
        .collect();
    let inputs: HashMap<FutureId, u64> =
        futures.iter().zip(1..).map(|(f, i)| (f.id(), i)).collect();
    let mut seen = 0;
    for done in as_completed(&futures) {
        let done = done.unwrap();
        let i = inputs[&done.id()];
        assert_eq!(done.result().unwrap(), i * i);
        seen += 1;
    }
    assert_eq!(seen, 6);
    // Ord: a BTreeMap keyed by id lists futures in submission order.
    let by_id: BTreeMap<FutureId, &Future<u64>> =
        futures.iter().rev().map(|f| (f.id(), f)).collect();
    let order: Vec<u64> = by_id.values().map(|f| f.result().unwrap()).collect();
    assert_eq!(order, [1, 4, 9, 16, 25, 36]);
}
