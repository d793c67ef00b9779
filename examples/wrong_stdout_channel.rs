//! The obvious version is wrong: a process pool that talks to its worker
//! through the worker's stdout.
//!
//! A pipe on the child's stdout is the first channel that comes to mind:
//! `Command` makes it in one line. But stdout also belongs to the task, and
//! any task may print. Here the worker sends its result as a frame (a
//! 4-byte length, then the bytes), and the task prints one line first. The
//! parent reads the first 4 bytes of that line as the frame's length.
//!
//! This file re-executes its own binary as the worker, as the crate's
//! process pool does, and marks the child with an environment variable.
//! The crate itself leaves stdout and stderr to the tasks and talks over a
//! private Unix socket instead.
//!
//! Run it with `cargo run --example wrong_stdout_channel`.

use std::io::{Read, Write};
use std::process::{Command, Stdio};

/// Marks the re-executed binary as the worker.
const WORKER_VAR: &str = "WRONG_STDOUT_CHANNEL_WORKER";

// ANCHOR: worker
/// A task as any user may write one: it prints, then returns.
fn cube(x: u64) -> u64 {
    println!("cube({x}) starting");
    x.pow(3)
}

/// The worker: runs the task, then writes its result to stdout as a frame.
fn worker() {
    let body = cube(3).to_le_bytes();
    let mut out = std::io::stdout().lock();
    out.write_all(&(body.len() as u32).to_le_bytes()).unwrap();
    out.write_all(&body).unwrap();
    out.flush().unwrap();
}
// ANCHOR_END: worker

// ANCHOR: main
fn main() {
    if std::env::var_os(WORKER_VAR).is_some() {
        return worker();
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(WORKER_VAR, "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut from_worker = child.stdout.take().unwrap();

    let mut prefix = [0_u8; 4];
    from_worker.read_exact(&mut prefix).unwrap();
    let length = u32::from_le_bytes(prefix);
    println!("the parent expects a frame of 8 bytes (one u64)");
    println!("it reads the length prefix {prefix:?} = {length} bytes");
    println!(
        "those bytes are {:?}: the start of the task's println!",
        String::from_utf8_lossy(&prefix)
    );
    println!(
        "trusting them would mean allocating {:.1} GiB and waiting for data that never comes",
        f64::from(length) / f64::from(1_u32 << 30)
    );

    // Drain the rest so the worker can finish writing, then reap it.
    let mut rest = Vec::new();
    from_worker.read_to_end(&mut rest).unwrap();
    child.wait().unwrap();
}
// ANCHOR_END: main
