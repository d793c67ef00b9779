//! Frames: the messages pool and worker exchange over their socket.
//!
//! A frame is a `u32` little-endian length, then that many bytes: a tag
//! byte and a body. Bodies reuse [`Wire`] for their fixed fields and end
//! with raw bytes (an encoded argument or result), so a large payload is
//! copied once, not re-encoded byte by byte.

use std::io::{self, Read, Write};

use super::wire::{encoding, Wire};
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
}
// ANCHOR_END: messages

// ANCHOR: read_frame
/// Reads one frame: `Ok(None)` on a clean end of stream between frames.
///
/// The body is read through `take`, so a length that promises more than the
/// peer sends ends in an error at end of stream, and memory grows only as
/// bytes actually arrive.
pub(crate) fn read_frame(r: &mut impl Read) -> io::Result<Option<(u8, Vec<u8>)>> {
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
    let mut body = Vec::with_capacity(len.min(1 << 16));
    r.take(len as u64).read_to_end(&mut body)?;
    if body.len() < len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    let tag = body.remove(0);
    Ok(Some((tag, body)))
}
// ANCHOR_END: read_frame

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
            } => {
                let h = head(|o| (*id, task.clone(), *chunk).encode(o))?;
                write_frame(w, b'C', &h, payload)
            }
        }
    }

    /// `Ok(None)` when the pool closed its end: the worker should exit.
    pub(crate) fn read(r: &mut impl Read) -> io::Result<Option<ToWorker>> {
        let Some((tag, body)) = read_frame(r)? else {
            return Ok(None);
        };
        let mut input = &body[..];
        let msg = match tag {
            b'I' => ToWorker::Init {
                task: String::decode(&mut input).map_err(bad)?,
                args: input.to_vec(),
            },
            b'C' => {
                let (id, task, chunk) = <(u64, String, bool)>::decode(&mut input).map_err(bad)?;
                let payload = input.to_vec();
                ToWorker::Call {
                    id,
                    task,
                    chunk,
                    payload,
                }
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
        }
    }

    /// `Ok(None)` when the worker closed its end (it exited).
    pub(crate) fn read(r: &mut impl Read) -> io::Result<Option<FromWorker>> {
        let Some((tag, body)) = read_frame(r)? else {
            return Ok(None);
        };
        let mut input = &body[..];
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let msg = match tag {
            b'H' => {
                let (token, pid) = <(String, u32)>::decode(&mut input).map_err(bad)?;
                FromWorker::Hello { token, pid }
            }
            b'R' => {
                let (id, kind) = <(u64, u8)>::decode(&mut input).map_err(bad)?;
                let outcome = match kind {
                    0 => Ok(input.to_vec()),
                    1 => Err(Error::Panicked {
                        message: text(input),
                    }),
                    2 => Err(encoding(text(input))),
                    k => return Err(bad(encoding(format!("unknown outcome kind {k}")))),
                };
                FromWorker::Done { id, outcome }
            }
            b'F' => FromWorker::InitFailed {
                message: text(input),
            },
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
        let e = read_frame(&mut input).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn a_length_that_promises_more_than_arrives_ends_at_end_of_stream() {
        // 1 GiB announced, 3 bytes sent: an error, not a wait or a 1 GiB buffer.
        let mut bytes = (MAX_FRAME as u32).to_le_bytes().to_vec();
        bytes.extend_from_slice(b"Rxx");
        let e = read_frame(&mut &bytes[..]).unwrap_err();
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
    fn an_unknown_tag_is_an_error() {
        let bytes = [1, 0, 0, 0, b'?'];
        let e = FromWorker::read(&mut &bytes[..]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    }
}
