//! `zkafka consumer-groups`: kafka-consumer-groups.sh (ConsumerGroupCommand) with
//! `--bootstrap-server`: list, describe (offsets, --members, --state), reset offsets, delete.
//! Output columns are the stock tool's, as observed in shared/reference tools-transcript.txt.

use std::collections::{BTreeMap, BTreeSet};

use super::group_client::{parse_assignment, Cluster};

#[derive(clap::Args, Debug, Default, Clone)]
pub struct ConsumerGroupsArgs {
    /// The server(s) to connect to: host:port[,host:port...]
    #[arg(long = "bootstrap-server", value_name = "server")]
    pub bootstrap_server: Option<String>,
    /// Admin client properties file (security.protocol, sasl.*, ssl.*)
    #[arg(long = "command-config", value_name = "command config property file")]
    pub command_config: Option<String>,
    /// List all consumer groups
    #[arg(long)]
    pub list: bool,
    /// Describe a consumer group and list offset lag
    #[arg(long)]
    pub describe: bool,
    /// Delete the consumer group
    #[arg(long)]
    pub delete: bool,
    /// Reset the group's committed offsets
    #[arg(long = "reset-offsets")]
    pub reset_offsets: bool,
    /// The consumer group
    #[arg(long)]
    pub group: Option<String>,
    /// Describe: the group's members
    #[arg(long)]
    pub members: bool,
    /// Describe: the group's state
    #[arg(long)]
    pub state: bool,
    /// Describe: offsets (the default)
    #[arg(long)]
    pub offsets: bool,
    /// Describe --members: also each member's assignment
    #[arg(long)]
    pub verbose: bool,
    /// Reset: topic[:p1,p2]
    #[arg(long)]
    pub topic: Vec<String>,
    /// Reset: every topic the group has offsets for
    #[arg(long = "all-topics")]
    pub all_topics: bool,
    #[arg(long = "to-earliest")]
    pub to_earliest: bool,
    #[arg(long = "to-latest")]
    pub to_latest: bool,
    #[arg(long = "to-offset", allow_negative_numbers = true)]
    pub to_offset: Option<i64>,
    #[arg(long = "shift-by", allow_negative_numbers = true)]
    pub shift_by: Option<i64>,
    /// Reset to the first offset at or after 'YYYY-MM-DDTHH:mm:SS.sss' (UTC)
    #[arg(long = "to-datetime")]
    pub to_datetime: Option<String>,
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    #[arg(long)]
    pub execute: bool,
}

const MISSING: &str = "-";

/// (consumer id, host, client id) of the member a partition is assigned to.
type Owner = (String, String, String);

/// Runs the tool; returns the exit code.
pub async fn run(args: ConsumerGroupsArgs) -> u8 {
    match run_inner(&args).await {
        Ok(out) => {
            print!("{out}");
            0
        }
        Err(e) => {
            println!("\nError: {e:#}");
            1
        }
    }
}

async fn run_inner(a: &ConsumerGroupsArgs) -> anyhow::Result<String> {
    let actions = [a.list, a.describe, a.delete, a.reset_offsets];
    if actions.iter().filter(|x| **x).count() != 1 {
        anyhow::bail!("Command must include exactly one action: --list, --describe, --delete, --reset-offsets");
    }
    let bootstrap = a
        .bootstrap_server
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("Missing required argument \"[bootstrap-server]\""))?;
    super::command_config::configure_admin(a.command_config.as_deref())?;
    let cluster = Cluster::discover(bootstrap).await?;
    if a.list {
        let mut out = String::new();
        for (g, pt) in cluster.list_groups().await? {
            if pt == "consumer" || pt.is_empty() {
                out.push_str(&g);
                out.push('\n');
            }
        }
        return Ok(out);
    }
    let group = a.group.as_deref().ok_or_else(|| {
        anyhow::anyhow!("Option [{}] takes one argument: --group", action_name(a))
    })?;
    let (coord_id, coord) = cluster.coordinator(group).await?;
    if a.delete {
        return match cluster.delete_group(&coord, group).await? {
            0 => Ok(format!("Deletion of requested consumer groups ('{group}') was successful.\n")),
            code => Ok(format!(
                "Deletion of some consumer groups failed:\n* Group '{group}' could not be deleted due to: {}\n",
                delete_error(code)
            )),
        };
    }
    let desc = cluster.describe(&coord, group).await?;
    let state = desc.group_state.to_string();
    if a.reset_offsets {
        return reset(a, &cluster, &coord, group, &state).await;
    }
    if state == "Dead" {
        return Ok(format!("Consumer group '{group}' does not exist.\n"));
    }
    if a.state {
        let c = format!("{coord} ({coord_id})");
        let w = c.len().max(25);
        let strategy = if desc.protocol_data.is_empty() {
            ""
        } else {
            desc.protocol_data.as_str()
        };
        return Ok(format!(
            "\n{:<w$} {:<25} {:<20} {}\n{:<w$} {:<25} {:<20} {}\n",
            "COORDINATOR (ID)",
            "ASSIGNMENT-STRATEGY",
            "STATE",
            "#MEMBERS",
            c,
            strategy,
            state,
            desc.members.len()
        ));
    }
    let mut out = String::new();
    if desc.members.is_empty() {
        out.push_str(&format!(
            "Consumer group '{group}' has no active members.\n"
        ));
    }
    if a.members {
        if desc.members.is_empty() {
            return Ok(out);
        }
        let rows: Vec<[String; 5]> = desc
            .members
            .iter()
            .map(|m| {
                let asg = parse_assignment(&m.member_assignment);
                let n: usize = asg.values().map(Vec::len).sum();
                let shown = if n == 0 {
                    MISSING.to_string()
                } else {
                    asg.iter()
                        .filter(|(_, ps)| !ps.is_empty())
                        .map(|(t, ps)| {
                            let mut ps = ps.clone();
                            ps.sort();
                            let ps: Vec<String> = ps.iter().map(i32::to_string).collect();
                            format!("{t}({})", ps.join(","))
                        })
                        .collect::<Vec<_>>()
                        .join(",")
                };
                [
                    m.member_id.to_string(),
                    m.client_host.to_string(),
                    m.client_id.to_string(),
                    n.to_string(),
                    shown,
                ]
            })
            .collect();
        let wid = rows.iter().map(|r| r[0].len()).max().unwrap_or(0).max(15);
        let wh = rows.iter().map(|r| r[1].len()).max().unwrap_or(0).max(15);
        let wc = rows.iter().map(|r| r[2].len()).max().unwrap_or(0).max(15);
        let line = |r: [&str; 5]| {
            let mut l = format!("{:<wid$} {:<wh$} {:<wc$} {:<15} ", r[0], r[1], r[2], r[3]);
            if a.verbose {
                l.push_str(r[4]);
            }
            l.push('\n');
            l
        };
        out.push('\n');
        out.push_str(&line([
            "CONSUMER-ID",
            "HOST",
            "CLIENT-ID",
            "#PARTITIONS",
            "ASSIGNMENT",
        ]));
        for r in &rows {
            out.push_str(&line([&r[0], &r[1], &r[2], &r[3], &r[4]]));
        }
        return Ok(out);
    }
    // Offsets: assigned partitions member by member, then partitions with only a commit.
    let committed = cluster.committed(&coord, group).await?;
    let mut rows: Vec<((String, i32), Option<Owner>)> = Vec::new();
    let mut seen = BTreeSet::new();
    for m in &desc.members {
        for (t, ps) in parse_assignment(&m.member_assignment) {
            let mut ps = ps;
            ps.sort();
            for p in ps {
                seen.insert((t.clone(), p));
                let who = (
                    m.member_id.to_string(),
                    m.client_host.to_string(),
                    m.client_id.to_string(),
                );
                rows.push(((t.clone(), p), Some(who)));
            }
        }
    }
    for k in committed.keys().filter(|k| !seen.contains(*k)) {
        rows.push((k.clone(), None));
    }
    let tps: Vec<(String, i32)> = rows.iter().map(|(k, _)| k.clone()).collect();
    let ends = cluster.list_offsets(&tps, -1).await?;
    let cell = |o: Option<i64>| o.map_or(MISSING.to_string(), |v| v.to_string());
    let table: Vec<[String; 8]> = rows
        .into_iter()
        .map(|(k, who)| {
            let cur = committed.get(&k).copied();
            let end = ends.get(&k).copied();
            let lag = cur.zip(end).map(|(c, e)| e - c);
            let (id, host, client) =
                who.unwrap_or_else(|| (MISSING.into(), MISSING.into(), MISSING.into()));
            [
                k.0,
                k.1.to_string(),
                cell(cur),
                cell(end),
                cell(lag),
                id,
                host,
                client,
            ]
        })
        .collect();
    let wt = table.iter().map(|r| r[0].len()).max().unwrap_or(0).max(15);
    let wid = table.iter().map(|r| r[5].len()).max().unwrap_or(0).max(15);
    let wh = table.iter().map(|r| r[6].len()).max().unwrap_or(0).max(15);
    let line = |r: [&str; 8]| {
        format!(
            "{:<wt$} {:<10} {:<15} {:<15} {:<15} {:<wid$} {:<wh$} {}\n",
            r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]
        )
    };
    out.push('\n');
    out.push_str(&line([
        "TOPIC",
        "PARTITION",
        "CURRENT-OFFSET",
        "LOG-END-OFFSET",
        "LAG",
        "CONSUMER-ID",
        "HOST",
        "CLIENT-ID",
    ]));
    for r in &table {
        out.push_str(&line([
            &r[0], &r[1], &r[2], &r[3], &r[4], &r[5], &r[6], &r[7],
        ]));
    }
    Ok(out)
}

fn action_name(a: &ConsumerGroupsArgs) -> &'static str {
    if a.describe {
        "describe"
    } else if a.delete {
        "delete"
    } else {
        "reset-offsets"
    }
}

fn delete_error(code: i16) -> &'static str {
    match code {
        68 => "The group is not empty.",
        69 => "The group id does not exist.",
        16 => "This is not the correct coordinator.",
        15 => "The coordinator is not available.",
        _ => "Unexpected error.",
    }
}

async fn reset(
    a: &ConsumerGroupsArgs,
    cluster: &Cluster,
    coord: &str,
    group: &str,
    state: &str,
) -> anyhow::Result<String> {
    if state != "Empty" && state != "Dead" {
        anyhow::bail!(
            "Assignments can only be reset if the group '{group}' is inactive, but the current state is {state}."
        );
    }
    let committed = cluster.committed(coord, group).await?;
    // Which partitions: --topic t[:p,...] or --all-topics (those with committed offsets).
    let mut tps: Vec<(String, i32)> = Vec::new();
    if a.all_topics {
        tps.extend(committed.keys().cloned());
    }
    for spec in &a.topic {
        match spec.split_once(':') {
            Some((t, ps)) => {
                for p in ps.split(',') {
                    tps.push((t.to_string(), p.trim().parse()?));
                }
            }
            None => {
                let ps = cluster
                    .leaders
                    .get(spec)
                    .ok_or_else(|| anyhow::anyhow!("Topic '{spec}' does not exist"))?;
                tps.extend(ps.keys().map(|p| (spec.clone(), *p)));
            }
        }
    }
    if tps.is_empty() {
        anyhow::bail!("One of the reset scopes should be defined: --all-topics, --topic.");
    }
    let earliest = cluster.list_offsets(&tps, -2).await?;
    let latest = cluster.list_offsets(&tps, -1).await?;
    let clamp = |k: &(String, i32), o: i64| {
        o.clamp(
            earliest.get(k).copied().unwrap_or(0),
            latest.get(k).copied().unwrap_or(i64::MAX),
        )
    };
    let mut target: BTreeMap<(String, i32), i64> = BTreeMap::new();
    if a.to_earliest {
        target = tps
            .iter()
            .filter_map(|k| Some((k.clone(), *earliest.get(k)?)))
            .collect();
    } else if a.to_latest {
        target = tps
            .iter()
            .filter_map(|k| Some((k.clone(), *latest.get(k)?)))
            .collect();
    } else if let Some(o) = a.to_offset {
        target = tps.iter().map(|k| (k.clone(), clamp(k, o))).collect();
    } else if let Some(d) = a.shift_by {
        for k in &tps {
            let cur = committed
                .get(k)
                .copied()
                .or_else(|| latest.get(k).copied())
                .unwrap_or(0);
            target.insert(k.clone(), clamp(k, cur + d));
        }
    } else if let Some(dt) = &a.to_datetime {
        let ts = parse_datetime(dt)?;
        let found = cluster.list_offsets(&tps, ts).await?;
        for k in &tps {
            if let Some(o) = found.get(k).or_else(|| latest.get(k)) {
                target.insert(k.clone(), *o);
            }
        }
    } else {
        anyhow::bail!("Option [reset-offsets] needs one of: --to-earliest, --to-latest, --to-offset, --shift-by, --to-datetime");
    }
    if a.execute {
        cluster.commit(coord, group, &target).await?;
    } else if !a.dry_run {
        eprintln!("WARN: No action will be performed as the --execute option is missing. In a future major release, the default behavior of this command will be to prompt the user before executing the reset rather than doing a dry run. You should add the --dry-run option explicitly if you are scripting this command and want to keep the current default behavior without prompting.");
    }
    let mut out = format!(
        "\n{:<30} {:<10} {:<15}\n",
        "TOPIC", "PARTITION", "NEW-OFFSET"
    );
    for ((t, p), o) in &target {
        out.push_str(&format!("{t:<30} {p:<10} {o:<15}\n"));
    }
    Ok(out)
}

/// 'YYYY-MM-DDTHH:mm:SS[.sss]' as UTC milliseconds since the epoch.
pub fn parse_datetime(s: &str) -> anyhow::Result<i64> {
    let bad = || anyhow::anyhow!("Error parsing timestamp '{s}': expected YYYY-MM-DDTHH:mm:SS.sss");
    let (date, time) = s.split_once('T').ok_or_else(bad)?;
    let d: Vec<i64> = date
        .split('-')
        .map(|x| x.parse())
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    let (hms, ms) = time.split_once('.').unwrap_or((time, "0"));
    let t: Vec<i64> = hms
        .split(':')
        .map(|x| x.parse())
        .collect::<Result<_, _>>()
        .map_err(|_| bad())?;
    if d.len() != 3 || t.len() != 3 {
        return Err(bad());
    }
    let ms: i64 = ms
        .get(..3.min(ms.len()))
        .unwrap_or("0")
        .parse()
        .map_err(|_| bad())?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let (y, m, day) = (if d[1] <= 2 { d[0] - 1 } else { d[0] }, d[1], d[2]);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Ok(((days * 24 + t[0]) * 60 + t[1]) * 60_000 + t[2] * 1000 + ms)
}

#[cfg(test)]
mod tests {
    #[test]
    fn datetime_is_utc_millis() {
        assert_eq!(super::parse_datetime("1970-01-01T00:00:00.000").unwrap(), 0);
        assert_eq!(
            super::parse_datetime("2021-05-03T00:00:00.000").unwrap(),
            1_620_000_000_000
        );
        assert_eq!(
            super::parse_datetime("2021-05-03T01:02:03.456").unwrap(),
            1_620_000_000_000 + 3_723_456
        );
    }
}
