//! Can Wine run what the process pool needs? Built by `.ci/platforms` for
//! Windows and run under Wine before the test suite, so that a broken Wine
//! (no prefix, no `ProcessPrng`) fails here with a clear message instead of
//! as a hundred failing tests.
//!
//! It re-executes itself, the child connects back over TCP on 127.0.0.1 and
//! says hello, the parent kills the child and waits for it. Whether the
//! killed child's connection then ends is reported, not required: Wine 8
//! sometimes leaves the socket of a process killed while it waits in a
//! read open (about one kill in six), which is why the pool's receiver on
//! Windows looks at its worker's process every second instead of relying
//! on the end of the stream (`serve.rs`, `wait_for_data`).

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::time::Duration;

fn main() {
    if let Some(addr) = std::env::args().nth(1) {
        let mut s = TcpStream::connect(addr).expect("child: connect to the parent");
        s.write_all(b"hello").expect("child: write");
        // Blocks until the parent kills this process.
        let _ = s.read(&mut [0u8; 1]);
        std::process::exit(3);
    }
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().unwrap().to_string();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg(&addr)
        .spawn()
        .expect("spawn this program again");
    let (mut s, _) = listener.accept().expect("accept the child");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut hello = [0u8; 5];
    s.read_exact(&mut hello).expect("read the child's hello");
    assert_eq!(&hello, b"hello");
    child.kill().expect("kill the child");
    let status = child.wait().expect("wait for the child");
    assert!(!status.success(), "the killed child exited with {status}");
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let connection = match s.read(&mut [0u8; 1]) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            "stayed open (the Wine 8 bug the pool works around)"
        }
        Ok(0) | Err(_) => "ended",
        Ok(_) => panic!("the killed child still wrote"),
    };
    println!(
        "wine smoke test: spawned itself, TCP hello on {addr}, killed the child ({status}); \
         its connection {connection}"
    );
}
