//! `zkafka perf partition-states`: every partition state znode of a topic with ZooKeeper's own
//! timestamps, read pipelined on one session, so `scripts/bench.sh` can time elections at
//! 10,000+ partitions from the znodes' mtimes rather than from polling (works the same
//! against a real Kafka's ZooKeeper).
//!
//! Output: one line `topic <ctime_ms>` (the topic znode's creation time), one line
//! `controller <broker id> <ctime_ms>` (or `controller none -`), then per partition
//! `<partition> <leader> <leader_epoch> <isr,comma,separated> <zk_version> <mtime_ms>`,
//! tab-separated; a partition without a state znode prints leader `none` and `-` fields.

use std::time::Duration;

use anyhow::Context as _;
use clap::Args;

use crate::zk::codec::{PartitionState, TopicAssignment};
use crate::zk::{paths, KafkaZkClient};

#[derive(Args, Debug)]
pub struct PartitionStatesArgs {
    /// ZooKeeper connect string, with the cluster's chroot if any.
    #[arg(long, value_name = "HOST:PORT[/CHROOT]")]
    pub zookeeper: String,
    /// The topic whose partition states are printed.
    #[arg(long, value_name = "TOPIC")]
    pub topic: String,
}

pub fn run(args: PartitionStatesArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(print_states(args))
}

async fn print_states(args: PartitionStatesArgs) -> anyhow::Result<()> {
    let timeout = Duration::from_secs(10);
    let zk = KafkaZkClient::connect(&args.zookeeper, timeout, timeout)
        .await
        .with_context(|| format!("cannot connect to ZooKeeper at {}", args.zookeeper))?;
    let result = read_and_print(&zk, &args.topic).await;
    zk.close().await;
    result
}

async fn read_and_print(zk: &KafkaZkClient, topic: &str) -> anyhow::Result<()> {
    let path = paths::topic(topic);
    let (data, stat) = zk
        .get_data(&path)
        .await?
        .with_context(|| format!("no topic znode {path}"))?;
    let assignment = TopicAssignment::decode(&path, &data)?;
    println!("topic\t{}", stat.ctime);
    match zk.get_data(paths::CONTROLLER).await? {
        Some((data, stat)) => {
            let id = crate::zk::codec::decode_controller(paths::CONTROLLER, &data)?;
            println!("controller\t{id}\t{}", stat.ctime);
        }
        None => println!("controller\tnone\t-"),
    }
    let partitions: Vec<i32> = assignment.partitions.keys().copied().collect();
    let reads = partitions.iter().map(|p| {
        let path = paths::partition_state(topic, *p);
        async move { (zk.get_data(&path).await, path) }
    });
    let mut out = String::new();
    for (p, (read, path)) in partitions
        .iter()
        .zip(futures::future::join_all(reads).await)
    {
        let line = match read? {
            None => format!("{p}\tnone\t-\t-\t-\t-\n"),
            Some((data, stat)) => {
                let s = PartitionState::decode(&path, &data, stat.version)?;
                let isr: Vec<String> = s.isr.iter().map(i32::to_string).collect();
                format!(
                    "{p}\t{}\t{}\t{}\t{}\t{}\n",
                    s.leader,
                    s.leader_epoch,
                    isr.join(","),
                    s.zk_version,
                    stat.mtime
                )
            }
        };
        out.push_str(&line);
    }
    print!("{out}");
    Ok(())
}
