//! The `zkafka` command: the broker (`server`) and the tools, named after Kafka's scripts.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use zkafka::config::KafkaConfig;
use zkafka::server::KafkaServer;

#[derive(Parser)]
#[command(
    name = "zkafka",
    version,
    about = "A classic, ZooKeeper-coordinated Kafka broker in Rust"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a broker (kafka-server-start.sh): `zkafka server server.properties [--override k=v]...`
    Server {
        /// Path to server.properties
        config: PathBuf,
        /// Override a property, as kafka-server-start.sh's --override does
        #[arg(long = "override", value_name = "KEY=VALUE")]
        overrides: Vec<String>,
    },
    /// Print the contents of log segments and indexes (kafka-dump-log.sh)
    DumpLog {
        /// Comma-separated .log, .index or .timeindex files
        #[arg(long, value_delimiter = ',', required = true)]
        files: Vec<PathBuf>,
        /// Print each record's key and payload
        #[arg(long)]
        print_data_log: bool,
        /// Decode records as __transaction_state transaction metadata (implies --print-data-log)
        #[arg(long)]
        transaction_log_decoder: bool,
    },
    /// Benchmark log appends and reads against the raw disk (prints MB/s and ratios)
    BenchLog {
        /// Directory on the disk to measure
        #[arg(long, default_value = "/tmp/zkafka-bench-log")]
        dir: PathBuf,
        /// Bytes to write in total, in MiB
        #[arg(long, default_value_t = 1024)]
        total_mib: u64,
        /// Batch size in KiB
        #[arg(long, default_value_t = 16)]
        batch_kib: usize,
    },
    /// Create, delete, describe, or change a topic (kafka-topics.sh --zookeeper)
    Topics(zkafka::admin::topics::TopicsArgs),
    /// Describe or alter topic, broker, client and user configs (kafka-configs.sh)
    Configs(zkafka::admin::configs::ConfigsArgs),
    /// Add, remove and list ACLs (kafka-acls.sh)
    Acls(zkafka::admin::acls_cmd::AclsArgs),
    /// List, describe, reset offsets of, or delete consumer groups (kafka-consumer-groups.sh)
    ConsumerGroups(zkafka::admin::consumer_groups::ConsumerGroupsArgs),
    /// Preferred or unclean leader elections through the controller (kafka-leader-election.sh)
    LeaderElection(zkafka::admin::leader_election::LeaderElectionArgs),
    /// Move partitions between brokers (kafka-reassign-partitions.sh)
    ReassignPartitions(zkafka::admin::reassign_partitions::ReassignPartitionsArgs),
    /// Deprecated preferred replica election (kafka-preferred-replica-election.sh)
    PreferredReplicaElection(zkafka::admin::leader_election::PreferredReplicaElectionArgs),
    /// Produce stdin lines as records (kafka-console-producer.sh)
    ConsoleProducer(zkafka::admin::console_producer::ConsoleProducerArgs),
    /// Print a topic's records on stdout (kafka-console-consumer.sh)
    ConsoleConsumer(zkafka::admin::console_consumer::ConsoleConsumerArgs),
    /// Delete records before given offsets (kafka-delete-records.sh)
    DeleteRecords(zkafka::admin::delete_records_cmd::DeleteRecordsArgs),
    /// Describe brokers' log dirs as JSON (kafka-log-dirs.sh)
    LogDirs(zkafka::admin::log_dirs_cmd::LogDirsArgs),
    /// Print each broker's API versions (kafka-broker-api-versions.sh)
    BrokerApiVersions(zkafka::admin::broker_api_versions::BrokerApiVersionsArgs),
    /// Serve the live cluster view: ZooKeeper, brokers, partitions, groups and one narrated
    /// timeline, on http://127.0.0.1:9180/ by default
    Ui(zkafka::ui::UiArgs),
    /// Producer/consumer throughput and latency tools (kafka-producer-perf-test.sh,
    /// kafka-consumer-perf-test.sh) on librdkafka; only in builds with `--features perf`
    #[cfg(feature = "perf")]
    Perf(zkafka::perf::PerfArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    #[cfg(feature = "perf")]
    if let Command::Perf(args) = cli.command {
        // The tools print only their own lines on stdout; librdkafka logs to stderr itself.
        return ExitCode::from(zkafka::perf::run(args));
    }
    if !matches!(
        cli.command,
        Command::Topics(_)
            | Command::Configs(_)
            | Command::Acls(_)
            | Command::ConsumerGroups(_)
            | Command::ConsoleProducer(_)
            | Command::ConsoleConsumer(_)
            | Command::DeleteRecords(_)
            | Command::LogDirs(_)
            | Command::BrokerApiVersions(_)
            | Command::LeaderElection(_)
            | Command::ReassignPartitions(_)
            | Command::PreferredReplicaElection(_)
    ) {
        zkafka::logging::init();
    }
    match cli.command {
        Command::Server { config, overrides } => run_server(config, overrides),
        Command::DumpLog {
            files,
            print_data_log,
            transaction_log_decoder,
        } => {
            use zkafka::admin::dump_log::{dump_files_decoded, DumpFormat, RecordDecoder};
            let decoder = match transaction_log_decoder {
                true => RecordDecoder::TransactionLog,
                false => RecordDecoder::String,
            };
            report(dump_files_decoded(
                &files,
                print_data_log,
                DumpFormat::Kafka21,
                decoder,
                &mut std::io::stdout().lock(),
            ))
        }
        Command::BenchLog {
            dir,
            total_mib,
            batch_kib,
        } => report(zkafka::log::bench::run_log_bench(
            &dir,
            total_mib << 20,
            batch_kib << 10,
            &mut std::io::stdout().lock(),
        )),
        Command::Topics(args) => run_tool(zkafka::admin::topics::run(args)),
        Command::Configs(args) => run_tool(zkafka::admin::configs::run(args)),
        Command::Acls(args) => run_tool(zkafka::admin::acls_cmd::run(args)),
        Command::ConsumerGroups(args) => run_tool(zkafka::admin::consumer_groups::run(args)),
        Command::ConsoleProducer(args) => run_tool(zkafka::admin::console_producer::run(args)),
        Command::ConsoleConsumer(args) => run_tool(zkafka::admin::console_consumer::run(args)),
        Command::DeleteRecords(args) => run_tool(zkafka::admin::delete_records_cmd::run(args)),
        Command::LogDirs(args) => run_tool(zkafka::admin::log_dirs_cmd::run(args)),
        Command::BrokerApiVersions(args) => run_tool(zkafka::admin::broker_api_versions::run(args)),
        Command::Ui(args) => run_ui(args),
        Command::LeaderElection(args) => run_tool(zkafka::admin::leader_election::run(args)),
        Command::ReassignPartitions(args) => {
            run_tool(zkafka::admin::reassign_partitions::run(args))
        }
        Command::PreferredReplicaElection(args) => {
            run_tool(zkafka::admin::leader_election::run_preferred(args))
        }
        #[cfg(feature = "perf")]
        Command::Perf(_) => unreachable!("handled above"),
    }
}

fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zkafka: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Runs a tool. It prints its own messages as Kafka's tools do; log lines (ours and the
/// libraries') go to stderr only when `ZKAFKA_LOG` asks for them.
fn run_tool(tool: impl std::future::Future<Output = u8>) -> ExitCode {
    zkafka::logging::init_for_tool();
    die_quietly_on_closed_pipe();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let code = runtime.block_on(tool);
    // Dropping the runtime would wait for blocking tasks such as a host name lookup that no
    // one needs any more (a slow DNS server held the tool 5 s after its output).
    runtime.shutdown_background();
    ExitCode::from(code)
}

/// `zkafka topics --describe | head -1`: a tool whose reader went away ends as Unix tools do
/// (Rust ignores SIGPIPE, so the next `println!` would panic). Sockets are unaffected: Rust
/// writes to them with MSG_NOSIGNAL. Never for the broker.
fn die_quietly_on_closed_pipe() {
    // SAFETY: restoring a signal's default disposition before any thread is started.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// The view logs at info like the broker (quickstart keeps it in data/logs/ui.log); one
/// thread is plenty for a page or two.
fn run_ui(args: zkafka::ui::UiArgs) -> ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async move {
        tokio::select! {
            code = zkafka::ui::run(args) => ExitCode::from(code),
            _ = wait_for_shutdown_signal() => ExitCode::SUCCESS,
        }
    })
}

fn run_server(path: PathBuf, overrides: Vec<String>) -> ExitCode {
    let config = match KafkaConfig::load(&path, &overrides) {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "zkafka: invalid broker configuration in {}: {e}",
                path.display()
            );
            return ExitCode::from(1);
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(async move {
        let server = match KafkaServer::startup(config).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(target: "kafka.server.KafkaServer", "Fatal error during KafkaServer startup. Prepare to shutdown: {e:#}");
                return ExitCode::from(1);
            }
        };
        wait_for_shutdown_signal().await;
        server.shutdown().await;
        ExitCode::SUCCESS
    })
}

async fn wait_for_shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("SIGINT handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
