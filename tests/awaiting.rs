//! Awaiting a `Future` from async code (`src/awaiting.rs`), driven by a
//! twenty-line executor written with std only: `block_on` below.
//!
//! The wakers are counted: each test's waker is an `Arc<Signal>`, so its
//! strong count says how many copies the future keeps, and `Signal::wakes`
//! how often it was woken.

mod common;

use std::future::{Future as _, IntoFuture};
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier, Condvar, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Instant;

use common::{held_pool, Gate, BOUND};
use concurrent_futures::{Error, Future, ThreadPoolExecutor};

/// A waker that counts its wake-ups and lets `block_on` sleep until one.
#[derive(Default)]
struct Signal {
    wakes: AtomicUsize,
    woken: Mutex<bool>,
    changed: Condvar,
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.wakes.fetch_add(1, Ordering::SeqCst);
        *self.woken.lock().unwrap() = true;
        self.changed.notify_all();
    }
}

impl Signal {
    fn wakes(&self) -> usize {
        self.wakes.load(Ordering::SeqCst)
    }
}

/// Runs `f` to the end on this thread. Between polls it sleeps until its
/// waker is woken: a lost wake-up fails the test after `BOUND` instead of
/// being papered over by polling again.
fn block_on<F: IntoFuture>(f: F) -> F::Output {
    let signal = Arc::new(Signal::default());
    let waker = Waker::from(Arc::clone(&signal));
    let mut cx = Context::from_waker(&waker);
    let mut f = pin!(f.into_future());
    let deadline = Instant::now() + BOUND;
    loop {
        if let Poll::Ready(out) = f.as_mut().poll(&mut cx) {
            return out;
        }
        let mut woken = signal.woken.lock().unwrap();
        while !*woken {
            let left = deadline
                .checked_duration_since(Instant::now())
                .expect("the future was never woken: a lost wake-up");
            woken = signal.changed.wait_timeout(woken, left).unwrap().0;
        }
        *woken = false;
    }
}

/// A counted waker, for tests that poll by hand.
fn counted() -> (Arc<Signal>, Waker) {
    let signal = Arc::new(Signal::default());
    (Arc::clone(&signal), Waker::from(signal))
}

#[test]
fn awaiting_a_thread_task_gives_its_value() {
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let out = block_on(async {
        let a = pool.submit(|| 6).unwrap().await?;
        let b = pool.submit(move || a * 7).unwrap().await?;
        Ok::<_, Error>(b)
    });
    assert_eq!(out, Ok(42));
}

#[test]
fn awaiting_moves_a_value_that_is_not_clone() {
    struct NotClone(String);
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let f = pool.submit(|| NotClone("moved".into())).unwrap();
    let value = block_on(f).unwrap();
    assert_eq!(value.0, "moved");
}

#[test]
fn awaiting_gives_the_tasks_failure_or_cancelled() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let f = pool.submit(|| -> u8 { panic!("boom") }).unwrap();
    let e = block_on(f).unwrap_err();
    assert!(matches!(&e, Error::Panicked { message } if message.contains("boom")));

    let cancelled = Future::<u8>::new();
    cancelled.cancel();
    assert_eq!(block_on(cancelled), Err(Error::Cancelled));
}

#[test]
fn a_future_polled_a_thousand_times_keeps_one_waker() {
    let f = Future::<u32>::new();
    let (signal, waker) = counted();
    let mut cx = Context::from_waker(&waker);
    let mut awaitable = pin!(f.clone().into_future());
    for _ in 0..1000 {
        assert!(awaitable.as_mut().poll(&mut cx).is_pending());
    }
    // Ours, the `waker` local, and the one copy in the future's slot.
    assert_eq!(Arc::strong_count(&signal), 3);
    assert_eq!(signal.wakes(), 0);
    f.set_result(5).unwrap();
    assert_eq!(signal.wakes(), 1);
    // Completion let go of its copy.
    assert_eq!(Arc::strong_count(&signal), 2);
    assert_eq!(awaitable.as_mut().poll(&mut cx), Poll::Ready(Ok(5)));
}

#[test]
fn a_new_waker_replaces_the_old_one_and_only_it_is_woken() {
    let f = Future::<u32>::new();
    let (first, first_waker) = counted();
    let (second, second_waker) = counted();
    let mut awaitable = pin!(f.clone().into_future());
    let poll = |a: std::pin::Pin<&mut _>, w: &Waker| {
        std::future::Future::poll(a, &mut Context::from_waker(w))
    };
    assert!(poll(awaitable.as_mut(), &first_waker).is_pending());
    assert_eq!(Arc::strong_count(&first), 3);
    // The task moved to another executor thread: a new waker.
    assert!(poll(awaitable.as_mut(), &second_waker).is_pending());
    assert_eq!(Arc::strong_count(&first), 2, "the old waker was dropped");
    assert_eq!(Arc::strong_count(&second), 3);
    f.set_result(1).unwrap();
    assert_eq!((first.wakes(), second.wakes()), (0, 1));
    assert_eq!(poll(awaitable.as_mut(), &second_waker), Poll::Ready(Ok(1)));
}

#[test]
fn a_done_future_is_ready_at_once_and_keeps_no_waker() {
    let f = Future::new();
    f.set_result("done").unwrap();
    let (signal, waker) = counted();
    let mut awaitable = pin!(f.into_future());
    let ready = awaitable.as_mut().poll(&mut Context::from_waker(&waker));
    assert_eq!(ready, Poll::Ready(Ok("done")));
    assert_eq!(Arc::strong_count(&signal), 2);
}

#[test]
fn two_awaits_of_one_future_are_both_woken() {
    let f = Future::<u32>::new();
    let (a, a_waker) = counted();
    let (b, b_waker) = counted();
    let mut first = pin!(f.clone().into_future());
    let mut second = pin!(f.clone().into_future());
    assert!(first
        .as_mut()
        .poll(&mut Context::from_waker(&a_waker))
        .is_pending());
    assert!(second
        .as_mut()
        .poll(&mut Context::from_waker(&b_waker))
        .is_pending());
    f.set_result(3).unwrap();
    assert_eq!((a.wakes(), b.wakes()), (1, 1));
    // The first await moves the value out; the second is told it is gone.
    let got = first.as_mut().poll(&mut Context::from_waker(&a_waker));
    assert_eq!(got, Poll::Ready(Ok(3)));
    let got = second.as_mut().poll(&mut Context::from_waker(&b_waker));
    assert!(matches!(got, Poll::Ready(Err(Error::InvalidState { .. }))));
}

#[test]
fn a_waker_registered_while_the_future_completes_is_never_lost() {
    // Completion and the poll that registers race on purpose, a thousand
    // times; `block_on` fails if a wake-up falls between them.
    let start = Arc::new(Barrier::new(2));
    for i in 0..1000_u32 {
        let f = Future::new();
        let (completer, start2) = (f.clone(), Arc::clone(&start));
        let t = thread::spawn(move || {
            start2.wait();
            completer.set_result(i).unwrap();
        });
        start.wait();
        assert_eq!(block_on(f), Ok(i));
        t.join().unwrap();
    }
}

#[test]
fn dropping_the_awaitable_of_a_pending_future_cancels_it() {
    let gate = Gate::new();
    let (pool, _blocker) = held_pool(&gate);
    let queued = pool.submit(|| 1).unwrap();
    let (signal, waker) = counted();
    {
        let mut awaitable = pin!(queued.clone().into_future());
        assert!(awaitable
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
    } // dropped here, as a `select!` drops the branch it did not take
    assert!(queued.cancelled());
    assert_eq!(Arc::strong_count(&signal), 2, "the slot was freed");
    assert_eq!(signal.wakes(), 0, "a dropped awaitable is not woken");
    gate.open();
}

#[test]
fn dropping_the_awaitable_of_a_running_task_leaves_it_running() {
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let (started_tx, started) = mpsc::channel();
    let gate = Gate::new();
    let gate2 = Arc::clone(&gate);
    let f = pool
        .submit(move || {
            started_tx.send(()).unwrap();
            gate2.wait();
            9
        })
        .unwrap();
    started.recv_timeout(BOUND).unwrap();
    let (signal, waker) = counted();
    {
        let mut awaitable = pin!(f.clone().into_future());
        assert!(awaitable
            .as_mut()
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
    }
    assert!(f.running() && !f.cancelled());
    gate.open();
    assert_eq!(f.result_timeout(BOUND), Ok(9));
    assert_eq!(signal.wakes(), 0);
}

#[test]
fn an_awaitable_dropped_before_its_first_poll_cancels_a_pending_future() {
    let f = Future::<u8>::new();
    drop(f.clone().into_future());
    assert!(f.cancelled());
}

#[test]
fn an_async_task_awaiting_a_future_can_move_to_another_thread() {
    // What `tokio::spawn` asks of it: the async block is `Send`.
    let f = Future::<String>::new();
    let task = {
        let f = f.clone();
        async move { f.await.map(|s| s.len()) }
    };
    let runner = thread::spawn(move || block_on(task));
    f.set_result("moved".into()).unwrap();
    assert_eq!(runner.join().unwrap(), Ok(5));
}
