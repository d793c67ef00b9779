//! The connection between the pool and one worker: a private, two-way byte
//! stream. Nothing above this file knows which transport carries it.
//!
//! | platform | transport | address the worker is given |
//! |---|---|---|
//! | Linux | a Unix socket in the abstract namespace | `@concurrent-futures-<128 random bits>` |
//! | macOS, the BSDs, Windows, the rest | TCP on 127.0.0.1 | `127.0.0.1:<port>` |
//!
//! Why these two. Neither has a path in the file system, so nothing depends
//! on `$TMPDIR` (macOS caps a socket path at 104 bytes, and a long or
//! missing `$TMPDIR` used to break every pool), and nothing is left on disk
//! when the parent is killed. Both can be reached by other local processes,
//! so the listener serves only a peer whose first frame (the hello) carries
//! the pool's 128-bit secret token and the pid of the child we started;
//! anyone else is turned away. On Linux an abstract socket never touches
//! the network stack, which keeps a round trip as cheap as the old
//! socket file; elsewhere loopback TCP is what every std platform has (std
//! has no Unix sockets on Windows), with Nagle's delay turned off.
//!
//! Both ends are opened close-on-exec (std does that for every socket), so
//! a subprocess that a task starts never inherits the connection: a
//! worker's death is seen as the end of its stream even while its
//! subprocesses live on. The worker's stdin is not used at all.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::time::SystemTime;

#[cfg(target_os = "linux")]
use std::os::unix::net::{UnixListener as RawListener, UnixStream as RawStream};

#[cfg(not(target_os = "linux"))]
use std::net::{TcpListener as RawListener, TcpStream as RawStream};

/// 128 bits from std's randomly seeded hasher, the time and our pid: enough
/// that no other process can guess a token or an address.
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

/// One end of a worker's connection. `&Conn` reads and writes, so one
/// thread may read while another writes.
#[derive(Debug)]
pub(crate) struct Conn(RawStream);

impl Conn {
    pub(crate) fn try_clone(&self) -> io::Result<Conn> {
        self.0.try_clone().map(Conn)
    }

    /// Ends the stream for both sides: a thread blocked reading it returns.
    pub(crate) fn close(&self) {
        let _ = self.0.shutdown(Shutdown::Both);
    }

    pub(crate) fn set_read_timeout(&self, t: Option<std::time::Duration>) -> io::Result<()> {
        self.0.set_read_timeout(t)
    }

    /// Connects to the pool at `address` (what [`Listener::address`] gave).
    pub(crate) fn connect(address: &str) -> io::Result<Conn> {
        #[cfg(target_os = "linux")]
        {
            use std::os::linux::net::SocketAddrExt;
            let name = address.strip_prefix('@').unwrap_or(address);
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            RawStream::connect_addr(&addr).map(Conn)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let s = RawStream::connect(address)?;
            s.set_nodelay(true)?;
            Ok(Conn(s))
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for &Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&self.0).read(buf)
    }
}

impl Write for &Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&self.0).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Where one worker connects, open until it has.
pub(crate) struct Listener {
    inner: RawListener,
    address: String,
}

impl Listener {
    /// A fresh, unguessable address (Linux) or a free loopback port.
    /// Non-blocking: [`Listener::try_accept`] never waits.
    pub(crate) fn bind() -> io::Result<Listener> {
        #[cfg(target_os = "linux")]
        let (inner, address) = {
            use std::os::linux::net::SocketAddrExt;
            let name = format!("concurrent-futures-{}", random_hex());
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(&name)?;
            (RawListener::bind_addr(&addr)?, format!("@{name}"))
        };
        #[cfg(not(target_os = "linux"))]
        let (inner, address) = {
            let inner = RawListener::bind(("127.0.0.1", 0))?;
            let address = inner.local_addr()?.to_string();
            (inner, address)
        };
        inner.set_nonblocking(true)?;
        Ok(Listener { inner, address })
    }

    /// What the worker is told to connect to.
    pub(crate) fn address(&self) -> &str {
        &self.address
    }

    /// A connection if one is waiting, `Ok(None)` if none is yet.
    pub(crate) fn try_accept(&self) -> io::Result<Option<Conn>> {
        match self.inner.accept() {
            Ok((s, _)) => {
                // On macOS and the BSDs an accepted socket inherits the
                // listener's non-blocking mode: make it block again.
                s.set_nonblocking(false)?;
                #[cfg(not(target_os = "linux"))]
                s.set_nodelay(true)?;
                Ok(Some(Conn(s)))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(None),
            Err(e) => Err(e),
        }
    }
}
