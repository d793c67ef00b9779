//! The `Wire` trait: how a process task's arguments and results cross the
//! boundary between the pool and its workers (Python pickles them instead).
//!
//! The format is deliberately plain: integers little-endian, lengths as
//! `u64`, no field names, no versioning. Parent and worker are the same
//! binary, so both sides always agree on every type's layout.

use crate::Error;

/// A value that can be sent to or from a worker process.
///
/// Implemented for the integers, `f32`/`f64`, `bool`, `char`, `String`,
/// `()`, `Vec<T>`, `Option<T>`, `Result<T, E>` and tuples of up to six
/// elements; also arrays `[T; N]`, `Box<T>`, `VecDeque<T>`,
/// `HashMap`/`BTreeMap`, `HashSet`/`BTreeSet`, `Duration`, `OsString` and
/// `PathBuf` (on Unix any path; elsewhere a path that is not valid Unicode
/// is refused with `Error::Encoding`).
///
/// For a struct with named fields, [`wire_struct!`](crate::wire_struct)
/// writes the impl: `concurrent_futures::wire_struct!(Point { x, y });`.
/// Otherwise implement it by encoding the fields in order and decoding
/// them in the same order:
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
///
/// The std containers nest freely:
///
/// ```
/// use concurrent_futures::process::Wire;
/// use std::{collections::HashMap, path::PathBuf, time::Duration};
///
/// let ages = HashMap::from([(PathBuf::from("/var/log/syslog"), [Duration::from_secs(90); 2])]);
/// let mut bytes = Vec::new();
/// ages.encode(&mut bytes).unwrap();
/// assert_eq!(HashMap::decode(&mut &bytes[..]).unwrap(), ages);
/// assert!(<HashMap<PathBuf, [Duration; 2]>>::decode(&mut &bytes[..20]).is_err()); // cut short
/// ```
///
/// A task over a type that is not `Wire` does not compile, with an error
/// that says so and points here (`tests/wire.rs` checks its words):
///
/// ```compile_fail,E0277
/// use concurrent_futures::process::{Registered, Task};
/// struct Celsius(f64);
/// fn warm(c: Celsius) -> bool { c.0 > 20.0 }
/// const WARM: Task<Celsius, bool> = Task::new("warm", warm);
/// const TASKS: &[&dyn Registered] = &[&WARM];
/// // error[E0277]: `Celsius` cannot travel to or from a worker process: ...
/// ```
// ANCHOR: trait
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot travel to or from a worker process: it does not implement `Wire`",
    label = "`{Self}` is not `Wire`",
    note = "see the docs of concurrent_futures::process::Wire for the types that are, and how to implement it",
    note = "for a struct with named fields: `concurrent_futures::wire_struct!(MyStruct {{ field1, field2 }});`"
)]
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

// ---- Containers, paths and durations ----

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::ffi::{OsStr, OsString};
use std::hash::{BuildHasher, Hash};
use std::path::PathBuf;
use std::time::Duration;

// An array's length is part of its type, so only the elements travel: the
// same bytes as a `Vec<T>` of the same elements, minus the length.
impl<T: Wire, const N: usize> Wire for [T; N] {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        T::encode_slice(self, out)
    }
    fn decode(input: &mut &[u8]) -> Result<Self, Error> {
        let items = T::decode_vec(input, N)?;
        // `decode_vec` returned exactly N items or an error.
        Ok(items
            .try_into()
            .unwrap_or_else(|_| unreachable!("decode_vec returned the wrong count")))
    }
}

impl<T: Wire> Wire for Box<T> {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        T::encode(self, out)
    }
    fn decode(input: &mut &[u8]) -> Result<Self, Error> {
        T::decode(input).map(Box::new)
    }
}

// The same bytes as a `Vec<T>`: a deque is sent as the list it holds.
impl<T: Wire> Wire for VecDeque<T> {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let (front, back) = self.as_slices();
        (self.len() as u64).encode(out)?;
        T::encode_slice(front, out)?;
        T::encode_slice(back, out)
    }
    fn decode(input: &mut &[u8]) -> Result<Self, Error> {
        Vec::decode(input).map(VecDeque::from)
    }
}

/// Reads a collection's length, then `n` items with `read`, each handed to
/// `insert`, which says `false` for a key already there. The encoder never
/// writes a key twice, so a repeated key means the bytes are not ours.
fn decode_entries<T>(
    input: &mut &[u8],
    what: &str,
    mut read: impl FnMut(&mut &[u8]) -> Result<T, Error>,
    mut insert: impl FnMut(T) -> bool,
) -> Result<(), Error> {
    let n = length(input)?;
    for i in 0..n {
        if !insert(read(input)?) {
            return Err(encoding(format!("{what}: entry {i} of {n} repeats a key")));
        }
    }
    Ok(())
}

// Maps and sets travel as their length, then their entries in iteration
// order. A `HashMap`'s order differs between processes (each has its own
// random hasher keys), which is harmless: decoding does not depend on it.
impl<K, V, S> Wire for HashMap<K, V, S>
where
    K: Wire + Eq + Hash,
    V: Wire,
    S: BuildHasher + Default,
{
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        (self.len() as u64).encode(out)?;
        self.iter().try_for_each(|(k, v)| {
            k.encode(out)?;
            v.encode(out)
        })
    }
    fn decode(input: &mut &[u8]) -> Result<Self, Error> {
        // Nothing reserved up front: a lying length fails at `take` instead.
        let mut map = HashMap::default();
        let read = |input: &mut &[u8]| Ok((K::decode(input)?, V::decode(input)?));
        decode_entries(input, "HashMap", read, |(k, v)| map.insert(k, v).is_none())?;
        Ok(map)
    }
}

impl<K: Wire + Ord, V: Wire> Wire for BTreeMap<K, V> {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        (self.len() as u64).encode(out)?;
        self.iter().try_for_each(|(k, v)| {
            k.encode(out)?;
            v.encode(out)
        })
    }
    fn decode(input: &mut &[u8]) -> Result<Self, Error> {
        let mut map = BTreeMap::new();
        let read = |input: &mut &[u8]| Ok((K::decode(input)?, V::decode(input)?));
        decode_entries(input, "BTreeMap", read, |(k, v)| map.insert(k, v).is_none())?;
        Ok(map)
    }
}

impl<T, S> Wire for HashSet<T, S>
where
    T: Wire + Eq + Hash,
    S: BuildHasher + Default,
{
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        (self.len() as u64).encode(out)?;
        self.iter().try_for_each(|x| x.encode(out))
    }
    fn decode(input: &mut &[u8]) -> Result<Self, Error> {
        let mut set = HashSet::default();
        decode_entries(input, "HashSet", T::decode, |x| set.insert(x))?;
        Ok(set)
    }
}

impl<T: Wire + Ord> Wire for BTreeSet<T> {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        (self.len() as u64).encode(out)?;
        self.iter().try_for_each(|x| x.encode(out))
    }
    fn decode(input: &mut &[u8]) -> Result<Self, Error> {
        let mut set = BTreeSet::new();
        decode_entries(input, "BTreeSet", T::decode, |x| set.insert(x))?;
        Ok(set)
    }
}

// A `Duration` as Python's `timedelta` would not do it: whole seconds
// (`u64`) then nanoseconds (`u32`), exactly as `Duration` holds it, so no
// value is rounded.
impl Wire for Duration {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        self.as_secs().encode(out)?;
        self.subsec_nanos().encode(out)
    }
    fn decode(input: &mut &[u8]) -> Result<Self, Error> {
        let secs = u64::decode(input)?;
        let nanos = u32::decode(input)?;
        // `Duration::new` would carry extra nanoseconds into the seconds
        // (and panic on overflow); the encoder never writes a billion or more.
        if nanos >= 1_000_000_000 {
            return Err(encoding(format!("invalid Duration: {nanos} nanoseconds")));
        }
        Ok(Duration::new(secs, nanos))
    }
}

// ANCHOR: os_string
// Paths: a length, then the path's bytes. On Unix a path is any bytes but
// `/` and NUL, UTF-8 or not, and those bytes travel as they are: parent and
// worker are the same binary on the same system, so nothing is lost. On
// Windows (and anywhere else) a path is UTF-16 that may hold unpaired
// surrogates, which have no UTF-8 form; such a path is refused with
// `Error::Encoding` rather than altered (a lossy U+FFFD would name another
// file). A valid UTF-8 path gives the same bytes as its `String` everywhere.
impl Wire for OsString {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let bytes = os_bytes(self)?;
        (bytes.len() as u64).encode(out)?;
        out.extend_from_slice(bytes);
        Ok(())
    }
    fn decode(input: &mut &[u8]) -> Result<Self, Error> {
        let n = length(input)?;
        os_string(take(input, n)?)
    }
}

#[cfg(unix)]
fn os_bytes(s: &OsStr) -> Result<&[u8], Error> {
    use std::os::unix::ffi::OsStrExt;
    Ok(s.as_bytes())
}

#[cfg(unix)]
fn os_string(bytes: &[u8]) -> Result<OsString, Error> {
    use std::os::unix::ffi::OsStringExt;
    Ok(OsString::from_vec(bytes.to_vec()))
}

#[cfg(not(unix))]
fn os_bytes(s: &OsStr) -> Result<&[u8], Error> {
    match s.to_str() {
        Some(text) => Ok(text.as_bytes()),
        None => Err(encoding(format!(
            "the path {s:?} is not valid Unicode and cannot be sent to a worker"
        ))),
    }
}

#[cfg(not(unix))]
fn os_string(bytes: &[u8]) -> Result<OsString, Error> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(OsString::from(text)),
        Err(e) => Err(encoding(format!("invalid UTF-8 in a path: {e}"))),
    }
}
// ANCHOR_END: os_string

impl Wire for PathBuf {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        // No copy: the same bytes as the `OsString` it wraps.
        let bytes = os_bytes(self.as_os_str())?;
        (bytes.len() as u64).encode(out)?;
        out.extend_from_slice(bytes);
        Ok(())
    }
    fn decode(input: &mut &[u8]) -> Result<Self, Error> {
        OsString::decode(input).map(PathBuf::from)
    }
}

// ANCHOR: wire_struct
/// Writes the [`Wire`](crate::process::Wire) impl of a struct with named
/// fields: list the struct's name and its fields, in the order they
/// travel.
///
/// ```
/// use concurrent_futures::process::Wire;
///
/// #[derive(Debug, PartialEq)]
/// struct Point { x: i32, y: i32, label: String }
///
/// concurrent_futures::wire_struct!(Point { x, y, label });
///
/// let p = Point { x: 1, y: -2, label: "origin-ish".into() };
/// let mut bytes = Vec::new();
/// p.encode(&mut bytes).unwrap();
/// assert_eq!(Point::decode(&mut &bytes[..]).unwrap(), p);
/// ```
///
/// Every field must be listed (a missing one fails to compile, since the
/// decode builds the struct with a literal) and its type must be `Wire`.
/// For a generic struct, name its type parameters; each gets a `Wire`
/// bound:
///
/// ```
/// #[derive(Debug, PartialEq)]
/// struct Pair<A, B> { left: A, right: B }
///
/// concurrent_futures::wire_struct!(Pair<A, B> { left, right });
///
/// use concurrent_futures::process::Wire;
/// let mut bytes = Vec::new();
/// Pair { left: 7u8, right: vec![true] }.encode(&mut bytes).unwrap();
/// let back: Pair<u8, Vec<bool>> = Wire::decode(&mut &bytes[..]).unwrap();
/// assert_eq!(back, Pair { left: 7, right: vec![true] });
/// ```
///
/// Tuple structs, enums and structs with lifetimes need the impl written
/// by hand, as in the [`Wire`](crate::process::Wire) docs.
#[macro_export]
macro_rules! wire_struct {
    ($name:ident $(< $($param:ident),+ $(,)? >)? { $($field:ident),* $(,)? }) => {
        impl $(< $($param: $crate::process::Wire),+ >)? $crate::process::Wire
            for $name $(< $($param),+ >)?
        {
            fn encode(&self, out: &mut ::std::vec::Vec<u8>) -> ::std::result::Result<(), $crate::Error> {
                // Both unused for a struct with no fields.
                let _ = &out;
                $($crate::process::Wire::encode(&self.$field, out)?;)*
                ::std::result::Result::Ok(())
            }
            fn decode(input: &mut &[u8]) -> ::std::result::Result<Self, $crate::Error> {
                let _ = &input;
                // Fields are evaluated in the order written: the order encoded.
                ::std::result::Result::Ok($name {
                    $($field: $crate::process::Wire::decode(input)?,)*
                })
            }
        }
    };
}
// ANCHOR_END: wire_struct

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
