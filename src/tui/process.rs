//! What the system says of a run's process: whether a sweep started it.

/// The pid of the sweep that started the process `pid`: its parent, when that is this
/// program's `sweep` command (the same executable, `sweep` among its arguments). `None` where
/// the system does not say (no `/proc`, another user's process) or the parent is anything else.
pub fn sweep_of(pid: i64) -> Option<i64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let parent = parent_in_stat(&stat)?;
    let args = std::fs::read(format!("/proc/{parent}/cmdline")).ok()?;
    let is_sweep = args.split(|&b| b == 0).skip(1).any(|a| a == b"sweep");
    (is_sweep && exe(parent)? == exe(pid)?).then_some(parent)
}

/// Whether process `pid` runs the file this process runs (not one built since, which reads
/// as another: `… (deleted)`). False where the system does not say.
pub fn runs_this_executable(pid: i64) -> bool {
    exe(pid)
        .is_some_and(|theirs| std::fs::read_link("/proc/self/exe").is_ok_and(|ours| ours == theirs))
}

/// The file process `pid` runs, where the system says.
fn exe(pid: i64) -> Option<std::path::PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/exe")).ok()
}

/// The fields of a `/proc/PID/stat` line after the command, which is in parentheses and may
/// itself hold spaces and parentheses: the state (`R`, `S`, `T` for stopped, ...), the parent
/// pid, and the rest.
pub fn stat_fields(stat: &str) -> Option<std::str::Split<'_, char>> {
    Some(stat.rsplit_once(") ")?.1.split(' '))
}

/// The parent pid in a `/proc/PID/stat` line.
fn parent_in_stat(stat: &str) -> Option<i64> {
    stat_fields(stat)?.nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parent_is_read_past_a_command_with_spaces_and_parentheses() {
        assert_eq!(
            parent_in_stat("4242 (facenet-lab) S 4200 4242 17 0"),
            Some(4200)
        );
        assert_eq!(parent_in_stat("7 (a) b) (c) R 1 7 7 0"), Some(1));
        assert_eq!(parent_in_stat("garbled"), None);
    }

    #[test]
    fn a_process_runs_this_executable_or_another() -> Result<(), std::io::Error> {
        assert!(runs_this_executable(i64::from(std::process::id())));
        let mut other = std::process::Command::new("sleep").arg("30").spawn()?;
        let answer = runs_this_executable(i64::from(other.id()));
        other.kill()?;
        other.wait()?;
        assert!(!answer);
        assert!(!runs_this_executable(i64::from(i32::MAX)));
        Ok(())
    }

    /// This test's own process was not started by a sweep; a process that does not exist has
    /// no sweep either.
    #[test]
    fn a_process_not_started_by_a_sweep_has_none() {
        assert_eq!(sweep_of(i64::from(std::process::id())), None);
        assert_eq!(sweep_of(i64::from(i32::MAX)), None);
    }
}
