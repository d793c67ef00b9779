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
        /// The panic message; for process tasks also where it happened.
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
