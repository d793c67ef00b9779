//! The obvious version is wrong: a `cancel()` that also "cancels" a task
//! that is already running.
//!
//! Nothing in std can stop a running thread from outside, and a process
//! pool cannot take back a call it already handed to a worker. So a
//! `cancel()` that answers `true` for a running task only changes a label:
//! the task goes on, its side effects happen, and the caller, told it was
//! cancelled, believes they did not. `NaiveFuture` shows that; the crate's
//! `Future` answers `false` for a running task (`src/cancel.rs`).
//!
//! The task here waits on a channel instead of sleeping, so the cancel
//! always lands while it runs.
//!
//! Run it with `cargo run --example wrong_cancel_running`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use concurrent_futures::ThreadPoolExecutor;

/// Every wait in this file is bounded, so a bug fails instead of hanging.
const BOUND: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug, PartialEq)]
enum NaiveState {
    Pending,
    Running,
    Cancelled,
    Finished,
}

#[derive(Clone)]
struct NaiveFuture {
    state: Arc<Mutex<NaiveState>>,
}

// ANCHOR: wrong
impl NaiveFuture {
    fn cancel(&self) -> bool {
        let mut state = self.state.lock().unwrap();
        if *state == NaiveState::Finished {
            return false;
        }
        // Wrong: a running task is labelled cancelled, but nothing stops it.
        *state = NaiveState::Cancelled;
        true
    }
}
// ANCHOR_END: wrong

/// The task: waits for `go`, then does something that cannot be undone (here,
/// it counts an "email sent").
fn send_email(started: std::sync::mpsc::Sender<()>, go: Receiver<()>, sent: &AtomicUsize) {
    started.send(()).unwrap();
    go.recv_timeout(BOUND).unwrap();
    sent.fetch_add(1, Ordering::SeqCst);
}

// ANCHOR: main
fn main() {
    let sent = Arc::new(AtomicUsize::new(0));

    // The naive future, run by a thread of our own.
    let naive = NaiveFuture {
        state: Arc::new(Mutex::new(NaiveState::Pending)),
    };
    let (started_tx, started) = channel();
    let (go, go_rx) = channel();
    let worker = {
        let (naive, sent) = (naive.clone(), Arc::clone(&sent));
        thread::spawn(move || {
            *naive.state.lock().unwrap() = NaiveState::Running;
            send_email(started_tx, go_rx, &sent);
            let mut state = naive.state.lock().unwrap();
            if *state == NaiveState::Running {
                *state = NaiveState::Finished;
            }
        })
    };
    started.recv_timeout(BOUND).unwrap();
    println!(
        "naive   : cancel() while running returned {}",
        naive.cancel()
    );
    go.send(()).unwrap();
    worker.join().unwrap();
    println!(
        "naive   : state {:?}, emails sent: {}",
        *naive.state.lock().unwrap(),
        sent.load(Ordering::SeqCst)
    );

    // The crate's pool: the same task, the same cancel at the same moment.
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let (started_tx, started) = channel();
    let (go, go_rx) = channel();
    let sent = Arc::new(AtomicUsize::new(0));
    let sent_by_pool = Arc::clone(&sent);
    let f = pool
        .submit(move || send_email(started_tx, go_rx, &sent_by_pool))
        .unwrap();
    started.recv_timeout(BOUND).unwrap();
    println!("\ncrate's : cancel() while running returned {}", f.cancel());
    go.send(()).unwrap();
    println!(
        "crate's : result() = {:?}, emails sent: {}",
        f.result_timeout(BOUND),
        sent.load(Ordering::SeqCst)
    );
}
// ANCHOR_END: main
