//! The progress example's line (`examples/progress.rs`), drawn into a
//! `Vec<u8>`: redrawn in place for a terminal, a plain line per tenth for a
//! log, and a rate and time left that follow from the counts.

// The example, included whole; only its `ProgressLine` is used here.
#[allow(dead_code)]
#[path = "../examples/progress.rs"]
mod progress;

use progress::ProgressLine;

fn draw(terminal: bool, total: usize, updates: &[(usize, f64)]) -> String {
    let mut out = Vec::new();
    let mut line = ProgressLine::new(total, terminal);
    for &(done, elapsed) in updates {
        line.update(&mut out, done, elapsed).unwrap();
    }
    line.finish(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn the_line_says_done_of_total_the_rate_and_the_time_left() {
    let line = ProgressLine::new(10, true);
    assert_eq!(
        line.text(5, 2.0),
        "[###############---------------]   5/10  2.5 tasks/s  2.0 s left"
    );
    assert_eq!(
        line.text(0, 0.0),
        "[------------------------------]   0/10  ? tasks/s  ? s left"
    );
    assert_eq!(
        line.text(10, 4.0),
        "[##############################]  10/10  2.5 tasks/s  done in 4.0 s"
    );
}

#[test]
fn on_a_terminal_each_update_redraws_the_same_line_and_finish_ends_it() {
    let out = draw(true, 4, &[(0, 0.0), (1, 1.0), (2, 2.0), (4, 3.0)]);
    let redraws: Vec<&str> = out.split('\r').skip(1).collect();
    assert_eq!(redraws.len(), 4, "{out:?}");
    for redraw in &redraws[..3] {
        // Erases what a longer previous line left, and no newline yet.
        assert!(redraw.ends_with("\x1b[K"), "{redraw:?}");
    }
    assert!(
        redraws[1].contains("1/4  1.0 tasks/s  3.0 s left"),
        "{out:?}"
    );
    assert!(redraws[3].starts_with("[##############################]  4/4"));
    assert!(out.ends_with("\x1b[K\n"), "{out:?}");
    assert_eq!(out.matches('\n').count(), 1, "{out:?}");
}

#[test]
fn in_a_log_it_prints_one_plain_line_per_tenth_of_the_work() {
    let updates: Vec<(usize, f64)> = (0..=100).map(|done| (done, done as f64)).collect();
    let out = draw(false, 100, &updates);
    assert!(!out.contains('\r') && !out.contains('\x1b'), "{out:?}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 10, "{out}");
    for (tenth, line) in lines.iter().enumerate() {
        let done = (tenth + 1) * 10;
        assert!(line.contains(&format!(" {done:>3}/100 ")), "{line}");
    }
    assert!(lines[9].ends_with("done in 100.0 s"), "{}", lines[9]);
}

#[test]
fn in_a_log_a_small_or_empty_total_still_prints_each_step_once() {
    // Three tasks: each one crosses a tenth, so each gets its line.
    let out = draw(false, 3, &[(0, 0.0), (1, 1.0), (2, 2.0), (3, 3.0)]);
    assert_eq!(out.lines().count(), 3, "{out}");
    // Nothing to do: one line saying so, and no division by zero.
    let out = draw(false, 0, &[(0, 0.0)]);
    assert_eq!(
        out,
        "[##############################]  0/0  ? tasks/s  done in 0.0 s\n"
    );
}
