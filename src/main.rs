//! Minimal entry point; the real CLI replaces this at merge.

use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut out = std::io::stdout().lock();
    match args.first().map(String::as_str) {
        Some("dump-log") => {
            let print = args.iter().any(|a| a == "--print-data-log");
            let files: Vec<PathBuf> = args[1..]
                .iter()
                .filter(|a| !a.starts_with("--"))
                .flat_map(|a| a.split(',').map(PathBuf::from).collect::<Vec<_>>())
                .collect();
            zkafka::admin::dump_log::dump_files(&files, print, &mut out)
        }
        Some("bench-log") => {
            let dir = PathBuf::from(
                args.get(1)
                    .map(String::as_str)
                    .unwrap_or("/tmp/zkafka-bench"),
            );
            let total: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1 << 30);
            let batch: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(16 << 10);
            zkafka::log::bench::run_log_bench(&dir, total, batch, &mut out)
        }
        _ => {
            eprintln!("usage: zkafka dump-log [--print-data-log] FILES | bench-log [DIR] [TOTAL_BYTES] [BATCH_BYTES]");
            Ok(())
        }
    }
}
