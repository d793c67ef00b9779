//! Stage 1 of the process pool: the smallest one that works.
//!
//! Five worker processes, each this very binary started again; one thread
//! in the parent per worker, which takes the next call from a shared
//! channel, writes it to its worker and blocks until the answer comes back.
//! One item per worker, blocking reads, no hand-off, no batching: the
//! stages after this one add each of those (see the book's chapter "How a
//! process pool re-executes its own binary").
//!
//! The connection is TCP on 127.0.0.1, which every platform std supports.
//! A stranger on the same machine could connect to the port too, so a
//! worker's first frame must be a random token that only our children
//! know (they get it in their environment).
//!
//! Run it with `cargo run --example process_pool_1_minimal` (15 s, as the
//! article's section 3); `CONCURRENT_FUTURES_CLOCK=0.01` makes it 0.15 s.

use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use concurrent_futures::Future;

mod common;
use common::{slow_cube, Clock};

// ANCHOR: tasks
/// The tasks a worker can run, by name: a function pointer is an address,
/// meaningless in another process, but a name means the same function in
/// every copy of this binary.
pub type Tasks = &'static [(&'static str, fn(u64) -> u64)];

pub const TASKS: Tasks = &[("cube", slow_cube)];
// ANCHOR_END: tasks

/// Tells a re-executed copy of this binary that it is a worker, and where
/// to connect: `PORT:TOKEN`.
const WORKER_VAR: &str = "PROCESS_POOL_1_WORKER";

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
    let mut conn = TcpStream::connect(("127.0.0.1", port)).expect("the parent listens");
    conn.set_nodelay(true).expect("a TCP socket"); // see `accept`
    write_frame(&mut conn, token.as_bytes()).expect("the parent reads");
    // A call is the argument (8 bytes), then the task's name; the answer
    // is the result (8 bytes). A panicking task ends the process.
    // ANCHOR: serve_loop
    while let Ok(call) = read_frame(&mut conn) {
        let (arg, name) = call.split_at(8);
        let arg = u64::from_le_bytes(arg.try_into().unwrap());
        let name = std::str::from_utf8(name).unwrap();
        let (_, task) = tasks.iter().find(|(n, _)| *n == name).unwrap();
        write_frame(&mut conn, &task(arg).to_le_bytes()).expect("the parent reads");
    }
    // ANCHOR_END: serve_loop
    std::process::exit(0);
}
// ANCHOR_END: serve

/// One call waiting to be run: the task's name, its argument, its future.
struct Job {
    name: &'static str,
    arg: u64,
    future: Future<u64>,
}

/// A worker seen from the parent: its process and the thread that feeds it.
struct Worker {
    process: Child,
    thread: JoinHandle<()>,
}

// ANCHOR: pool
/// A pool of worker processes, each fed by a thread of its own.
pub struct ProcessPool {
    jobs: Option<Sender<Job>>,
    workers: Vec<Worker>,
}

impl ProcessPool {
    /// Starts `size` workers at once, and waits until each has connected.
    pub fn new(size: usize) -> io::Result<ProcessPool> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let token = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish()
            .to_string();
        let hello = format!("{}:{token}", listener.local_addr()?.port());
        let (jobs, receiver) = channel();
        let receiver = Arc::new(Mutex::new(receiver));
        let mut workers = Vec::new();
        for _ in 0..size {
            let process = Command::new(std::env::current_exe()?)
                .env(WORKER_VAR, &hello)
                .spawn()?;
            let conn = accept(&listener, &token)?;
            let receiver = Arc::clone(&receiver);
            let thread = std::thread::spawn(move || feed(conn, &receiver));
            workers.push(Worker { process, thread });
        }
        Ok(ProcessPool {
            jobs: Some(jobs),
            workers,
        })
    }

    /// Queues `name(arg)` to run in some worker.
    pub fn submit(&self, name: &'static str, arg: u64) -> Future<u64> {
        let future = Future::new();
        let job = Job {
            name,
            arg,
            future: future.clone(),
        };
        self.jobs.as_ref().unwrap().send(job).unwrap();
        future
    }

    /// Runs everything queued, then lets the workers go and waits for them.
    pub fn shutdown(self) {
        drop(self); // the work is Drop's, so that a dropped pool does it too
    }
}

impl Drop for ProcessPool {
    fn drop(&mut self) {
        drop(self.jobs.take()); // each feeding thread ends once the queue is empty
        for mut worker in self.workers.drain(..) {
            worker.thread.join().unwrap();
            worker.process.wait().unwrap();
        }
    }
}
// ANCHOR_END: pool

// ANCHOR: accept
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
// ANCHOR_END: accept

// ANCHOR: feed
/// One worker's thread in the parent: the next call, written, then a
/// blocking read of its result. Returning closes the connection, which
/// tells the worker to exit.
fn feed(mut conn: TcpStream, jobs: &Mutex<Receiver<Job>>) {
    loop {
        // `let` drops the lock at the end of the statement, before the call
        // runs, so the other threads can take jobs meanwhile.
        let Ok(job) = jobs.lock().unwrap().recv() else {
            return; // the pool is shutting down and the queue is empty
        };
        if !job.future.set_running_or_notify_cancel() {
            continue;
        }
        let mut call = job.arg.to_le_bytes().to_vec();
        call.extend_from_slice(job.name.as_bytes());
        let Ok(answer) = write_frame(&mut conn, &call).and_then(|()| read_frame(&mut conn)) else {
            return; // the worker died: this future stays pending for ever
        };
        let result = u64::from_le_bytes(answer.try_into().unwrap());
        job.future.set_result(result).unwrap();
    }
}
// ANCHOR_END: feed

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
}
// ANCHOR_END: main
