//! One error type for every failure, each variant standing in for one of the
//! exceptions Python's `concurrent.futures` raises.

use std::any::Any;
use std::fmt;

/// Everything that can go wrong with a pool or a [`Future`](crate::Future).
///
/// Each variant is the Rust twin of a Python exception; [`Error::python_name`]
/// tells which. Match with `Error::Timeout { .. }` style patterns.
///
/// ```
/// use concurrent_futures::{Error, Future};
/// use std::time::Duration;
///
/// let f: Future<u32> = Future::new();
/// let e = f.result_timeout(Duration::from_millis(1)).unwrap_err();
/// assert!(matches!(e, Error::Timeout { .. }));
/// assert_eq!(e.python_name(), "TimeoutError");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// The future was cancelled before it ran (`CancelledError`).
    Cancelled,
    /// A `_timeout` call ran out of time (`TimeoutError`). The message is empty
    /// except where Python says more, as `as_completed` does.
    Timeout {
        /// What was still unfinished, or empty.
        message: String,
    },
    /// The task panicked: the exception it raised, in Python's terms.
    Panicked {
        /// The panic message and, where known, where it happened: `boom (at src/main.rs:4:5)`.
        message: String,
    },
    /// The pool can run nothing more (`BrokenThreadPool` / `BrokenProcessPool`):
    /// an initializer failed or a worker process died.
    BrokenPool {
        /// Why: which worker, how it ended, what it was running.
        message: String,
    },
    /// `submit` or `map` after `shutdown` (Python's `RuntimeError`).
    Shutdown,
    /// `set_result` or `set_exception` on a future that is already done
    /// (`InvalidStateError`).
    InvalidState {
        /// The future and the state it was in.
        message: String,
    },
    /// A bad argument such as `max_workers(0)` (`ValueError`).
    InvalidArgument {
        /// Which argument and why.
        message: String,
    },
    /// A process task's argument or result could not be encoded or decoded
    /// (Python's pickling errors).
    Encoding {
        /// What failed to encode or decode, and where.
        message: String,
    },
    /// A running task was stopped: its time limit ran out, or
    /// [`Future::kill`](crate::Future::kill) was called. CPython has no
    /// such error; pebble, which can stop a task, raises `ProcessExpired`
    /// or `TimeoutError`.
    Killed {
        /// Which task, in which worker, and why it was stopped.
        message: String,
    },
}

impl Error {
    /// What a new task on a pool fails with, if anything: broken
    /// (`why`) is checked before shut down, in Python's order. Both pools
    /// keep these two facts the same way and ask here.
    pub(crate) fn if_closed(broken: Option<&String>, shutdown: bool) -> Result<(), Error> {
        match broken {
            Some(why) => Err(Error::BrokenPool {
                message: why.clone(),
            }),
            None if shutdown => Err(Error::Shutdown),
            None => Ok(()),
        }
    }

    /// The name of the Python exception this error mirrors.
    ///
    /// ```
    /// assert_eq!(concurrent_futures::Error::Shutdown.python_name(), "RuntimeError");
    /// ```
    pub fn python_name(&self) -> &'static str {
        match self {
            Error::Cancelled => "CancelledError",
            Error::Timeout { .. } => "TimeoutError",
            Error::Panicked { .. } => "Exception",
            Error::BrokenPool { .. } => "BrokenExecutor",
            Error::Shutdown => "RuntimeError",
            Error::InvalidState { .. } => "InvalidStateError",
            Error::InvalidArgument { .. } => "ValueError",
            Error::Encoding { .. } => "PicklingError",
            Error::Killed { .. } => "ProcessExpired",
        }
    }

    pub(crate) fn timeout() -> Error {
        Error::Timeout {
            message: String::new(),
        }
    }

    pub(crate) fn invalid_argument(message: impl Into<String>) -> Error {
        Error::InvalidArgument {
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Cancelled => f.write_str("the future was cancelled"),
            Error::Timeout { message } if message.is_empty() => f.write_str("timed out"),
            Error::Timeout { message } => f.write_str(message),
            Error::Panicked { message } => write!(f, "task panicked: {message}"),
            Error::BrokenPool { message } => f.write_str(message),
            Error::Killed { message } => write!(f, "task killed: {message}"),
            Error::Shutdown => f.write_str("cannot schedule new futures after shutdown"),
            Error::InvalidState { message }
            | Error::InvalidArgument { message }
            | Error::Encoding { message } => f.write_str(message),
        }
    }
}

impl std::error::Error for Error {}

/// The text of a caught panic: `panic!("...")` carries a `&str` or a `String`.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".to_owned()
    }
}

// ANCHOR: catch_panic
// ---- Where a thread task panicked ----
//
// A caught panic's payload holds its message but not where it happened;
// only the panic hook is told that. So a hook, chained in front of the one
// already installed (the user's, or std's printer), notes the location in
// a thread-local while a task runs, then hands over to the previous hook
// as before: nothing the user set up is lost, and the panic still prints.
// A process worker uses the same hook, but quietly (`quiet_task_panics`).

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;

/// Set in a process worker: a task's panic is not printed there, as a
/// Python worker prints nothing for a failing task; its error travels to
/// the future, location included. Panics outside tasks print as usual.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Makes this process's task panics quiet (see [`QUIET`]).
pub(crate) fn quiet_task_panics() {
    QUIET.store(true, Ordering::Relaxed);
    install_location_hook();
}

thread_local! {
    /// True while this thread runs a task inside `catch_panic`.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
    /// Where the last panic inside `catch_panic` on this thread happened.
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Chains the location hook in front of the current one, once per process.
fn install_location_hook() {
    static INSTALLED: Once = Once::new();
    // `set_hook` panics on a thread that is already panicking (a callback
    // run by a `Drop` during unwinding): that panic then simply has no
    // location.
    if std::thread::panicking() {
        return;
    }
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if CATCHING.with(Cell::get) {
                let at = info.location().map(|l| l.to_string());
                LOCATION.with(|cell| *cell.borrow_mut() = at);
                if QUIET.load(Ordering::Relaxed) {
                    return;
                }
            }
            previous(info);
        }));
    });
}

/// Runs `f`, turning a panic into `Error::Panicked` whose message ends with
/// where it happened, `boom (at src/main.rs:4:5)`, as a process task's does.
///
/// If the program replaces the panic hook after the first task ran (rather
/// than chaining it), messages go back to having no location.
pub(crate) fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, Error> {
    install_location_hook();
    LOCATION.with(|cell| cell.borrow_mut().take());
    // Restored, not cleared: a task may run another inline (a callback).
    let outer = CATCHING.with(|c| c.replace(true));
    let outcome = catch_unwind(AssertUnwindSafe(f));
    CATCHING.with(|c| c.set(outer));
    outcome.map_err(|payload| {
        let message = panic_message(&*payload);
        let message = match LOCATION.with(|cell| cell.borrow_mut().take()) {
            Some(at) => format!("{message} (at {at})"),
            None => message,
        };
        Error::Panicked { message }
    })
}
// ANCHOR_END: catch_panic
