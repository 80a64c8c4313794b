//! The open-file limit: raised at startup from the soft to the hard `RLIMIT_NOFILE`, so a
//! broker with many partitions is bounded by what the system allows, not by a shell default
//! (commonly 1,024). Kafka leaves this to the operator; the JVM raises it on macOS only.

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and logs both; returns the soft limit
/// now in force (None when the limits cannot be read).
pub fn raise_open_files_limit() -> Option<libc::rlim_t> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        let e = std::io::Error::last_os_error();
        tracing::warn!(target: "kafka.server.KafkaServer", "cannot read the open files limit (RLIMIT_NOFILE): {e}");
        return None;
    }
    let (soft, hard) = (lim.rlim_cur, lim.rlim_max);
    if soft < hard {
        let raised = libc::rlimit {
            rlim_cur: hard,
            rlim_max: hard,
        };
        // SAFETY: setrlimit only reads the struct we pass.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            tracing::info!(target: "kafka.server.KafkaServer", "Open files limit (RLIMIT_NOFILE): soft {soft} raised to the hard limit {hard}");
            return Some(hard);
        }
        let e = std::io::Error::last_os_error();
        tracing::warn!(target: "kafka.server.KafkaServer", "cannot raise the open files limit (RLIMIT_NOFILE) from soft {soft} to hard {hard}: {e}");
    } else {
        tracing::info!(target: "kafka.server.KafkaServer", "Open files limit (RLIMIT_NOFILE): soft {soft}, hard {hard}");
    }
    Some(soft)
}
