//! Awaiting a pool's futures from async code, Python's
//! `asyncio.wrap_future`: an `async fn` submits tasks to a thread pool and
//! `.await`s them, so the thread running the async code is free while the
//! pool works.
//!
//! Run it with `cargo run --example awaiting`. `CONCURRENT_FUTURES_CLOCK=0.01`
//! scales the clock (see `common/mod.rs`).
//!
//! In a real program the async runtime (tokio, async-std, smol...) polls
//! `main_async`; the crate has no dependencies, so here `block_on`, twenty
//! lines of std, plays the runtime. `Future` needs nothing from either: any
//! runtime's waker is woken from the pool's thread that finishes the task.

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use concurrent_futures::{Error, ThreadPoolExecutor};

mod common;
use common::{cube, Clock};

// ANCHOR: async
async fn main_async(clock: Clock) -> Result<(), Error> {
    let pool = ThreadPoolExecutor::new(5).unwrap();
    let futures: Vec<_> = (1..=3)
        .map(|i| pool.submit(move || cube(i)).unwrap())
        .collect();
    for future in futures {
        // The async task sleeps here, woken when the pool's thread is done;
        // a task that panicked comes back as `Err`, which `?` passes on.
        let (thread, value) = future.await?;
        println!("{} {thread} returned {value}", clock.stamp());
    }
    Ok(())
}
// ANCHOR_END: async

// ANCHOR: block_on
/// A one-task async runtime: poll, and sleep until the waker is woken.
fn block_on<F: Future>(f: F) -> F::Output {
    #[derive(Default)]
    struct Signal {
        woken: Mutex<bool>,
        changed: Condvar,
    }
    impl Wake for Signal {
        fn wake(self: Arc<Self>) {
            *self.woken.lock().unwrap() = true;
            self.changed.notify_one();
        }
    }
    let signal = Arc::new(Signal::default());
    let waker = Waker::from(Arc::clone(&signal));
    let mut cx = Context::from_waker(&waker);
    let mut f = pin!(f);
    loop {
        if let Poll::Ready(out) = f.as_mut().poll(&mut cx) {
            return out;
        }
        let mut woken = signal.woken.lock().unwrap();
        while !*woken {
            woken = signal.changed.wait(woken).unwrap();
        }
        *woken = false;
    }
}
// ANCHOR_END: block_on

pub fn main() {
    let clock = Clock::start();
    block_on(main_async(clock)).unwrap();
    println!("\n{}", clock.wall_time());
}
