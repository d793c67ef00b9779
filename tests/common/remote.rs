//! A [`RemoteGate`]: the [`Gate`](super::Gate) of the process chapters. A
//! task in a worker process cannot see the test's memory, so it waits at a
//! loopback TCP socket instead (every platform has one): it connects, says its pid, and blocks until the test
//! writes a byte. The test learns that the task is running when it accepts
//! the connection.
//!
//! Bounded both ways: the test waits `BOUND` for a task to arrive, and a
//! task gives up (panics) after `BOUND` at a gate nobody opens. Dropping the
//! gate opens it, so a failing test never leaves a worker stuck.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread;

use super::BOUND;

/// The worker side: connect to the gate at `path`, report, and wait until it
/// opens. Returns this process's id. Call it from a process task.
pub fn wait_at(address: &str) -> u32 {
    let mut s = TcpStream::connect(address).expect("the test's gate socket");
    s.write_all(&std::process::id().to_le_bytes()).unwrap();
    s.set_read_timeout(Some(BOUND)).unwrap();
    match s.read(&mut [0u8; 1]) {
        // A byte: opened. End of stream: the test is gone; let the task end.
        Ok(_) => std::process::id(),
        Err(e) => panic!("a remote gate stayed shut for the whole bound: {e}"),
    }
}

/// What the acceptor thread and the test share.
#[derive(Default)]
struct Door {
    open: bool,
    closing: bool,
    /// Tasks waiting at the gate while it is shut.
    waiting: Vec<TcpStream>,
}

/// The test side of a gate that tasks in worker processes wait at.
pub struct RemoteGate {
    address: String,
    door: Arc<Mutex<Door>>,
    /// The pid of each task as it arrives.
    arrivals: Receiver<u32>,
}

impl RemoteGate {
    pub fn new() -> RemoteGate {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let door = Arc::new(Mutex::new(Door::default()));
        let (tx, arrivals) = mpsc::channel();
        let d = Arc::clone(&door);
        thread::spawn(move || accept(listener, &d, &tx));
        RemoteGate {
            address,
            door,
            arrivals,
        }
    }

    /// The argument to give the task that waits here.
    pub fn arg(&self) -> String {
        self.address.clone()
    }

    /// Blocks until one more task has arrived at the gate (so it is
    /// running); its process id.
    pub fn arrived(&self) -> u32 {
        self.arrivals
            .recv_timeout(BOUND)
            .expect("no task arrived at the remote gate")
    }

    /// Lets every task through, those waiting and those yet to come.
    pub fn open(&self) {
        let mut door = self.door.lock().unwrap();
        door.open = true;
        for mut s in door.waiting.drain(..) {
            let _ = s.write_all(b"!");
        }
    }
}

impl Drop for RemoteGate {
    fn drop(&mut self) {
        self.open();
        self.door.lock().unwrap().closing = true;
        // Wake the acceptor so that it sees `closing` and ends.
        let _ = TcpStream::connect(&self.address);
    }
}

fn accept(listener: TcpListener, door: &Mutex<Door>, arrivals: &mpsc::Sender<u32>) {
    for stream in listener.incoming() {
        let Ok(mut s) = stream else { continue };
        if door.lock().unwrap().closing {
            return;
        }
        let mut pid = [0u8; 4];
        s.set_read_timeout(Some(BOUND)).unwrap();
        if s.read_exact(&mut pid).is_err() {
            continue;
        }
        let mut d = door.lock().unwrap();
        if d.open {
            let _ = s.write_all(b"!");
        } else {
            d.waiting.push(s);
        }
        drop(d);
        let _ = arrivals.send(u32::from_le_bytes(pid));
    }
}
