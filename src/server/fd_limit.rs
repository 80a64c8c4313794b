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

/// The segment file cache's capacity: the configured one, at most half the open-files limit
/// so sockets and other files always have room (logged when the limit lowers it).
pub fn segment_files_cap(configured: i32, limit: Option<libc::rlim_t>) -> usize {
    let configured = configured.max(1) as usize;
    let Some(half) = limit.map(|l| (l / 2).max(16) as usize) else {
        return configured;
    };
    if half < configured {
        tracing::info!(target: "kafka.server.KafkaServer", "{} lowered from {configured} to {half}: half the open files limit (RLIMIT_NOFILE)", crate::log::file_cache::OPEN_FILES_MAX_CONFIG);
        return half;
    }
    configured
}

#[cfg(test)]
mod tests {
    use super::segment_files_cap;

    #[test]
    fn segment_files_cap_is_at_most_half_the_limit() {
        assert_eq!(segment_files_cap(1024, Some(1_048_576)), 1024);
        assert_eq!(segment_files_cap(1024, Some(512)), 256);
        assert_eq!(segment_files_cap(1024, None), 1024);
        assert_eq!(segment_files_cap(0, Some(10)), 1);
    }
}
