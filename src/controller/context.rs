//! ControllerContext: the active controller's cached view of the cluster, owned by the event
//! task alone (no locks).

use std::collections::BTreeMap;

use crate::cluster::Broker;

#[derive(Debug, Default)]
pub struct ControllerContext {
    /// This controller's epoch and the zkVersion of `/controller_epoch` that fences its writes.
    pub epoch: i32,
    pub epoch_zk_version: i32,
    /// Live brokers with their broker epochs (czxid of their registration).
    pub live_brokers: BTreeMap<i32, (Broker, i64)>,
}

impl ControllerContext {
    pub fn live_broker_ids(&self) -> Vec<i32> {
        self.live_brokers.keys().copied().collect()
    }

    pub fn broker_epoch(&self, id: i32) -> i64 {
        self.live_brokers.get(&id).map_or(-1, |(_, e)| *e)
    }
}

/// Brokers that appeared, vanished, or re-registered (larger czxid) since the last look.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BrokerDiff {
    pub new: Vec<i32>,
    pub dead: Vec<i32>,
    pub bounced: Vec<i32>,
}

pub fn diff_brokers(
    known: &BTreeMap<i32, (Broker, i64)>,
    current: &BTreeMap<i32, (Broker, i64)>,
) -> BrokerDiff {
    let mut d = BrokerDiff::default();
    for (id, (_, epoch)) in current {
        match known.get(id) {
            None => d.new.push(*id),
            Some((_, old)) if epoch > old => d.bounced.push(*id),
            Some(_) => {}
        }
    }
    d.dead = known
        .keys()
        .filter(|id| !current.contains_key(id))
        .copied()
        .collect();
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(id: i32, epoch: i64) -> (i32, (Broker, i64)) {
        (
            id,
            (
                Broker {
                    id,
                    endpoints: vec![],
                    rack: None,
                },
                epoch,
            ),
        )
    }

    #[test]
    fn diff_detects_new_dead_and_bounced() {
        let known: BTreeMap<_, _> = [b(1, 10), b(2, 20), b(3, 30)].into_iter().collect();
        let current: BTreeMap<_, _> = [b(1, 10), b(3, 35), b(4, 40)].into_iter().collect();
        let d = diff_brokers(&known, &current);
        assert_eq!(
            d,
            BrokerDiff {
                new: vec![4],
                dead: vec![2],
                bounced: vec![3]
            }
        );
    }
}
