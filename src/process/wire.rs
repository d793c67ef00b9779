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

    /// Appends the bytes of every value in `items`, in order: what
    /// `Vec<T>` sends after its length. The default encodes them one by
    /// one; `u8`, `i8`, `bool` and the numbers override it to copy in bulk,
    /// which is what makes a large `Vec<u8>` cheap to send. Override it only
    /// if your type has such a shortcut; the bytes must be the same.
    ///
    /// ```
    /// use concurrent_futures::process::Wire;
    /// let mut out = Vec::new();
    /// u16::encode_slice(&[1, 2], &mut out).unwrap();
    /// assert_eq!(out, [1, 0, 2, 0]);
    /// ```
    fn encode_slice(items: &[Self], out: &mut Vec<u8>) -> Result<(), Error> {
        items.iter().try_for_each(|x| x.encode(out))
    }

    /// Reads `n` values written by [`encode_slice`](Wire::encode_slice).
    /// The default decodes them one by one, reserving no more than the
    /// bytes at hand, so a lying `n` cannot make it allocate gigabytes.
    ///
    /// ```
    /// use concurrent_futures::process::Wire;
    /// let mut input = &[1u8, 0, 2, 0][..];
    /// assert_eq!(u16::decode_vec(&mut input, 2).unwrap(), [1, 2]);
    /// assert!(input.is_empty());
    /// assert!(u16::decode_vec(&mut &[1u8][..], 1).is_err()); // truncated
    /// ```
    fn decode_vec(input: &mut &[u8], n: usize) -> Result<Vec<Self>, Error> {
        // Zero-sized elements grow the vector as usual.
        let mut v = Vec::with_capacity(n.min(input.len()));
        for _ in 0..n {
            v.push(Self::decode(input)?);
        }
        Ok(v)
    }
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
            // In bulk: one bounds check and one loop the compiler can
            // vectorise, instead of a `Result` per element.
            fn encode_slice(items: &[Self], out: &mut Vec<u8>) -> Result<(), Error> {
                out.reserve(std::mem::size_of_val(items));
                for x in items {
                    out.extend_from_slice(&x.to_le_bytes());
                }
                Ok(())
            }
            fn decode_vec(input: &mut &[u8], n: usize) -> Result<Vec<Self>, Error> {
                const SIZE: usize = std::mem::size_of::<$t>();
                let bytes = take(input, bulk_len(n, SIZE)?)?;
                Ok(bytes
                    .chunks_exact(SIZE)
                    .map(|b| <$t>::from_le_bytes(b.try_into().expect("exact length")))
                    .collect())
            }
        }
    )*};
}

/// The bytes `n` elements of `size` bytes take, or an error if that
/// overflows (a bogus length can only fail, never wrap around).
fn bulk_len(n: usize, size: usize) -> Result<usize, Error> {
    n.checked_mul(size)
        .ok_or_else(|| encoding(format!("{n} elements of {size} bytes overflow")))
}

// A `Vec<u8>` is the usual way to send raw data: copy it in one go.
impl Wire for u8 {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        out.push(*self);
        Ok(())
    }
    fn decode(input: &mut &[u8]) -> Result<Self, Error> {
        Ok(take(input, 1)?[0])
    }
    fn encode_slice(items: &[Self], out: &mut Vec<u8>) -> Result<(), Error> {
        out.extend_from_slice(items);
        Ok(())
    }
    fn decode_vec(input: &mut &[u8], n: usize) -> Result<Vec<Self>, Error> {
        Ok(take(input, n)?.to_vec())
    }
}

wire_number!(u16, u32, u64, u128, i8, i16, i32, i64, i128, f32, f64);

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
    fn encode_slice(items: &[Self], out: &mut Vec<u8>) -> Result<(), Error> {
        out.extend(items.iter().map(|&b| u8::from(b)));
        Ok(())
    }
    fn decode_vec(input: &mut &[u8], n: usize) -> Result<Vec<Self>, Error> {
        let bytes = take(input, n)?;
        match bytes.iter().find(|&&b| b > 1) {
            Some(b) => Err(encoding(format!("invalid bool byte {b}"))),
            None => Ok(bytes.iter().map(|&b| b == 1).collect()),
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
        T::encode_slice(self, out)
    }
    // The element type decides how: one by one (a lying length cannot make
    // it reserve more than the bytes at hand), or in bulk for bytes and
    // numbers, after checking that all the bytes are there.
    fn decode(input: &mut &[u8]) -> Result<Self, Error> {
        let n = length(input)?;
        T::decode_vec(input, n)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The bytes the one-by-one default would write, to compare bulk paths with.
    fn one_by_one<T: Wire>(items: &[T]) -> Vec<u8> {
        let mut out = Vec::new();
        (items.len() as u64).encode(&mut out).unwrap();
        items.iter().for_each(|x| x.encode(&mut out).unwrap());
        out
    }

    fn round_trip<T: Wire + PartialEq + std::fmt::Debug + Clone>(items: Vec<T>) {
        let bytes = to_bytes(&items).unwrap();
        assert_eq!(
            bytes,
            one_by_one(&items),
            "bulk and one-by-one bytes differ"
        );
        assert_eq!(from_bytes::<Vec<T>>(&bytes).unwrap(), items);
    }

    #[test]
    fn bulk_vectors_write_the_same_bytes_as_element_by_element_and_read_back() {
        round_trip((0..=255u8).collect::<Vec<_>>());
        round_trip((-128..=127i8).collect::<Vec<_>>());
        round_trip(vec![true, false, true]);
        round_trip(vec![u64::MAX, 0, 7]);
        round_trip(vec![-1.5f64, 0.25]);
        round_trip(vec!["a".to_string(), String::new()]);
    }

    #[test]
    fn a_bool_vector_with_a_byte_other_than_0_or_1_is_refused() {
        let bytes = [2, 0, 0, 0, 0, 0, 0, 0, 1, 2];
        assert!(from_bytes::<Vec<bool>>(&bytes).is_err());
    }

    #[test]
    fn a_lying_length_fails_without_allocating_or_overflowing() {
        for n in [u64::MAX, u64::MAX / 8 + 1, 5] {
            let mut bytes = n.to_le_bytes().to_vec();
            bytes.extend_from_slice(&[0; 8]);
            assert!(from_bytes::<Vec<u64>>(&bytes).is_err(), "{n}");
            assert!(from_bytes::<Vec<u8>>(&bytes).is_err(), "{n}");
        }
    }
}
