//! Starting a worker: re-execute this binary, wait for it to connect and
//! prove who it is, and reap it when it ends.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, SystemTime};

use super::frame::FromWorker;
use super::pool::{Phase, Pool, Shared, Slot, State};
use super::worker::{is_stray_worker, ENV_SOCKET, ENV_TOKEN, TEST_ARGS};
use super::{conn, status};
use crate::future::lock;
use crate::Error;

/// 128 bits from std's randomly seeded hasher, the time and our pid: enough
/// that no other process can guess a token or a directory name.
pub(crate) fn random_hex() -> String {
    let mut out = String::new();
    for round in 0..2u32 {
        let mut h = RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        h.write_u32(round);
        if let Ok(t) = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH) {
            h.write_u128(t.as_nanos());
        }
        out.push_str(&format!("{:016x}", h.finish()));
    }
    out
}

/// The pool's private directory: mode 0700, so no other user can even
/// reach the sockets in it.
fn private_dir(state: &mut State) -> io::Result<PathBuf> {
    if let Some(dir) = &state.dir {
        return Ok(dir.clone());
    }
    let dir = std::env::temp_dir().join(format!("concurrent-futures-{}", random_hex()));
    std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    state.dir = Some(dir.clone());
    Ok(dir)
}

/// Starts a thread of the pool's and counts it, so shutdown can wait for it.
pub(crate) fn thread(
    pool: &Pool,
    state: &mut State,
    name: String,
    body: impl FnOnce() + Send + 'static,
) -> io::Result<()> {
    let done = CountedOut(Arc::clone(pool));
    let handle = thread::Builder::new().name(name).spawn(move || {
        let _done = done;
        body();
    })?;
    state.threads += 1;
    state.handles.push(handle);
    Ok(())
}

/// Counts a thread out when it ends, even by a panic (a bug of ours), so
/// that `shutdown` cannot wait for it for ever.
struct CountedOut(Pool);

impl Drop for CountedOut {
    fn drop(&mut self) {
        let mut st = lock(&self.0.state);
        st.threads -= 1;
        self.0.changed.notify_all();
    }
}

// ANCHOR: start_worker
/// Starts worker number `state.workers.len()`: its socket, its process, the
/// thread that reaps it and the thread that accepts its connection.
pub(crate) fn start_worker(pool: &Pool, state: &mut State) -> Result<(), Error> {
    if is_stray_worker() {
        // Started as a worker, yet not serving: starting workers here
        // would start copies of this very program without end.
        return Err(Error::BrokenPool {
            message: "this process was started as a process-pool worker but did not call \
                      serve_if_worker first, so it may not start workers of its own"
                .into(),
        });
    }
    let broken = |e: io::Error| Error::BrokenPool {
        message: format!("could not start a worker process: {e}"),
    };
    let index = state.workers.len();
    let path = private_dir(state)
        .map_err(broken)?
        .join(format!("{index}.sock"));
    let listener = UnixListener::bind(&path).map_err(broken)?;
    let child = Command::new(std::env::current_exe().map_err(broken)?)
        .args(TEST_ARGS)
        .env(ENV_SOCKET, &path)
        .env(ENV_TOKEN, &pool.token)
        .stdin(Stdio::null())
        .spawn()
        .map_err(broken)?;
    state.workers.push(Slot {
        pid: child.id(),
        phase: Phase::Starting,
        in_flight: Default::default(),
        sent: 0,
        status: None,
        stream: None,
        writer: None,
        ready: false,
        writing: false,
        wake: Default::default(),
        sender_waiting: false,
        death_pending: false,
        short: false,
        last_done: None,
    });
    state.live += 1;
    let (p, wake) = (Arc::clone(pool), path.clone());
    let reaper = thread(pool, state, format!("process-reaper-{index}"), move || {
        reap(&p, index, child, &wake)
    });
    let p = Arc::clone(pool);
    let receiver = reaper.and_then(|()| {
        let name = format!("process-receiver-{index}");
        thread(pool, state, name, move || {
            accept(&p, index, listener, &path)
        })
    });
    if let Err(e) = receiver {
        // Without its threads the worker can never be served: do not count
        // it, or queued work would wait for it for ever. (Its listener is
        // gone, so it fails to connect and exits.)
        state.workers[index].phase = Phase::Gone;
        state.live -= 1;
        return Err(broken(e));
    }
    Ok(())
}
// ANCHOR_END: start_worker

/// Waits for the process to end, so none is left a zombie, and makes sure
/// whoever waits on its connection hears about it.
fn reap(pool: &Shared, index: usize, mut child: Child, socket: &Path) {
    let status = child.wait();
    let mut st = lock(&pool.state);
    let slot = &mut st.workers[index];
    slot.status = Some(status);
    pool.changed.notify_all();
    if slot.phase == Phase::Starting {
        // `accept` may be blocked for a connection that will never come:
        // connect to it ourselves so it wakes up and sees the status.
        drop(st);
        let _ = UnixStream::connect(socket);
    } else if let Some(stream) = &slot.stream {
        // Normally its socket closed with it; but a process it started
        // may hold a copy open, so end our reads explicitly.
        let _ = stream.shutdown(std::net::Shutdown::Read);
    }
}

/// Accepts the worker's connection and checks its hello, then serves it.
fn accept(pool: &Pool, index: usize, listener: UnixListener, socket: &Path) {
    let stream = loop {
        let stream = listener.accept().map(|(s, _)| s);
        let st = lock(&pool.state);
        let slot = &st.workers[index];
        if slot.status.is_some() || stream.is_err() {
            return never_connected(pool, st, index);
        }
        let expected = slot.pid;
        drop(st);
        if let Ok(stream) = stream {
            if hello_ok(&stream, &pool.token, expected) {
                break stream;
            }
            // Anyone else who found the socket is turned away.
        }
    };
    // Nobody else may connect now, and nothing should outlive the pool on
    // disk even if this process is killed: remove the socket, and the
    // directory too once no other worker is starting (under the lock, so
    // `private_dir` cannot hand it out meanwhile).
    drop(listener);
    let mut st = lock(&pool.state);
    let _ = std::fs::remove_file(socket);
    if let Some(dir) = &st.dir {
        if std::fs::remove_dir(dir).is_ok() {
            st.dir = None;
        }
    }
    drop(st);
    conn::serve(pool, index, stream);
}

/// Reads the first frame, giving a silent peer ten seconds.
fn hello_ok(stream: &UnixStream, token: &str, pid: u32) -> bool {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let ok = matches!(
        FromWorker::read(&mut &*stream),
        Ok(Some(FromWorker::Hello { token: t, pid: p })) if t == token && p == pid
    );
    ok && stream.set_read_timeout(None).is_ok()
}

// ANCHOR: never_connected
/// The process ended before connecting: most likely its `main` does not
/// call `serve_if_worker`, and the message says how to fix that.
fn never_connected(pool: &Pool, mut st: std::sync::MutexGuard<'_, State>, index: usize) {
    while st.workers[index].status.is_none() {
        st = pool
            .changed
            .wait(st)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
    }
    let slot = &mut st.workers[index];
    slot.phase = Phase::Gone;
    let how = status::describe(slot.status.as_ref());
    let why = format!(
        "worker {index} (pid {}) {how} before connecting: does main() call \
         concurrent_futures::process::serve_if_worker(TASKS) first (or, under cargo test, \
         does the test file have concurrent_futures::worker_test!(TASKS))?",
        slot.pid
    );
    st.live -= 1;
    let owed = st.break_pool(why);
    pool.wake_all_senders(&st);
    drop(st);
    owed.fail();
}
// ANCHOR_END: never_connected
