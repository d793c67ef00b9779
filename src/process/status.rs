//! An exit status in words, for the messages of a broken pool.

use std::io;
use std::process::ExitStatus;

/// "exited with code 3", "was killed by signal 9 (SIGKILL)".
pub(crate) fn describe(status: Option<&io::Result<ExitStatus>>) -> String {
    let status = match status {
        Some(Ok(status)) => status,
        Some(Err(e)) => return format!("ended (waiting for it failed: {e})"),
        None => return "ended".to_owned(),
    };
    if let Some(code) = status.code() {
        return format!("exited with code {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return format!("was killed by signal {sig} ({})", signal_name(sig));
        }
    }
    format!("ended with {status}")
}

#[cfg(unix)]
fn signal_name(sig: i32) -> &'static str {
    match sig {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        _ => "a signal",
    }
}
