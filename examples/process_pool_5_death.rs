//! Stage 5 of the process pool: a worker's death is reported.
//!
//! Until stage 4 a worker that died (killed, out of memory, a task that
//! called `exit`) left the calls it held pending for ever, and whoever
//! waited on them hung. Here the thread that reads its answers, seeing the
//! connection end, waits for the process to learn how it ended, and fails
//! the calls it held with an error that says which worker, how it ended
//! and what it was running. As Python's pool does, the pool is then
//! broken: the queued calls, and every later one, fail with the same
//! error, since one death usually means more are coming.
//!
//! Run it with `cargo run --example process_pool_5_death`.

use std::collections::VecDeque;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use concurrent_futures::{Error, Future};

mod common;
use common::{slow_cube, Clock};

// ANCHOR: tasks
/// The tasks a worker can run, by name: a function pointer is an address,
/// meaningless in another process, but a name means the same function in
/// every copy of this binary.
pub type Tasks = &'static [(&'static str, fn(u64) -> u64)];

pub const TASKS: Tasks = &[("cube", slow_cube), ("exit", exit)];

/// A task that ends its worker, as a crash or a kill would.
fn exit(code: u64) -> u64 {
    std::process::exit(code as i32)
}
// ANCHOR_END: tasks

/// Tells a re-executed copy of this binary that it is a worker, and where
/// to connect: `PORT:TOKEN`.
const WORKER_VAR: &str = "PROCESS_POOL_5_WORKER";

// ANCHOR: frames
/// A frame: a 4-byte length, then that many bytes.
fn write_frame(mut out: impl Write, body: &[u8]) -> io::Result<()> {
    let mut frame = (body.len() as u32).to_le_bytes().to_vec();
    frame.extend_from_slice(body);
    out.write_all(&frame)
}

fn read_frame(mut input: impl Read) -> io::Result<Vec<u8>> {
    let mut length = [0; 4];
    input.read_exact(&mut length)?;
    let mut body = vec![0; u32::from_le_bytes(length) as usize];
    input.read_exact(&mut body)?;
    Ok(body)
}
// ANCHOR_END: frames

// ANCHOR: serve
/// The first line of `main`. In a worker it connects to the parent, runs
/// calls until the parent closes the connection, and exits the process;
/// anywhere else it returns at once.
pub fn serve_if_worker(tasks: Tasks) {
    let Ok(hello) = std::env::var(WORKER_VAR) else {
        return;
    };
    let (port, token) = hello.split_once(':').expect("PORT:TOKEN");
    let port: u16 = port.parse().expect("a port");
    let conn = TcpStream::connect(("127.0.0.1", port)).expect("the parent listens");
    conn.set_nodelay(true).expect("a TCP socket"); // see `accept`
    write_frame(&conn, token.as_bytes()).expect("the parent reads");
    serve_loop(tasks, &conn);
    std::process::exit(0);
}
// ANCHOR_END: serve

// ANCHOR: serve_loop
/// Runs calls until the parent closes the connection. A call is the
/// argument (8 bytes), then the task's name; the answer is the result
/// (8 bytes). A panicking task ends the process.
fn serve_loop(tasks: Tasks, conn: &TcpStream) {
    let mut input = BufReader::new(conn);
    let mut output = BufWriter::new(conn);
    while let Ok(call) = read_frame(&mut input) {
        let (arg, name) = call.split_at(8);
        let arg = u64::from_le_bytes(arg.try_into().unwrap());
        let name = std::str::from_utf8(name).unwrap();
        let (_, task) = tasks.iter().find(|(n, _)| *n == name).unwrap();
        write_frame(&mut output, &task(arg).to_le_bytes()).expect("the parent reads");
        // Answers wait until no call is left to run: then they go together.
        if input.buffer().is_empty() {
            output.flush().expect("the parent reads");
        }
    }
}
// ANCHOR_END: serve_loop

/// One call waiting to be run: the task's name, its argument, its future.
struct Job {
    name: &'static str,
    arg: u64,
    future: Future<u64>,
}

// ANCHOR: worker
/// A worker seen from the parent: the connection calls are written to, and
/// the calls written with when, oldest first (it answers in order). Holding
/// `in_flight` while writing keeps the two in the same order.
struct Worker {
    index: usize,
    conn: TcpStream,
    in_flight: Mutex<VecDeque<(Job, Instant)>>,
    /// Why it died: set once, under `in_flight`'s lock, so that no call
    /// slips in after its death was reported.
    gone: OnceLock<String>,
}

// ANCHOR: send
impl Worker {
    fn send(&self, jobs: Vec<Job>) {
        let mut calls = Vec::new();
        for job in &jobs {
            let mut call = job.arg.to_le_bytes().to_vec();
            call.extend_from_slice(job.name.as_bytes());
            write_frame(&mut calls, &call).unwrap();
        }
        let mut in_flight = self.in_flight.lock().unwrap();
        if let Some(why) = self.gone.get() {
            for job in jobs {
                let message = why.clone();
                let _ = job.future.set_exception(Error::BrokenPool { message });
            }
            return;
        }
        // A failed write means a dead worker: `receive` sees it and reports.
        let _ = (&self.conn).write_all(&calls);
        let now = Instant::now();
        in_flight.extend(jobs.into_iter().map(|job| (job, now)));
    }
}
// ANCHOR_END: send
// ANCHOR_END: worker

// ANCHOR: pool
/// A pool of worker processes, started when there is work for them.
pub struct ProcessPool {
    shared: Arc<Shared>,
}

/// What the pool's threads share.
struct Shared {
    state: Mutex<State>,
    /// Held while one worker starts, so that it is our child that we accept.
    listener: Mutex<TcpListener>,
    token: String,
    hello: String,
    size: usize,
}

#[derive(Default)]
struct State {
    /// Calls no worker has been given yet.
    queue: VecDeque<Job>,
    /// One per worker started; a worker's `index` is its place here.
    slots: Vec<Slot>,
    /// Workers started so far: never more than `size`.
    started: usize,
    /// Set by shutdown: a worker that runs out of work is let go.
    closing: bool,
    /// Every worker's receiving thread, for shutdown to wait on.
    threads: Vec<JoinHandle<()>>,
    /// Why the pool can run nothing more: a worker died.
    broken: Option<String>,
}

// ANCHOR: slot
/// A worker whose tasks come back faster than `SHORT` may hold up to
/// `MAX_IN_FLIGHT` calls; any other worker, one.
const MAX_IN_FLIGHT: usize = 4;
const SHORT: Duration = Duration::from_millis(1);

/// How much a worker has been given: a call may be written to it only by
/// the thread that claimed room for it, under the pool's lock.
struct Slot {
    worker: Arc<Worker>,
    /// Calls written and not answered yet.
    sent: usize,
    /// Whether its last call came back within `SHORT`.
    short: bool,
}

impl Slot {
    fn has_room(&self) -> bool {
        self.sent == 0 || (self.short && self.sent < MAX_IN_FLIGHT)
    }
}
// ANCHOR_END: slot

impl ProcessPool {
    /// A pool of at most `size` workers; none starts before `submit`.
    pub fn new(size: usize) -> io::Result<ProcessPool> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let token = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish()
            .to_string();
        let hello = format!("{}:{token}", listener.local_addr()?.port());
        let shared = Shared {
            state: Mutex::default(),
            listener: Mutex::new(listener),
            token,
            hello,
            size,
        };
        Ok(ProcessPool {
            shared: Arc::new(shared),
        })
    }

    // ANCHOR: submit
    /// Runs `name(arg)` in some worker.
    pub fn submit(&self, name: &'static str, arg: u64) -> Future<u64> {
        let future = Future::new();
        let job = Job {
            name,
            arg,
            future: future.clone(),
        };
        let mut state = self.shared.state.lock().unwrap();
        if let Some(why) = &state.broken {
            let message = why.clone();
            future.set_exception(Error::BrokenPool { message }).unwrap();
        } else if let Some(slot) = state.slots.iter_mut().find(|s| s.has_room()) {
            slot.sent += 1;
            let worker = Arc::clone(&slot.worker);
            drop(state);
            job.future.set_running_or_notify_cancel();
            worker.send(vec![job]); // from this thread: nobody else needs waking
        } else {
            state.queue.push_back(job);
            if state.started < self.shared.size {
                state.started += 1;
                drop(state);
                start_worker(&self.shared).expect("could not start a worker");
            }
        }
        future
    }
    // ANCHOR_END: submit

    /// Runs everything queued, then lets the workers go and waits for them.
    pub fn shutdown(self) {
        drop(self); // the work is Drop's, so that a dropped pool does it too
    }
}

impl Drop for ProcessPool {
    fn drop(&mut self) {
        let mut state = self.shared.state.lock().unwrap();
        state.closing = true;
        for slot in state.slots.iter().filter(|s| s.has_room()) {
            let _ = slot.worker.conn.shutdown(Shutdown::Write);
        }
        // The busy ones are let go by their receiving threads, in `next_for`;
        // each thread waits for its worker's process before it ends.
        let threads = std::mem::take(&mut state.threads);
        drop(state);
        for thread in threads {
            thread.join().unwrap();
        }
    }
}
// ANCHOR_END: pool

/// Accepts connections until one starts with our token.
fn accept(listener: &TcpListener, token: &str) -> io::Result<TcpStream> {
    loop {
        let (mut conn, _) = listener.accept()?;
        if read_frame(&mut conn)? == token.as_bytes() {
            // A frame should leave at once, but TCP holds a small write back
            // while an earlier one is not acknowledged (Nagle's algorithm).
            conn.set_nodelay(true)?;
            return Ok(conn);
        }
    }
}

// ANCHOR: start
/// Starts one worker, starts its receiving thread, and gives it work.
fn start_worker(shared: &Arc<Shared>) -> io::Result<()> {
    let (process, conn) = {
        let listener = shared.listener.lock().unwrap();
        let process = Command::new(std::env::current_exe()?)
            .env(WORKER_VAR, &shared.hello)
            .spawn()?;
        (process, accept(&listener, &shared.token)?)
    };
    let mut state = shared.state.lock().unwrap();
    let worker = Arc::new(Worker {
        index: state.slots.len(),
        conn: conn.try_clone()?,
        in_flight: Mutex::new(VecDeque::new()),
        gone: OnceLock::new(),
    });
    let thread = {
        let (shared, worker) = (Arc::clone(shared), Arc::clone(&worker));
        std::thread::spawn(move || receive(&shared, &worker, conn, process))
    };
    let slot = Slot {
        worker: Arc::clone(&worker),
        sent: 0,
        short: false,
    };
    state.slots.push(slot);
    state.threads.push(thread);
    drop(state);
    next_for(shared, &worker, &[]);
    Ok(())
}
// ANCHOR_END: start

// ANCHOR: hand_off
// ANCHOR: next_for
/// Frees the room of the calls `worker` has answered (`answered`: how
/// long each took), fills its room from the queue (skipping cancelled
/// calls), and lets it go if the pool is shutting down and the queue is
/// empty.
fn next_for(shared: &Shared, worker: &Worker, answered: &[Duration]) {
    let mut state = shared.state.lock().unwrap();
    let State {
        queue,
        slots,
        closing,
        ..
    } = &mut *state;
    let slot = &mut slots[worker.index];
    for took in answered {
        slot.sent -= 1;
        slot.short = *took < SHORT;
    }
    let mut jobs = Vec::new();
    while slot.has_room() {
        let Some(job) = queue.pop_front() else { break };
        if job.future.set_running_or_notify_cancel() {
            slot.sent += 1;
            jobs.push(job);
        }
    }
    let done = *closing && queue.is_empty();
    drop(state);
    if !jobs.is_empty() {
        worker.send(jobs);
    }
    if done {
        // It answers what it was sent, reads the end of the stream, exits.
        let _ = worker.conn.shutdown(Shutdown::Write);
    }
}
// ANCHOR_END: next_for

// ANCHOR: receive
/// One worker's receiving thread: reads answers until the worker is gone,
/// then reports its death if it was not let go.
fn receive(shared: &Shared, worker: &Worker, conn: TcpStream, process: Child) {
    let mut input = BufReader::new(conn);
    while let Ok(first) = read_frame(&mut input) {
        // The answers that arrived with it free their room together, so
        // that the worker's next calls go out in one write.
        let mut answers = vec![first];
        while !input.buffer().is_empty() {
            let Ok(answer) = read_frame(&mut input) else {
                break;
            };
            answers.push(answer);
        }
        let mut in_flight = worker.in_flight.lock().unwrap();
        let jobs: Vec<_> = answers
            .iter()
            .map(|_| in_flight.pop_front().unwrap())
            .collect();
        drop(in_flight);
        let took: Vec<_> = jobs.iter().map(|(_, sent_at)| sent_at.elapsed()).collect();
        // The worker's next calls first: they run while we publish these.
        next_for(shared, worker, &took);
        for ((job, _), answer) in jobs.into_iter().zip(answers) {
            let result = u64::from_le_bytes(answer.try_into().unwrap());
            job.future.set_result(result).unwrap();
        }
    }
    report_death(shared, worker, process);
}
// ANCHOR_END: receive

// ANCHOR: death
/// After a worker's connection ended: waits for its process, and unless
/// the pool let it go, fails its calls and the queued ones, and breaks the
/// pool.
fn report_death(shared: &Shared, worker: &Worker, mut process: Child) {
    let status = process.wait();
    let mut state = shared.state.lock().unwrap();
    let mut in_flight = worker.in_flight.lock().unwrap();
    let lost: Vec<Job> = in_flight.drain(..).map(|(job, _)| job).collect();
    let let_go = state.closing && state.queue.is_empty() && lost.is_empty();
    if let_go && status.as_ref().is_ok_and(|s| s.success()) {
        return;
    }
    let how = match status {
        Ok(status) => status.to_string(),
        Err(e) => format!("unknown: {e}"),
    };
    let doing = match lost.first() {
        Some(job) => format!("while running {}({})", job.name, job.arg),
        None => "while idle".to_owned(),
    };
    let (index, pid) = (worker.index, process.id());
    let why = format!("worker {index} (pid {pid}) ended ({how}) {doing}");
    worker.gone.set(why.clone()).unwrap();
    drop(in_flight);
    let queued = std::mem::take(&mut state.queue);
    state.broken.get_or_insert(why.clone());
    drop(state);
    for job in lost.into_iter().chain(queued) {
        let message = why.clone();
        let _ = job.future.set_exception(Error::BrokenPool { message });
    }
}
// ANCHOR_END: death
// ANCHOR_END: hand_off

// ANCHOR: main
pub fn main() {
    serve_if_worker(TASKS);
    let clock = Clock::start();
    let pool = ProcessPool::new(5).unwrap();

    let futures: Vec<_> = (1..=10).map(|i| pool.submit("cube", i)).collect();

    let results: Vec<u64> = futures.iter().map(|f| f.result().unwrap()).collect();
    println!("Results : {results:?}\n");

    pool.shutdown();
    println!("{}", clock.wall_time());
    a_worker_dies();
}
// ANCHOR_END: main

// ANCHOR: crash
/// A task that ends its worker's process: its call fails, and so does
/// every later one, since the pool is broken.
fn a_worker_dies() {
    let pool = ProcessPool::new(2).unwrap();
    let crashed = pool.submit("exit", 3);
    println!("exit(3): {}", crashed.result().unwrap_err());
    let later = pool.submit("cube", 2);
    println!("cube(2): {}", later.result().unwrap_err());
}
// ANCHOR_END: crash
