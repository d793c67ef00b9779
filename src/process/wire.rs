//! The `Wire` trait: how a process task's arguments and results cross the
//! boundary between the pool and its workers (Python pickles them instead).
//!
//! The format is deliberately plain: integers little-endian, lengths as
//! `u64`, no field names, no versioning. Parent and worker are the same
//! binary, so both sides always agree on every type's layout.

use crate::Error;

// ANCHOR: trait
/// A value that can be sent to or from a worker process.
///
/// Implemented for the integers, `f32`/`f64`, `bool`, `char`, `String`,
/// `()`, `Vec<T>`, `Option<T>`, `Result<T, E>` and tuples of up to six
/// elements. Implement it for your own types by encoding their fields in
/// order and decoding them in the same order:
///
/// ```
/// use concurrent_futures::process::Wire;
/// use concurrent_futures::Error;
///
/// #[derive(Debug, PartialEq)]
/// struct Point { x: i32, y: i32 }
///
/// impl Wire for Point {
///     fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
///         self.x.encode(out)?;
///         self.y.encode(out)
///     }
///     fn decode(input: &mut &[u8]) -> Result<Self, Error> {
///         Ok(Point { x: i32::decode(input)?, y: i32::decode(input)? })
///     }
/// }
///
/// let mut bytes = Vec::new();
/// Point { x: 1, y: -2 }.encode(&mut bytes).unwrap();
/// assert_eq!(Point::decode(&mut &bytes[..]).unwrap(), Point { x: 1, y: -2 });
/// ```
///
/// Either method may refuse with `Error::Encoding` (say, a value the type
/// cannot represent); the future of that one task then fails with it.
pub trait Wire: Sized {
    /// Appends this value's bytes to `out`.
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error>;
    /// Reads one value from the front of `input` and advances it past it.
    fn decode(input: &mut &[u8]) -> Result<Self, Error>;
}
// ANCHOR_END: trait

/// An `Error::Encoding` with `message`.
pub(crate) fn encoding(message: impl Into<String>) -> Error {
    Error::Encoding {
        message: message.into(),
    }
}

/// Takes `n` bytes off the front of `input`.
pub(crate) fn take<'a>(input: &mut &'a [u8], n: usize) -> Result<&'a [u8], Error> {
    if input.len() < n {
        return Err(encoding(format!(
            "truncated input: needed {n} more bytes, found {}",
            input.len()
        )));
    }
    let (head, tail) = input.split_at(n);
    *input = tail;
    Ok(head)
}

/// Reads a length prefix. A bogus length fails later, at `take`, instead
/// of allocating: nothing is reserved up front beyond what `input` holds.
fn length(input: &mut &[u8]) -> Result<usize, Error> {
    usize::try_from(u64::decode(input)?).map_err(|_| encoding("length does not fit in usize"))
}

macro_rules! wire_number {
    ($($t:ty),*) => {$(
        impl Wire for $t {
            fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
                out.extend_from_slice(&self.to_le_bytes());
                Ok(())
            }
            fn decode(input: &mut &[u8]) -> Result<Self, Error> {
                let bytes = take(input, std::mem::size_of::<$t>())?;
                // `take` returned exactly size_of bytes, so this cannot fail.
                Ok(<$t>::from_le_bytes(bytes.try_into().expect("exact length")))
            }
        }
    )*};
}

wire_number!(u8, u16, u32, u64, u128, i8, i16, i32, i64, i128, f32, f64);

// `usize` and `isize` travel as 64 bits: the worker is the same binary, but
// a fixed width keeps the format independent of the platform anyway.
impl Wire for usize {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        (*self as u64).encode(out)
    }
    fn decode(input: &mut &[u8]) -> Result<Self, Error> {
        usize::try_from(u64::decode(input)?).map_err(|_| encoding("usize out of range"))
    }
}

impl Wire for isize {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        (*self as i64).encode(out)
    }
    fn decode(input: &mut &[u8]) -> Result<Self, Error> {
        isize::try_from(i64::decode(input)?).map_err(|_| encoding("isize out of range"))
    }
}

impl Wire for bool {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        out.push(u8::from(*self));
        Ok(())
    }
    fn decode(input: &mut &[u8]) -> Result<Self, Error> {
        match u8::decode(input)? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(encoding(format!("invalid bool byte {b}"))),
        }
    }
}

impl Wire for char {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        u32::from(*self).encode(out)
    }
    fn decode(input: &mut &[u8]) -> Result<Self, Error> {
        let n = u32::decode(input)?;
        char::from_u32(n).ok_or_else(|| encoding(format!("invalid char {n:#x}")))
    }
}

impl Wire for String {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        (self.len() as u64).encode(out)?;
        out.extend_from_slice(self.as_bytes());
        Ok(())
    }
    fn decode(input: &mut &[u8]) -> Result<Self, Error> {
        let n = length(input)?;
        let bytes = take(input, n)?;
        String::from_utf8(bytes.to_vec()).map_err(|e| encoding(format!("invalid UTF-8: {e}")))
    }
}

impl Wire for () {
    fn encode(&self, _out: &mut Vec<u8>) -> Result<(), Error> {
        Ok(())
    }
    fn decode(_input: &mut &[u8]) -> Result<Self, Error> {
        Ok(())
    }
}

// ANCHOR: vec
impl<T: Wire> Wire for Vec<T> {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        (self.len() as u64).encode(out)?;
        self.iter().try_for_each(|x| x.encode(out))
    }
    fn decode(input: &mut &[u8]) -> Result<Self, Error> {
        let n = length(input)?;
        // Capped by the bytes at hand: a lying length cannot make us
        // reserve gigabytes (zero-sized elements grow the vector as usual).
        let mut v = Vec::with_capacity(n.min(input.len()));
        for _ in 0..n {
            v.push(T::decode(input)?);
        }
        Ok(v)
    }
}
// ANCHOR_END: vec

impl<T: Wire> Wire for Option<T> {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        match self {
            None => false.encode(out),
            Some(x) => {
                true.encode(out)?;
                x.encode(out)
            }
        }
    }
    fn decode(input: &mut &[u8]) -> Result<Self, Error> {
        Ok(match bool::decode(input)? {
            false => None,
            true => Some(T::decode(input)?),
        })
    }
}

impl<T: Wire, E: Wire> Wire for Result<T, E> {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        match self {
            Ok(x) => {
                true.encode(out)?;
                x.encode(out)
            }
            Err(e) => {
                false.encode(out)?;
                e.encode(out)
            }
        }
    }
    fn decode(input: &mut &[u8]) -> Result<Self, Error> {
        Ok(match bool::decode(input)? {
            true => Ok(T::decode(input)?),
            false => Err(E::decode(input)?),
        })
    }
}

macro_rules! wire_tuple {
    ($($name:ident),+) => {
        impl<$($name: Wire),+> Wire for ($($name,)+) {
            #[allow(non_snake_case)]
            fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
                let ($($name,)+) = self;
                $($name.encode(out)?;)+
                Ok(())
            }
            fn decode(input: &mut &[u8]) -> Result<Self, Error> {
                Ok(($($name::decode(input)?,)+))
            }
        }
    };
}

wire_tuple!(A);
wire_tuple!(A, B);
wire_tuple!(A, B, C);
wire_tuple!(A, B, C, D);
wire_tuple!(A, B, C, D, E);
wire_tuple!(A, B, C, D, E, F);

// ANCHOR: bytes
/// Encodes one value into a fresh buffer.
pub(crate) fn to_bytes<T: Wire>(value: &T) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    value.encode(&mut out)?;
    Ok(out)
}

/// Decodes one value that must use up all of `input`.
pub(crate) fn from_bytes<T: Wire>(mut input: &[u8]) -> Result<T, Error> {
    let value = T::decode(&mut input)?;
    if !input.is_empty() {
        return Err(encoding(format!("{} bytes left over", input.len())));
    }
    Ok(value)
}
// ANCHOR_END: bytes
