//! Awaiting a [`Future`] from async code, Python's `asyncio.wrap_future`:
//! `let v = pool.submit(|| 42)?.await?;` in any async runtime, with std only.
//!
//! A pool's future is completed by a worker thread, never by the runtime,
//! so the runtime must be told when to poll again: each `.await` keeps one
//! waker slot in the future, registered under the future's lock, which is
//! the lock completion takes. Either the waker is in its slot when the
//! future completes, and completion wakes it; or the poll comes after, and
//! finds the future done. No wake-up can fall between the two.
//!
//! | a poll with... | does |
//! |---|---|
//! | the same waker as last time | nothing: no clone, no allocation |
//! | another waker (the task moved) | replaces the one in its slot |
//! | the future done | moves the outcome out, frees its slot |
//!
//! Dropping the awaitable before the future is done (a `select!` that took
//! another branch, a timeout, a dropped task) frees its slot and cancels the
//! future if it is still pending, as cancelling the asyncio future that
//! `wrap_future` made cancels the wrapped one. A running task is left alone:
//! nothing stops it from outside (see [`Future::kill`]).

use std::future::IntoFuture;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::future::take;
use crate::{Error, Future};

/// What `.await` on a [`Future`] polls: made by `IntoFuture`, it resolves to
/// the task's outcome, moving the value out as
/// [`Future::into_result`] does (so `T` need not be `Clone`).
///
/// Dropping it before the future is done cancels the future if it is still
/// pending; a running task goes on.
///
/// ```
/// use std::future::IntoFuture;
/// use concurrent_futures::Future;
///
/// let f = Future::<u8>::new();
/// let awaitable = f.clone().into_future();
/// drop(awaitable); // never polled to the end: the pending future is cancelled
/// assert!(f.cancelled());
/// ```
#[must_use = "an awaitable does nothing unless `.await`ed, and dropping it cancels a pending future"]
pub struct Awaitable<T> {
    future: Future<T>,
    /// Our index in the future's `wakers`, from our first poll until the
    /// future completes (which empties `wakers`) or we are dropped.
    slot: Option<usize>,
    /// Set once we returned `Ready`: dropping us then cancels nothing.
    finished: bool,
}

impl<T> IntoFuture for Future<T> {
    type Output = Result<T, Error>;
    type IntoFuture = Awaitable<T>;

    /// Lets `.await` wait for the future without blocking a thread.
    ///
    /// ```
    /// # use std::future::IntoFuture;
    /// # let f = concurrent_futures::Future::<u8>::new();
    /// let awaitable = f.into_future(); // what `.await` does first
    /// # drop(awaitable);
    /// ```
    fn into_future(self) -> Awaitable<T> {
        Awaitable {
            future: self,
            slot: None,
            finished: false,
        }
    }
}

// ANCHOR: poll
impl<T> std::future::Future for Awaitable<T> {
    type Output = Result<T, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T, Error>> {
        let this = &mut *self;
        let mut cell = this.future.cell();
        if cell.is_done() {
            // Completion emptied `wakers`: our slot is gone with it.
            this.slot = None;
            this.finished = true;
            return Poll::Ready(take(&mut cell));
        }
        let waker = cx.waker();
        match this.slot {
            Some(i) => match &mut cell.extra().wakers[i] {
                // The common case: polled again by the same task.
                Some(old) if old.will_wake(waker) => {}
                old => *old = Some(waker.clone()),
            },
            None => {
                let wakers = &mut cell.extra().wakers;
                let free = wakers.iter().position(Option::is_none);
                let i = free.unwrap_or(wakers.len());
                if i == wakers.len() {
                    wakers.push(None);
                }
                wakers[i] = Some(waker.clone());
                this.slot = Some(i);
            }
        }
        Poll::Pending
    }
}
// ANCHOR_END: poll

impl<T> Drop for Awaitable<T> {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        if let Some(i) = self.slot {
            let mut cell = self.future.cell();
            // Done means completion already took every slot, ours included.
            if !cell.is_done() {
                cell.extra().wakers[i] = None;
            }
        }
        // Pending: cancelled. Running or done: `cancel` changes nothing.
        self.future.cancel();
    }
}

impl<T> std::fmt::Debug for Awaitable<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Awaitable")
            .field("future", &self.future)
            .finish()
    }
}
