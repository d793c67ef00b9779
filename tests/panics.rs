//! A thread task's panic reaches its future with where it happened, as a
//! process task's does, and the program's own panic hook still runs.
//!
//! Every test first installs this file's hook (`program_hook`), as a
//! program would at the top of `main`: the pool chains its own in front of
//! whichever hook it finds, so the order must be the same in every test.
//! The hook records panic messages instead of printing them, which also
//! keeps the test output clean.

use std::sync::{Mutex, Once, PoisonError};

use concurrent_futures::{Error, ThreadPoolExecutor};

/// What the program's own hook saw: one message per panic.
static SEEN: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn program_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let message = match info.payload().downcast_ref::<String>() {
                Some(s) => s.clone(),
                None => format!("{:?}", info.payload().downcast_ref::<&str>()),
            };
            SEEN.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(message);
        }));
    });
}

fn seen(message: &str) -> bool {
    let seen = SEEN.lock().unwrap_or_else(PoisonError::into_inner);
    seen.iter().any(|m| m == message)
}

const BOOM_LINE: u32 = line!() + 2;
fn boom(x: u64) -> u64 {
    panic!("boom {x}")
}

fn panicked(error: Error) -> String {
    match error {
        Error::Panicked { message } => message,
        other => panic!("expected Error::Panicked, got {other:?}"),
    }
}

#[test]
fn a_thread_task_panic_says_the_file_and_line_it_happened_at() {
    program_hook();
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let future = pool.submit(|| boom(1)).unwrap();
    let message = panicked(future.result().unwrap_err());
    let at = format!("boom 1 (at {}:{BOOM_LINE}:", file!());
    assert!(
        message.starts_with(&at),
        "{message:?} should start with {at:?}"
    );
    assert!(message.ends_with(')'), "{message:?}");
    // Display shows it too: what `{e}` in a user's error report prints.
    let shown = pool.submit(|| boom(2)).unwrap().result().unwrap_err();
    assert!(shown.to_string().contains(&format!(":{BOOM_LINE}:")));
    pool.shutdown();
}

#[test]
fn the_programs_own_panic_hook_still_sees_every_task_panic() {
    program_hook();
    let pool = ThreadPoolExecutor::new(1).unwrap();
    let error = pool.submit(|| boom(31)).unwrap().result().unwrap_err();
    assert!(panicked(error).contains(&format!(":{BOOM_LINE}:")));
    assert!(seen("boom 31"), "the program's hook missed the panic");
    pool.shutdown();
}

#[test]
fn map_results_and_non_string_panics_carry_the_location_too() {
    program_hook();
    let pool = ThreadPoolExecutor::new(2).unwrap();
    let results: Vec<_> = pool.map(boom, [41]).unwrap().collect();
    let message = panicked(results.into_iter().next().unwrap().unwrap_err());
    assert!(message.starts_with("boom 41 (at "), "{message:?}");
    assert!(message.contains(&format!(":{BOOM_LINE}:")), "{message:?}");

    let line = line!() + 1;
    let odd = pool.submit(|| std::panic::panic_any(42u8)).unwrap();
    let message = panicked(odd.result().unwrap_err());
    let at = format!("(at {}:{line}:", file!());
    assert!(message.contains(&at), "{message:?} should contain {at:?}");
    pool.shutdown();
}

#[test]
fn a_panic_caught_inside_a_task_leaves_no_stale_location_behind() {
    program_hook();
    let pool = ThreadPoolExecutor::new(1).unwrap();
    // The task catches its own panic and returns normally...
    let caught = pool.submit(|| std::panic::catch_unwind(|| boom(51)).is_err());
    assert!(caught.unwrap().result().unwrap());
    // ...and the next task on the same thread panics with no hook call at
    // all (`resume_unwind`), so it has no location rather than a stale one.
    // (Without the reset, it would end with boom's location.)
    let silent = pool.submit(|| -> u64 { std::panic::resume_unwind(Box::new("quiet")) });
    let message = panicked(silent.unwrap().result().unwrap_err());
    assert_eq!(message, "quiet");
    pool.shutdown();
}
