//! Frames: the messages pool and worker exchange over their socket.
//!
//! A frame is a `u32` little-endian length, then that many bytes: a tag
//! byte and a body. Bodies reuse [`Wire`] for their fixed fields and end
//! with raw bytes (an encoded argument or result), so a large payload is
//! copied once, not re-encoded byte by byte.

use std::io::{self, Read, Write};

use super::wire::{encoding, from_bytes, Wire};
use crate::Error;

/// The largest frame either side accepts. A 16 MiB payload is fine; a
/// corrupt or hostile length is refused before anything is allocated.
pub(crate) const MAX_FRAME: usize = 1 << 30;

// ANCHOR: messages
/// Pool to worker.
#[derive(Debug)]
pub(crate) enum ToWorker {
    /// Run this task once, before anything else: the pool's initializer.
    Init { task: String, args: Vec<u8> },
    /// Run `task` on `payload` (a `Vec` of arguments when `chunk`).
    Call {
        id: u64,
        task: String,
        chunk: bool,
        payload: Vec<u8>,
    },
    /// No more work: finish the calls already sent, then exit with code 0.
    Close,
    /// Exit at once, whatever runs (the gentle way to stop a worker; the
    /// parent kills one that does not go).
    Stop,
    /// Give back the calls not started yet (`Returned` each, then
    /// `Recalled`): another worker has fallen idle. The worker answers once
    /// the call it runs has run long, or, with nothing given back, once it
    /// has run every call it holds (see `worker.rs`).
    Recall,
}

/// Worker to pool.
#[derive(Debug)]
pub(crate) enum FromWorker {
    /// The first frame: proves the connection comes from the child we started.
    Hello { token: String, pid: u32 },
    /// The outcome of work item `id`: encoded result bytes, or why it failed.
    Done {
        id: u64,
        outcome: Result<Vec<u8>, Error>,
    },
    /// The initializer panicked; the worker exits after sending this.
    InitFailed { message: String },
    /// The worker cannot serve (its table lists a name twice); it exits.
    Refused { message: String },
    /// A call given back unstarted, in answer to `Recall`.
    Returned {
        id: u64,
        task: String,
        chunk: bool,
        payload: Vec<u8>,
    },
    /// The end of the answer to `Recall`.
    Recalled,
}
// ANCHOR_END: messages

// ANCHOR: read_frame
/// A frame being read: its tag, and how many of its bytes are still to come.
///
/// Its fields are read one by one, straight from the stream, so a payload
/// lands in a buffer of its own with no copy to cut it out of the frame.
pub(crate) struct Frame<'r, R> {
    pub(crate) tag: u8,
    left: usize,
    r: &'r mut R,
}

/// Reads a frame's length and tag: `Ok(None)` on a clean end of stream
/// between frames. An absurd length is refused before anything is allocated.
pub(crate) fn read_frame<R: Read>(r: &mut R) -> io::Result<Option<Frame<'_, R>>> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < len.len() {
        match r.read(&mut len[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let len = u32::from_le_bytes(len) as usize;
    if len == 0 || len > MAX_FRAME {
        let msg = format!("bad frame length {len} (the limit is {MAX_FRAME})");
        return Err(io::Error::new(io::ErrorKind::InvalidData, msg));
    }
    let mut tag = [0u8];
    r.read_exact(&mut tag)?;
    Ok(Some(Frame {
        tag: tag[0],
        left: len - 1,
        r,
    }))
}

impl<R: Read> Frame<'_, R> {
    /// Counts `n` more bytes as read; a field may not run past the frame.
    fn claim(&mut self, n: usize) -> io::Result<()> {
        self.left = self.left.checked_sub(n).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, "a field runs past its frame")
        })?;
        Ok(())
    }

    /// The next `n` bytes, read through `take`: a length that promises more
    /// than the peer sends ends in an error at end of stream, not in a wait,
    /// and memory grows only as bytes actually arrive.
    fn bytes(&mut self, n: usize) -> io::Result<Vec<u8>> {
        self.claim(n)?;
        let mut out = Vec::with_capacity(n.min(1 << 16));
        (&mut *self.r).take(n as u64).read_to_end(&mut out)?;
        if out.len() < n {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(out)
    }

    /// A fixed-size field (`bool`, `u8`, `u32`, `u64`: as long on the wire
    /// as in memory), read without allocating.
    fn fixed<T: Wire>(&mut self) -> io::Result<T> {
        let mut buf = [0u8; 8];
        let field = &mut buf[..std::mem::size_of::<T>()];
        self.claim(field.len())?;
        self.r.read_exact(field)?;
        from_bytes(field).map_err(bad)
    }

    /// A `String` field: its `u64` length, then its bytes.
    fn string(&mut self) -> io::Result<String> {
        let n = usize::try_from(self.fixed::<u64>()?).unwrap_or(usize::MAX);
        String::from_utf8(self.bytes(n)?).map_err(|e| bad(encoding(e.to_string())))
    }

    /// The rest of the frame: its payload, in a buffer of its own.
    fn rest(mut self) -> io::Result<Vec<u8>> {
        let n = self.left;
        self.bytes(n)
    }

    /// The frame must be used up, or the next one would start mid-field.
    fn end(self) -> io::Result<()> {
        match self.left {
            0 => Ok(()),
            n => Err(bad(encoding(format!("{n} bytes left over in a frame")))),
        }
    }
}
// ANCHOR_END: read_frame

/// Whether `buffered` starts with a whole frame, so that reading it next
/// cannot block.
pub(crate) fn whole_frame(buffered: &[u8]) -> bool {
    match buffered.get(..4) {
        Some(len) => {
            let len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
            buffered.len() - 4 >= len
        }
        None => false,
    }
}

/// Writes one frame made of `tag`, then `head`, then `tail`.
fn write_frame(w: &mut impl Write, tag: u8, head: &[u8], tail: &[u8]) -> io::Result<()> {
    let len = 1 + head.len() + tail.len();
    if len > MAX_FRAME {
        let msg = format!("a frame of {len} bytes is over the limit of {MAX_FRAME}");
        return Err(io::Error::new(io::ErrorKind::InvalidInput, msg));
    }
    w.write_all(&(len as u32).to_le_bytes())?;
    w.write_all(&[tag])?;
    w.write_all(head)?;
    w.write_all(tail)
}

/// Writes a `Call` frame from borrowed parts, so the pool's writers need
/// not build a `ToWorker` (and copy the payload into it) for each item.
pub(crate) fn write_call(
    w: &mut impl Write,
    id: u64,
    task: &str,
    chunk: bool,
    payload: &[u8],
) -> io::Result<()> {
    write_call_as(w, b'C', id, task, chunk, payload)
}

/// A call's frame under `tag`: `C` from the pool, `B` when given back.
fn write_call_as(
    w: &mut impl Write,
    tag: u8,
    id: u64,
    task: &str,
    chunk: bool,
    payload: &[u8],
) -> io::Result<()> {
    let mut h = Vec::with_capacity(call_len(task, &[]));
    (id, task.len() as u64).encode(&mut h).map_err(bad)?;
    h.extend_from_slice(task.as_bytes());
    chunk.encode(&mut h).map_err(bad)?;
    write_frame(w, tag, &h, payload)
}

/// How many bytes `write_call` puts on the wire, its length prefix included.
pub(crate) fn call_len(task: &str, payload: &[u8]) -> usize {
    4 + 1 + 8 + 8 + task.len() + 1 + payload.len()
}

fn bad(e: Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

fn head(fields: impl FnOnce(&mut Vec<u8>) -> Result<(), Error>) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    fields(&mut out).map_err(bad)?;
    Ok(out)
}

impl ToWorker {
    pub(crate) fn write(&self, w: &mut impl Write) -> io::Result<()> {
        match self {
            ToWorker::Init { task, args } => {
                write_frame(w, b'I', &head(|o| task.clone().encode(o))?, args)
            }
            ToWorker::Call {
                id,
                task,
                chunk,
                payload,
            } => write_call(w, *id, task, *chunk, payload),
            ToWorker::Close => write_frame(w, b'X', &[], &[]),
            ToWorker::Stop => write_frame(w, b'S', &[], &[]),
            ToWorker::Recall => write_frame(w, b'Q', &[], &[]),
        }
    }

    /// `Ok(None)` when the pool closed its end: the worker should exit.
    pub(crate) fn read(r: &mut impl Read) -> io::Result<Option<ToWorker>> {
        let Some(mut frame) = read_frame(r)? else {
            return Ok(None);
        };
        let msg = match frame.tag {
            b'I' => ToWorker::Init {
                task: frame.string()?,
                args: frame.rest()?,
            },
            b'C' => ToWorker::Call {
                id: frame.fixed()?,
                task: frame.string()?,
                chunk: frame.fixed()?,
                payload: frame.rest()?,
            },
            b'X' => {
                frame.end()?;
                ToWorker::Close
            }
            b'S' => {
                frame.end()?;
                ToWorker::Stop
            }
            b'Q' => {
                frame.end()?;
                ToWorker::Recall
            }
            t => return Err(bad(encoding(format!("unknown frame tag {t}")))),
        };
        Ok(Some(msg))
    }
}

impl FromWorker {
    pub(crate) fn write(&self, w: &mut impl Write) -> io::Result<()> {
        match self {
            FromWorker::Hello { token, pid } => {
                write_frame(w, b'H', &head(|o| (token.clone(), *pid).encode(o))?, &[])
            }
            FromWorker::Done { id, outcome } => match outcome {
                Ok(bytes) => write_frame(w, b'R', &head(|o| (*id, 0u8).encode(o))?, bytes),
                Err(e) => {
                    // The worker only ever reports these two kinds.
                    let (kind, message) = match e {
                        Error::Encoding { message } => (2u8, message.clone()),
                        Error::Panicked { message } => (1, message.clone()),
                        other => (1, other.to_string()),
                    };
                    let h = head(|o| (*id, kind).encode(o))?;
                    write_frame(w, b'R', &h, message.as_bytes())
                }
            },
            FromWorker::InitFailed { message } => write_frame(w, b'F', &[], message.as_bytes()),
            FromWorker::Refused { message } => write_frame(w, b'E', &[], message.as_bytes()),
            FromWorker::Returned {
                id,
                task,
                chunk,
                payload,
            } => write_call_as(w, b'B', *id, task, *chunk, payload),
            FromWorker::Recalled => write_frame(w, b'A', &[], &[]),
        }
    }

    /// `Ok(None)` when the worker closed its end (it exited).
    pub(crate) fn read(r: &mut impl Read) -> io::Result<Option<FromWorker>> {
        let Some(mut frame) = read_frame(r)? else {
            return Ok(None);
        };
        let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
        let msg = match frame.tag {
            b'H' => {
                let (token, pid) = (frame.string()?, frame.fixed()?);
                frame.end()?;
                FromWorker::Hello { token, pid }
            }
            b'R' => {
                let id = frame.fixed()?;
                let outcome = match frame.fixed::<u8>()? {
                    0 => Ok(frame.rest()?),
                    1 => Err(Error::Panicked {
                        message: text(frame.rest()?),
                    }),
                    2 => Err(encoding(text(frame.rest()?))),
                    k => return Err(bad(encoding(format!("unknown outcome kind {k}")))),
                };
                FromWorker::Done { id, outcome }
            }
            b'F' => FromWorker::InitFailed {
                message: text(frame.rest()?),
            },
            b'E' => FromWorker::Refused {
                message: text(frame.rest()?),
            },
            b'B' => FromWorker::Returned {
                id: frame.fixed()?,
                task: frame.string()?,
                chunk: frame.fixed()?,
                payload: frame.rest()?,
            },
            b'A' => {
                frame.end()?;
                FromWorker::Recalled
            }
            t => return Err(bad(encoding(format!("unknown frame tag {t}")))),
        };
        Ok(Some(msg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bogus_length_is_refused_before_anything_is_allocated() {
        let mut input = &u32::MAX.to_le_bytes()[..];
        let e = read_frame(&mut input).err().unwrap();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn a_length_that_promises_more_than_arrives_ends_at_end_of_stream() {
        // 1 GiB announced, 3 bytes sent: an error, not a wait or a 1 GiB buffer.
        let mut bytes = (MAX_FRAME as u32).to_le_bytes().to_vec();
        bytes.extend_from_slice(b"Rxx");
        let e = FromWorker::read(&mut &bytes[..]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn frames_round_trip_and_a_clean_end_is_none() {
        let mut bytes = Vec::new();
        let call = ToWorker::Call {
            id: 7,
            task: "cube".into(),
            chunk: true,
            payload: vec![1, 2, 3],
        };
        call.write(&mut bytes).unwrap();
        let mut input = &bytes[..];
        match ToWorker::read(&mut input).unwrap() {
            Some(ToWorker::Call {
                id: 7,
                task,
                chunk: true,
                payload,
            }) => assert_eq!((task.as_str(), &payload[..]), ("cube", &[1, 2, 3][..])),
            other => panic!("{other:?}"),
        }
        assert!(ToWorker::read(&mut input).unwrap().is_none());
    }

    #[test]
    fn a_field_that_runs_past_its_frame_is_an_error() {
        // A hello whose name claims 100 bytes in a frame of 10.
        let mut bytes = 10u32.to_le_bytes().to_vec();
        bytes.push(b'H');
        bytes.extend_from_slice(&100u64.to_le_bytes());
        bytes.push(0);
        let e = FromWorker::read(&mut &bytes[..]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn an_unknown_tag_is_an_error() {
        let bytes = [1, 0, 0, 0, b'?'];
        let e = FromWorker::read(&mut &bytes[..]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }
}
