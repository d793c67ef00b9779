//! Process tasks: named functions in a table that the pool and its workers
//! share, because they are the same binary. Only the name travels; the
//! worker looks it up in its own copy of the table.

use std::fmt;

use super::wire::{encoding, from_bytes, to_bytes, Wire};
use crate::error::catch_panic;
use crate::Error;

/// A function a worker process can run, known by its name: the process
/// pool's stand-in for a Python function, which is pickled by name too.
///
/// ```
/// use concurrent_futures::process::{Registered, Task};
///
/// fn cube(x: u64) -> u64 { x.pow(3) }
/// const CUBE: Task<u64, u64> = Task::new("cube", cube);
/// const TASKS: &[&dyn Registered] = &[&CUBE];
/// assert_eq!(CUBE.name(), "cube");
/// assert_eq!(TASKS[0].name(), "cube");
/// ```
pub struct Task<A, R> {
    name: &'static str,
    f: fn(A) -> R,
}

impl<A, R> Task<A, R> {
    /// Names `f`. The name must be unique within the table given to
    /// [`serve_if_worker`](super::serve_if_worker).
    ///
    /// ```
    /// use concurrent_futures::process::Task;
    /// const ADD: Task<(u64, u64), u64> = Task::new("add", |(a, b)| a + b);
    /// assert_eq!(ADD.name(), "add");
    /// ```
    pub const fn new(name: &'static str, f: fn(A) -> R) -> Task<A, R> {
        Task { name, f }
    }

    /// The name the worker finds the task by.
    ///
    /// ```
    /// const NOP: concurrent_futures::process::Task<(), ()> = concurrent_futures::process::Task::new("nop", |()| ());
    /// assert_eq!(NOP.name(), "nop");
    /// ```
    pub const fn name(&self) -> &'static str {
        self.name
    }

    /// The function itself, for a thread pool, which calls it directly
    /// instead of sending its name (see `Executor`).
    ///
    /// ```
    /// const DOUBLE: concurrent_futures::process::Task<u8, u8> = concurrent_futures::process::Task::new("double", |x| 2 * x);
    /// assert_eq!((DOUBLE.function())(21), 42);
    /// ```
    pub const fn function(&self) -> fn(A) -> R {
        self.f
    }
}

impl<A, R> Clone for Task<A, R> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<A, R> Copy for Task<A, R> {}

impl<A, R> fmt::Debug for Task<A, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Task({:?})", self.name)
    }
}

mod sealed {
    pub trait Sealed {}
}

/// A [`Task`] with its types erased, so one table can list tasks of every
/// signature: `const TASKS: &[&dyn Registered] = &[&CUBE, &ADD];`.
///
/// Only `Task` implements it. It is `Sync`, so the table may also be a
/// `static`.
///
/// ```
/// use concurrent_futures::process::{Registered, Task};
/// const NEG: Task<i64, i64> = Task::new("neg", |x| -x);
/// let tasks: &[&dyn Registered] = &[&NEG];
/// assert!(tasks.iter().any(|t| t.name() == "neg"));
/// ```
pub trait Registered: sealed::Sealed + Sync {
    /// The task's name.
    fn name(&self) -> &'static str;

    /// What a worker does with a call: decode the argument (a `Vec` of them
    /// when `chunk`), run the function under `catch_unwind`, encode the
    /// result. Failures come back as `Error::Encoding` or `Error::Panicked`.
    ///
    /// ```
    /// use concurrent_futures::process::{Registered, Task, Wire};
    /// const DOUBLE: Task<u32, u32> = Task::new("double", |x| 2 * x);
    /// let mut arg = Vec::new();
    /// 21u32.encode(&mut arg).unwrap();
    /// let out = DOUBLE.call(&arg, false).unwrap();
    /// assert_eq!(u32::decode(&mut &out[..]).unwrap(), 42);
    /// ```
    fn call(&self, input: &[u8], chunk: bool) -> Result<Vec<u8>, Error>;
}

impl<A, R> sealed::Sealed for Task<A, R> {}

// ANCHOR: call
impl<A: Wire, R: Wire> Registered for Task<A, R> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn call(&self, input: &[u8], chunk: bool) -> Result<Vec<u8>, Error> {
        let name = self.name;
        let context = |what: &str, e: Error| encoding(format!("{what} of `{name}`: {e}"));
        // User `Wire` impls run inside the guard too: a panicking decode
        // fails this one call, never the worker.
        catch_panic(|| {
            if chunk {
                let args: Vec<A> = from_bytes(input)
                    .map_err(|e| context("could not decode the arguments in the worker", e))?;
                let results: Vec<R> = args.into_iter().map(self.f).collect();
                to_bytes(&results).map_err(|e| context("could not encode the results", e))
            } else {
                let arg: A = from_bytes(input)
                    .map_err(|e| context("could not decode the argument in the worker", e))?;
                to_bytes(&(self.f)(arg))
                    .map_err(|e| context("could not encode the result in the worker", e))
            }
        })
        .and_then(|r| r)
    }
}
// ANCHOR_END: call
