//! The authorizer's change listeners (ZkNodeChangeNotificationListener over
//! `/kafka-acl-changes` and `/kafka-acl-extended-changes`): each new `acl_changes_<seq>` names
//! one resource pattern, whose znode is re-read into the cache; notifications older than 15
//! minutes are deleted.

use std::sync::Arc;
use std::time::Duration;

use super::acl::ResourcePattern;
use super::{store, AclAuthorizer};
use crate::zk::acls::{CHANGE_PREFIX, EXTENDED_CHANGES, LITERAL_CHANGES};
use crate::zk::{SessionEvent, ZkResult};

const NOTIFICATION_EXPIRY_MS: i64 = 15 * 60 * 1000;
const LOG: &str = "kafka.common.ZkNodeChangeNotificationListener";

type Decode = fn(&[u8]) -> Option<ResourcePattern>;

/// One listener per change path.
pub fn start(authorizer: Arc<AclAuthorizer>) -> Vec<tokio::task::JoinHandle<()>> {
    let paths: [(&'static str, Decode); 2] = [
        (LITERAL_CHANGES, store::decode_literal_change),
        (EXTENDED_CHANGES, store::decode_extended_change),
    ];
    paths
        .into_iter()
        .map(|(path, decode)| tokio::spawn(listen(authorizer.clone(), path, decode)))
        .collect()
}

async fn listen(authorizer: Arc<AclAuthorizer>, path: &'static str, decode: Decode) {
    let mut sessions = authorizer.zk().subscribe();
    // Every notification present at startup is applied once (a change may have landed
    // between the initial load and this listener).
    let mut last_seq: i64 = -1;
    loop {
        match process(&authorizer, path, decode, &mut last_seq).await {
            Ok(watcher) => tokio::select! {
                _ = watcher.changed() => {}
                Ok(SessionEvent::Initialized) = sessions.recv() => {}
            },
            Err(e) => {
                tracing::warn!(target: LOG, "cannot read {path}: {e}; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

async fn process(
    authorizer: &AclAuthorizer,
    path: &str,
    decode: Decode,
    last_seq: &mut i64,
) -> ZkResult<zookeeper_client::OneshotWatcher> {
    let zk = authorizer.zk();
    let (children, watcher) = zk.get_children_and_watch(path).await?;
    let now = crate::controller::now_ms();
    for child in children {
        let Some(seq) = child
            .strip_prefix(CHANGE_PREFIX)
            .and_then(|s| s.parse::<i64>().ok())
        else {
            continue;
        };
        let znode = format!("{path}/{child}");
        let Some((data, stat)) = zk.get_data(&znode).await? else {
            continue;
        };
        if seq > *last_seq {
            match decode(&data) {
                Some(pattern) => authorizer.refresh(&pattern).await?,
                None => {
                    tracing::warn!(target: LOG, "ignoring undecodable ACL change notification {znode}")
                }
            }
            *last_seq = seq;
        }
        if now - stat.ctime > NOTIFICATION_EXPIRY_MS {
            let _ = zk.client().await?.delete(&znode, None).await;
        }
    }
    Ok(watcher)
}
