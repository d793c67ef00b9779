//! §9 of the article: cancelling a task that has not started yet.
//!
//! Only a pending future can be cancelled. The worker's first step,
//! [`Future::set_running_or_notify_cancel`], takes the same lock as `cancel`,
//! so exactly one of them wins: either the task never runs, or `cancel`
//! answers `false`. There is no way to stop a task that is already running,
//! in Python or here.

use crate::future::State;
use crate::Future;

impl<T> Future<T> {
    // ANCHOR: cancel
    /// Cancels the task if it has not started. Returns `true` if the future is
    /// now cancelled (it was pending, or already cancelled), `false` if it is
    /// running or finished.
    ///
    /// A successful cancel wakes everyone waiting on the future and runs its
    /// callbacks, in this thread, as Python does.
    ///
    /// ```
    /// use concurrent_futures::{Error, Future};
    /// let f = Future::<u8>::new();
    /// assert!(f.cancel());
    /// assert!(f.cancelled() && f.done());
    /// assert_eq!(f.result(), Err(Error::Cancelled));
    ///
    /// let running = Future::<u8>::new();
    /// running.set_running_or_notify_cancel();
    /// assert!(!running.cancel());
    /// ```
    pub fn cancel(&self) -> bool {
        let mut cell = self.cell();
        match cell.state() {
            State::Running | State::Finished => false,
            State::Cancelled | State::CancelledAndNotified => true,
            State::Pending => {
                cell.slot.cancel();
                self.complete(cell);
                true
            }
        }
    }
    // ANCHOR_END: cancel

    /// True if the future was cancelled.
    ///
    /// ```
    /// let f = concurrent_futures::Future::<()>::new();
    /// assert!(!f.cancelled());
    /// f.cancel();
    /// assert!(f.cancelled());
    /// ```
    pub fn cancelled(&self) -> bool {
        matches!(
            self.cell().state(),
            State::Cancelled | State::CancelledAndNotified
        )
    }
}
