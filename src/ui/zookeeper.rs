//! What the view shows of ZooKeeper: each ensemble server as its `srvr` four-letter word
//! tells it (mode, zxid, connections; only reachability when 4lw commands are not
//! whitelisted), `/controller` and `/controller_epoch`, and single znodes with data and stat
//! for the browsable tree.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::zk::{paths, reachability, KafkaZkClient};

const TIMEOUT: Duration = Duration::from_secs(1);

/// Every server of the connect string with what `srvr` says about it.
pub async fn ensemble(connect: &str) -> Vec<Value> {
    let (servers, _) = paths::split_chroot(connect);
    let servers = reachability::servers(servers);
    let answers = futures::future::join_all(servers.iter().map(|s| four_letter(s, "srvr"))).await;
    servers
        .iter()
        .zip(answers)
        .map(|(server, answer)| server_json(server, answer))
        .collect()
}

fn server_json(server: &str, answer: Result<String, String>) -> Value {
    match answer {
        Err(e) => json!({"address": server, "reachable": false, "error": e}),
        Ok(text) => {
            let field = |name: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(|v| v.trim_start_matches(':').trim().to_string())
            };
            json!({
                "address": server,
                "reachable": true,
                "mode": field("Mode"),
                "zxid": field("Zxid"),
                "connections": field("Connections"),
                "latency": field("Latency min/avg/max"),
                "node_count": field("Node count"),
                "version": field("Zookeeper version").map(|v| v.split(',').next().unwrap_or("").to_string()),
                "four_letter_words": field("Mode").is_some(),
            })
        }
    }
}

/// Sends a four-letter word and reads the answer until the server closes.
async fn four_letter(server: &str, word: &str) -> Result<String, String> {
    let addr = if server.contains(':') {
        server.to_string()
    } else {
        format!("{server}:2181")
    };
    let exchange = async {
        let mut stream = TcpStream::connect(&addr).await.map_err(|e| e.to_string())?;
        stream
            .write_all(word.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut text = String::new();
        // A server that is not serving (no quorum) may reset instead of answering.
        let _ = stream.read_to_string(&mut text).await;
        Ok(text)
    };
    tokio::time::timeout(TIMEOUT, exchange)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {} ms", TIMEOUT.as_millis())))
}

/// `/controller` (who) and `/controller_epoch` (which term), as the znodes hold them.
pub async fn controller(zk: &KafkaZkClient) -> Value {
    let controller = zk.get_data(paths::CONTROLLER).await.ok().flatten();
    let epoch = zk.get_data(paths::CONTROLLER_EPOCH).await.ok().flatten();
    let parsed: Option<Value> = controller
        .as_ref()
        .and_then(|(d, _)| serde_json::from_slice(d).ok());
    json!({
        "id": parsed.as_ref().and_then(|v| v["brokerid"].as_i64()).unwrap_or(-1),
        "epoch": epoch.as_ref().and_then(|(d, _)| std::str::from_utf8(d).ok()?.trim().parse::<i64>().ok()),
        "epoch_zk_version": epoch.as_ref().map(|(_, s)| s.version),
        "znode": controller.as_ref().map(|(d, _)| String::from_utf8_lossy(d).to_string()),
    })
}

/// One znode for the tree: its data (as text when it is UTF-8), stat and children.
pub async fn znode(zk: &KafkaZkClient, path: &str) -> anyhow::Result<Value> {
    if !path.starts_with('/') || (path.len() > 1 && path.ends_with('/')) {
        anyhow::bail!("{path}: not a znode path (starts with '/', no trailing '/')");
    }
    let Some((data, stat)) = zk.get_data(path).await? else {
        anyhow::bail!("{path}: no such znode");
    };
    let mut children = zk.get_children(path).await?;
    children.sort();
    let text = std::str::from_utf8(&data).ok();
    Ok(json!({
        "path": path,
        "data": text,
        "data_bytes": data.len(),
        "children": children,
        "stat": {
            "czxid": format!("{:#x}", stat.czxid),
            "mzxid": format!("{:#x}", stat.mzxid),
            "pzxid": format!("{:#x}", stat.pzxid),
            "ctime": stat.ctime,
            "mtime": stat.mtime,
            "version": stat.version,
            "cversion": stat.cversion,
            "aversion": stat.aversion,
            "ephemeralOwner": format!("{:#x}", stat.ephemeral_owner),
            "dataLength": stat.data_length,
            "numChildren": stat.num_children,
        },
    }))
}
