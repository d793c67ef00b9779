//! `Wire` for containers, paths and durations, and `wire_struct!`: every
//! impl reads back what it wrote (empty, nested, large), refuses truncated
//! or garbled bytes with `Error::Encoding` instead of panicking, and works
//! through a real process pool. Last, the compile error a type without
//! `Wire` gets points at the docs.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::ffi::OsString;
use std::fmt::Debug;
use std::hash::BuildHasherDefault;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use concurrent_futures::process::{Registered, Task, Wire};
use concurrent_futures::{Error, ProcessPoolExecutor};

fn encode<T: Wire>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    value.encode(&mut out).unwrap();
    out
}

/// Decodes a `T` that must use up all of `bytes`.
fn decode<T: Wire>(bytes: &[u8]) -> Result<T, Error> {
    let mut input = bytes;
    let value = T::decode(&mut input)?;
    assert!(input.is_empty(), "{} bytes left over", input.len());
    Ok(value)
}

/// Encodes `value`, checks that it reads back equal, and that every
/// shorter prefix of its bytes fails with `Error::Encoding`. Returns the
/// bytes for further checks.
fn round_trip<T: Wire + PartialEq + Debug>(value: &T) -> Vec<u8> {
    let bytes = encode(value);
    assert_eq!(&decode::<T>(&bytes).unwrap(), value);
    // Every cut of a small value; of a large one (where each cut decodes
    // up to the whole value) the cuts in its length prefix, a few in the
    // middle and the last few.
    let len = bytes.len();
    let cuts: Vec<usize> = match len {
        0..=4096 => (0..len).collect(),
        _ => (0..9)
            .chain([len / 3, len / 2])
            .chain(len - 5..len)
            .collect(),
    };
    for cut in cuts {
        match T::decode(&mut &bytes[..cut]) {
            Err(Error::Encoding { .. }) => {}
            other => panic!("{cut} of {} bytes gave {other:?}", bytes.len()),
        }
    }
    bytes
}

/// A length prefix followed by `rest`.
fn with_len(n: u64, rest: &[u8]) -> Vec<u8> {
    let mut out = n.to_le_bytes().to_vec();
    out.extend_from_slice(rest);
    out
}

fn assert_encoding_error<T: Wire + Debug>(bytes: &[u8], containing: &str) {
    match T::decode(&mut &bytes[..]) {
        Err(Error::Encoding { message }) => {
            assert!(message.contains(containing), "{message:?}");
        }
        other => panic!("expected Error::Encoding containing {containing:?}, got {other:?}"),
    }
}

#[test]
fn arrays_read_back_and_send_a_vecs_bytes_without_the_length() {
    round_trip(&[0u8; 0]);
    round_trip(&<[String; 0]>::default());
    round_trip(&[1u64, u64::MAX, 7]);
    round_trip(&[true, false]);
    round_trip(&["a".to_string(), "ü".to_string()]);
    round_trip(&[[1u16, 2], [3, 4], [5, 6]]);
    round_trip(&[Some([1i8, -1]), None]);
    let large: [u32; 10_000] = std::array::from_fn(|i| i as u32 * 3);
    let bytes = round_trip(&large);
    assert_eq!(bytes, encode(&large.to_vec())[8..]);
}

#[test]
fn boxes_read_back_as_the_value_they_hold() {
    assert_eq!(round_trip(&Box::new(5u32)), encode(&5u32));
    round_trip(&Box::new(Box::new(vec!["x".to_string()])));
    round_trip(&vec![Box::new(1i64), Box::new(-1)]);
}

#[test]
fn a_deque_sends_the_same_bytes_as_the_vec_of_its_items_even_when_wrapped() {
    round_trip(&VecDeque::<u8>::new());
    let mut wrapped = VecDeque::with_capacity(4);
    wrapped.extend([3u32, 4]);
    wrapped.push_front(2);
    wrapped.push_front(1);
    let (front, back) = wrapped.as_slices();
    assert!(!front.is_empty() && !back.is_empty(), "not wrapped");
    let bytes = round_trip(&wrapped);
    assert_eq!(bytes, encode(&vec![1u32, 2, 3, 4]));
    round_trip(&(0..5_000u64).collect::<VecDeque<_>>());
    round_trip(&VecDeque::from([VecDeque::from([String::from("a")])]));
}

#[test]
fn hash_maps_read_back_empty_nested_large_and_with_another_hasher() {
    round_trip(&HashMap::<String, u8>::new());
    let nested: HashMap<String, HashMap<u8, Vec<bool>>> = [
        (
            "a".to_string(),
            HashMap::from([(1, vec![true]), (2, vec![])]),
        ),
        ("b".to_string(), HashMap::new()),
    ]
    .into();
    round_trip(&nested);
    round_trip(
        &(0..10_000u32)
            .map(|i| (i, i * 2))
            .collect::<HashMap<_, _>>(),
    );
    type Fixed = BuildHasherDefault<std::collections::hash_map::DefaultHasher>;
    let other: HashMap<u8, char, Fixed> = [(1, 'x'), (2, 'y')].into_iter().collect();
    round_trip(&other);
}

#[test]
fn btree_maps_read_back_and_encode_in_key_order() {
    round_trip(&BTreeMap::<u8, u8>::new());
    let map = BTreeMap::from([(2u8, "two".to_string()), (1, "one".to_string())]);
    let bytes = round_trip(&map);
    let mut expected = 2u64.to_le_bytes().to_vec();
    expected.extend(encode(&(1u8, "one".to_string())));
    expected.extend(encode(&(2u8, "two".to_string())));
    assert_eq!(bytes, expected);
    round_trip(&BTreeMap::from([(vec![1u8], BTreeMap::from([('a', ())]))]));
    round_trip(&(0..10_000i64).map(|i| (-i, i)).collect::<BTreeMap<_, _>>());
}

#[test]
fn sets_read_back_empty_nested_and_large() {
    round_trip(&HashSet::<u64>::new());
    round_trip(&BTreeSet::<String>::new());
    round_trip(&HashSet::from(["x".to_string(), "y".to_string()]));
    round_trip(&BTreeSet::from([BTreeSet::from([1u8]), BTreeSet::new()]));
    round_trip(&(0..10_000u16).collect::<HashSet<_>>());
    round_trip(&(0..10_000u16).collect::<BTreeSet<_>>());
}

#[test]
fn a_map_or_set_with_a_repeated_key_is_refused() {
    // Two entries, both with key 1: bytes our encoder never writes.
    let pairs = with_len(2, &[1, 10, 1, 20]);
    assert_encoding_error::<HashMap<u8, u8>>(&pairs, "repeats a key");
    assert_encoding_error::<BTreeMap<u8, u8>>(&pairs, "repeats a key");
    let items = with_len(2, &[1, 1]);
    assert_encoding_error::<HashSet<u8>>(&items, "repeats a key");
    assert_encoding_error::<BTreeSet<u8>>(&items, "repeats a key");
    // A set of a zero-sized type with a huge length stops at the second
    // entry instead of looping for ever.
    assert_encoding_error::<HashSet<()>>(&with_len(u64::MAX, &[]), "repeats a key");
    assert_encoding_error::<BTreeMap<(), ()>>(&with_len(u64::MAX, &[]), "repeats a key");
}

#[test]
fn durations_read_back_to_the_nanosecond() {
    for d in [
        Duration::ZERO,
        Duration::from_nanos(1),
        Duration::from_millis(1500),
        Duration::new(u64::MAX, 999_999_999),
    ] {
        round_trip(&d);
    }
    round_trip(&vec![Duration::from_secs(1); 3]);
}

#[test]
fn a_duration_with_a_billion_nanoseconds_is_refused_not_carried() {
    let mut bytes = encode(&u64::MAX);
    bytes.extend(encode(&1_000_000_000u32));
    assert_encoding_error::<Duration>(&bytes, "nanoseconds");
}

#[test]
fn paths_read_back_and_a_unicode_path_sends_its_strings_bytes() {
    for p in ["", "/", "relative/dir", "/tmp/a b/ü €.txt", "C:\\Windows"] {
        let bytes = round_trip(&PathBuf::from(p));
        assert_eq!(bytes, encode(&p.to_string()), "{p}");
        assert_eq!(round_trip(&OsString::from(p)), bytes);
    }
    round_trip(&vec![PathBuf::from("a"), PathBuf::from("b/c")]);
    round_trip(&BTreeMap::from([(
        PathBuf::from("k"),
        Duration::from_secs(2),
    )]));
}

#[cfg(unix)]
#[test]
fn on_unix_a_path_that_is_not_utf8_reads_back_byte_for_byte() {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let latin1 = PathBuf::from(OsString::from_vec(b"/tmp/caf\xe9".to_vec()));
    assert!(latin1.to_str().is_none());
    let bytes = round_trip(&latin1);
    assert_eq!(&bytes[8..], latin1.as_os_str().as_bytes());
}

#[test]
fn truncated_or_garbage_bytes_give_encoding_errors_never_panics() {
    // A small xorshift generator: the same "random" bytes on every run.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    fn check<T: Wire + Debug>(bytes: &[u8]) {
        if let Err(e) = T::decode(&mut &bytes[..]) {
            assert!(matches!(e, Error::Encoding { .. }), "{e:?}");
        }
    }
    for _ in 0..2_000 {
        let len = (next() % 40) as usize;
        // Mostly small lengths, so decoding gets past the length prefix.
        let mut bytes: Vec<u8> = (0..len).map(|_| (next() % 4) as u8).collect();
        if next() % 2 == 0 {
            bytes = (0..len).map(|_| next() as u8).collect();
        }
        check::<[u32; 3]>(&bytes);
        check::<Box<String>>(&bytes);
        check::<VecDeque<char>>(&bytes);
        check::<HashMap<u8, String>>(&bytes);
        check::<BTreeMap<String, bool>>(&bytes);
        check::<HashSet<u16>>(&bytes);
        check::<BTreeSet<Duration>>(&bytes);
        check::<PathBuf>(&bytes);
        check::<Duration>(&bytes);
        check::<Point>(&bytes);
        check::<Node>(&bytes);
    }
}

// ---- wire_struct! ----

#[derive(Clone, Debug, PartialEq)]
struct Point {
    x: i32,
    y: i32,
    label: String,
}
concurrent_futures::wire_struct!(Point { x, y, label });

#[derive(Debug, PartialEq)]
struct Empty {}
concurrent_futures::wire_struct!(Empty {});

#[derive(Debug, PartialEq)]
struct Pair<A, B> {
    left: A,
    right: B,
}
concurrent_futures::wire_struct!(Pair<A, B> { left, right, });

/// A linked list: a struct that holds itself through `Option<Box<_>>`.
#[derive(Debug, PartialEq)]
struct Node {
    value: u32,
    next: Option<Box<Node>>,
}
concurrent_futures::wire_struct!(Node { value, next });

mod shapes {
    /// Fields private to another module: the macro, called here, sees them.
    #[derive(Debug, PartialEq)]
    pub struct Circle {
        center: super::Point,
        radius: f64,
    }
    concurrent_futures::wire_struct!(Circle { radius, center });

    pub fn unit() -> Circle {
        let label = "c".to_string();
        let center = super::Point { x: 0, y: 0, label };
        Circle {
            center,
            radius: 1.0,
        }
    }
}

#[test]
fn wire_struct_sends_the_fields_in_the_order_listed() {
    let p = Point {
        x: 1,
        y: -2,
        label: "p".into(),
    };
    let bytes = round_trip(&p);
    assert_eq!(bytes, encode(&(1i32, -2i32, "p".to_string())));
    // Listed as `radius, center`: the radius travels first.
    let bytes = round_trip(&shapes::unit());
    assert_eq!(bytes[..8], 1.0f64.to_le_bytes());
}

#[test]
fn wire_struct_handles_empty_generic_nested_and_recursive_structs() {
    assert!(round_trip(&Empty {}).is_empty());
    round_trip(&Pair {
        left: 7u8,
        right: vec![Some("r".to_string())],
    });
    round_trip(&Pair {
        left: Pair {
            left: [1u8; 4],
            right: (),
        },
        right: BTreeMap::from([(1u8, Empty {})]),
    });
    let mut list = None;
    for value in 0..1_000 {
        list = Some(Box::new(Node { value, next: list }));
    }
    let list = *list.unwrap();
    round_trip(&list);
}

// ---- Through a real process pool ----

type Inventory = HashMap<PathBuf, (Duration, BTreeSet<String>)>;

fn describe(points: Vec<Point>) -> (usize, Point) {
    let far = points.iter().max_by_key(|p| p.x.abs() + p.y.abs());
    (points.len(), far.cloned().expect("no points"))
}

fn oldest(inventory: Inventory) -> Option<PathBuf> {
    let oldest = inventory.into_iter().max_by_key(|(_, (age, _))| *age);
    oldest.map(|(path, _)| path)
}

const DESCRIBE: Task<Vec<Point>, (usize, Point)> = Task::new("describe", describe);
const OLDEST: Task<Inventory, Option<PathBuf>> = Task::new("oldest", oldest);
const TASKS: &[&dyn Registered] = &[&DESCRIBE, &OLDEST];
concurrent_futures::worker_test!(TASKS);

#[test]
fn a_wire_struct_and_the_new_impls_travel_through_a_process_pool() {
    let pool = ProcessPoolExecutor::new(1).unwrap();
    let points = vec![
        Point {
            x: 1,
            y: 1,
            label: "near".into(),
        },
        Point {
            x: -9,
            y: 4,
            label: "far".into(),
        },
    ];
    let (n, far) = pool.submit(&DESCRIBE, points).unwrap().result().unwrap();
    assert_eq!((n, far.label.as_str()), (2, "far"));

    let tags = BTreeSet::from(["log".to_string()]);
    let inventory = Inventory::from([
        (PathBuf::from("/var/log/a"), (Duration::from_secs(9), tags)),
        (
            PathBuf::from("b"),
            (Duration::from_millis(1), BTreeSet::new()),
        ),
    ]);
    let oldest = pool.submit(&OLDEST, inventory).unwrap().result().unwrap();
    assert_eq!(oldest, Some(PathBuf::from("/var/log/a")));
    pool.shutdown();
}

// ---- The compile error ----

/// Compiles a file that registers a task taking a type without `Wire`,
/// against the library this test was built with, and reads the error.
/// (A `compile_fail` doc test on `Wire` checks the error code only; this
/// checks the words.)
#[test]
#[cfg_attr(
    windows,
    ignore = "runs rustc for the test's own target; CI runs Windows tests under Wine, where only Linux's rustc exists"
)]
fn a_task_over_a_type_without_wire_fails_to_compile_pointing_at_the_docs() {
    let deps = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    // The newest build of the library next to this test binary is the one
    // it was linked with.
    let rlib = std::fs::read_dir(&deps)
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with("libconcurrent_futures-") && name.ends_with(".rlib")
        })
        .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
        .expect("the library's rlib next to the test binary")
        .path();
    let dir = std::env::temp_dir().join(format!("cf-wire-ui-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let source = dir.join("not_wire.rs");
    std::fs::write(
        &source,
        "use concurrent_futures::process::{Registered, Task};\n\
         pub struct Celsius(pub f64);\n\
         fn warm(c: Celsius) -> bool { c.0 > 20.0 }\n\
         const WARM: Task<Celsius, bool> = Task::new(\"warm\", warm);\n\
         pub const TASKS: &[&dyn Registered] = &[&WARM];\n",
    )
    .unwrap();
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(rustc)
        .args([
            "--edition",
            "2021",
            "--crate-type",
            "lib",
            "--emit",
            "metadata",
        ])
        .arg("--extern")
        .arg(format!("concurrent_futures={}", rlib.display()))
        .arg("--out-dir")
        .arg(&dir)
        .arg(&source)
        .output()
        .expect("rustc runs");
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "it compiled:\n{stderr}");
    for words in [
        "error[E0277]: `Celsius` cannot travel to or from a worker process: it does not implement `Wire`",
        "note: see the docs of concurrent_futures::process::Wire",
        "concurrent_futures::wire_struct!",
    ] {
        assert!(stderr.contains(words), "{words:?} missing from:\n{stderr}");
    }
}
