//! Replica assignment for new topics and partitions: Kafka's `AdminUtils.assignReplicasToBrokers`
//! (controller-behaviour.md §9.4), used by `zkafka topics` and by the broker's CreateTopics,
//! auto-creation and CreatePartitions handlers.
//!
//! The placement must match Kafka's exactly (same start index and shift → same assignment),
//! because operators compare `--describe` output and reassignment plans across the two.

use std::collections::{BTreeMap, BTreeSet};

use super::error::{AdminError, AdminResult};

/// A broker as the assignment sees it (Kafka's `BrokerMetadata`): id and optional rack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerMetadata {
    pub id: i32,
    pub rack: Option<String>,
}

impl BrokerMetadata {
    pub fn new(id: i32, rack: Option<&str>) -> BrokerMetadata {
        BrokerMetadata {
            id,
            rack: rack.map(str::to_string),
        }
    }
}

/// Kafka's `RackAwareMode`: how rack information is used when choosing brokers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RackAwareMode {
    /// Use racks; fail if only some brokers have one (the tool's default).
    Enforced,
    /// Ignore racks (`--disable-rack-aware`).
    Disabled,
    /// Use racks only if every broker has one (auto-creation).
    Safe,
}

/// Partition id → replica list (first replica = preferred leader).
pub type Assignment = BTreeMap<i32, Vec<i32>>;

/// Kafka's `AdminZkClient.getBrokerMetadatas` on an already-fetched broker list: applies the
/// rack-aware mode and sorts by id.
pub fn broker_metadatas(
    brokers: &[BrokerMetadata],
    mode: RackAwareMode,
) -> AdminResult<Vec<BrokerMetadata>> {
    let with_rack = brokers.iter().filter(|b| b.rack.is_some()).count();
    let partial = with_rack > 0 && with_rack < brokers.len();
    if mode == RackAwareMode::Enforced && partial {
        return Err(AdminError::Operation(
            "Not all brokers have rack information. Add --disable-rack-aware in command line \
             to make replica assignment without rack information."
                .into(),
        ));
    }
    let drop_racks = mode == RackAwareMode::Disabled
        || (mode == RackAwareMode::Safe && with_rack < brokers.len());
    let mut out: Vec<BrokerMetadata> = brokers
        .iter()
        .map(|b| BrokerMetadata {
            id: b.id,
            rack: if drop_racks { None } else { b.rack.clone() },
        })
        .collect();
    out.sort_by_key(|b| b.id);
    Ok(out)
}

/// Assigns `n_partitions` partitions with `replication_factor` replicas each.
///
/// `fixed_start_index` (when adding partitions) replaces both random draws of Kafka (start
/// index and replica shift); `start_partition_id` is the first new partition's id (the
/// current partition count when adding, 0 for a new topic).
pub fn assign_replicas_to_brokers(
    brokers: &[BrokerMetadata],
    n_partitions: i32,
    replication_factor: i32,
    fixed_start_index: Option<usize>,
    start_partition_id: Option<i32>,
) -> AdminResult<Assignment> {
    check_counts(brokers, n_partitions, replication_factor)?;
    // Kafka draws the start index and the shift independently.
    let n = brokers.len();
    let (start, shift) = match fixed_start_index {
        Some(i) => (i, i),
        None => (rand::random_range(0..n), rand::random_range(0..n)),
    };
    assign_with_start(
        brokers,
        n_partitions,
        replication_factor,
        start,
        shift,
        start_partition_id.unwrap_or(0),
    )
}

/// The deterministic core: `start_index` and `replica_shift` as Kafka's random draws would be.
pub fn assign_with_start(
    brokers: &[BrokerMetadata],
    n_partitions: i32,
    replication_factor: i32,
    start_index: usize,
    replica_shift: usize,
    start_partition_id: i32,
) -> AdminResult<Assignment> {
    check_counts(brokers, n_partitions, replication_factor)?;
    if brokers.iter().all(|b| b.rack.is_none()) {
        let ids: Vec<i32> = brokers.iter().map(|b| b.id).collect();
        return Ok(rack_unaware(
            &ids,
            n_partitions,
            replication_factor,
            start_index,
            replica_shift,
            start_partition_id,
        ));
    }
    if brokers.iter().any(|b| b.rack.is_none()) {
        return Err(AdminError::Operation(
            "Not all brokers have rack information for replica rack aware assignment.".into(),
        ));
    }
    Ok(rack_aware(
        brokers,
        n_partitions,
        replication_factor,
        start_index,
        replica_shift,
        start_partition_id,
    ))
}

fn check_counts(brokers: &[BrokerMetadata], n_partitions: i32, rf: i32) -> AdminResult<()> {
    if n_partitions <= 0 {
        return Err(AdminError::InvalidPartitions(
            "Number of partitions must be larger than 0.".into(),
        ));
    }
    if rf <= 0 {
        return Err(AdminError::InvalidReplicationFactor(
            "Replication factor must be larger than 0.".into(),
        ));
    }
    if rf as usize > brokers.len() {
        return Err(AdminError::InvalidReplicationFactor(format!(
            "Replication factor: {rf} larger than available brokers: {}.",
            brokers.len()
        )));
    }
    Ok(())
}

/// Index of a follower: the first follower sits `1 + shift` after the leader, each further one
/// one step later, never wrapping onto the leader itself.
fn replica_index(first: usize, shift: usize, j: usize, n: usize) -> usize {
    (first + 1 + (shift + j) % (n - 1)) % n
}

fn rack_unaware(
    ids: &[i32],
    n_partitions: i32,
    rf: i32,
    start_index: usize,
    mut shift: usize,
    start_partition_id: i32,
) -> Assignment {
    let n = ids.len();
    let mut out = Assignment::new();
    let first_id = start_partition_id.max(0);
    for p in first_id..first_id + n_partitions {
        // After every full round of leaders, shift the followers so the same leader does not
        // always get the same followers.
        if p > 0 && (p as usize).is_multiple_of(n) {
            shift += 1;
        }
        let first = (p as usize + start_index) % n;
        let mut replicas = vec![ids[first]];
        for j in 0..(rf as usize - 1) {
            replicas.push(ids[replica_index(first, shift, j, n)]);
        }
        out.insert(p, replicas);
    }
    out
}

/// Racks sorted by name, brokers of a rack sorted by id, then one broker per rack in turn
/// (Kafka's `getRackAlternatedBrokerList`).
pub fn rack_alternated_broker_list(brokers: &[BrokerMetadata]) -> Vec<i32> {
    let mut by_rack: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for b in brokers {
        if let Some(rack) = &b.rack {
            by_rack.entry(rack).or_default().push(b.id);
        }
    }
    let mut iters: Vec<std::vec::IntoIter<i32>> = by_rack
        .into_values()
        .map(|mut ids| {
            ids.sort_unstable();
            ids.into_iter()
        })
        .collect();
    let total: usize = iters.iter().map(|i| i.len()).sum();
    let mut out = Vec::with_capacity(total);
    let mut rack = 0;
    while out.len() < total {
        if let Some(id) = iters[rack].next() {
            out.push(id);
        }
        rack = (rack + 1) % iters.len();
    }
    out
}

fn rack_aware(
    brokers: &[BrokerMetadata],
    n_partitions: i32,
    rf: i32,
    start_index: usize,
    mut shift: usize,
    start_partition_id: i32,
) -> Assignment {
    let rack_of: BTreeMap<i32, &str> = brokers
        .iter()
        .filter_map(|b| Some((b.id, b.rack.as_deref()?)))
        .collect();
    let num_racks = rack_of.values().collect::<BTreeSet<_>>().len();
    let list = rack_alternated_broker_list(brokers);
    let n = list.len();
    let mut out = Assignment::new();
    let first_id = start_partition_id.max(0);
    for p in first_id..first_id + n_partitions {
        if p > 0 && (p as usize).is_multiple_of(n) {
            shift += 1;
        }
        let first = (p as usize + start_index) % n;
        let leader = list[first];
        let mut replicas = vec![leader];
        let mut racks_used: BTreeSet<&str> = [rack_of[&leader]].into();
        let mut brokers_used: BTreeSet<i32> = [leader].into();
        let mut k = 0;
        for _ in 0..(rf - 1) {
            loop {
                let broker = list[replica_index(first, shift * num_racks, k, n)];
                let rack = rack_of[&broker];
                k += 1;
                // Prefer racks without a replica until all racks have one, and brokers without
                // one until all brokers have one.
                let rack_ok = !racks_used.contains(rack) || racks_used.len() == num_racks;
                let broker_ok = !brokers_used.contains(&broker) || brokers_used.len() == n;
                if rack_ok && broker_ok {
                    replicas.push(broker);
                    racks_used.insert(rack);
                    brokers_used.insert(broker);
                    break;
                }
            }
        }
        out.insert(p, replicas);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(ids: &[i32]) -> Vec<BrokerMetadata> {
        ids.iter()
            .map(|&id| BrokerMetadata::new(id, None))
            .collect()
    }

    /// The rack map of AdminUtils' doc comment.
    fn doc_racks() -> Vec<BrokerMetadata> {
        [
            (0, "rack1"),
            (1, "rack3"),
            (2, "rack3"),
            (3, "rack2"),
            (4, "rack2"),
            (5, "rack1"),
        ]
        .iter()
        .map(|&(id, r)| BrokerMetadata::new(id, Some(r)))
        .collect()
    }

    fn v(a: &Assignment) -> Vec<Vec<i32>> {
        a.values().cloned().collect()
    }

    #[test]
    fn rack_alternated_list_matches_kafka_doc() {
        assert_eq!(
            rack_alternated_broker_list(&doc_racks()),
            vec![0, 3, 1, 5, 4, 2]
        );
    }

    #[test]
    fn rack_aware_doc_example_with_fixed_start() {
        let a = assign_with_start(&doc_racks(), 7, 3, 0, 0, 0).unwrap();
        assert_eq!(
            v(&a),
            vec![
                vec![0, 3, 1],
                vec![3, 1, 5],
                vec![1, 5, 4],
                vec![5, 4, 2],
                vec![4, 2, 0],
                vec![2, 0, 3],
                // After the first round the followers shift: not 0,3,1 again.
                vec![0, 4, 2],
            ]
        );
    }

    #[test]
    fn rack_unaware_doc_table() {
        // AdminUtils' table: 5 brokers, 10 partitions, RF 3, start index 0 and shift 0.
        let a = assign_with_start(&plain(&[0, 1, 2, 3, 4]), 10, 3, 0, 0, 0).unwrap();
        assert_eq!(a[&0], vec![0, 1, 2]);
        assert_eq!(a[&4], vec![4, 0, 1]);
        assert_eq!(a[&5], vec![0, 2, 3]);
        assert_eq!(a[&9], vec![4, 1, 2]);
    }

    #[test]
    fn observed_kafka_create_and_alter() {
        // Kafka 2.1.1 created t1 (brokers 1,2,3) as 0:[2,1,3] 1:[3,2,1] 2:[1,3,2]
        // (start index 1, shift 1) and added partitions 3..5 with fixed start index 1.
        let b = plain(&[1, 2, 3]);
        let a = assign_with_start(&b, 3, 3, 1, 1, 0).unwrap();
        assert_eq!(v(&a), vec![vec![2, 1, 3], vec![3, 2, 1], vec![1, 3, 2]]);
        let added = assign_replicas_to_brokers(&b, 3, 3, Some(1), Some(3)).unwrap();
        assert_eq!(
            added.into_iter().collect::<Vec<_>>(),
            vec![(3, vec![2, 3, 1]), (4, vec![3, 1, 2]), (5, vec![1, 2, 3])]
        );
    }

    #[test]
    fn leaders_even_and_replicas_distinct() {
        for rf in 1..=5 {
            for start in 0..5 {
                let a =
                    assign_with_start(&plain(&[1, 2, 3, 4, 5]), 20, rf, start, start, 0).unwrap();
                let mut leaders = BTreeMap::new();
                for replicas in a.values() {
                    *leaders.entry(replicas[0]).or_insert(0) += 1;
                    let set: BTreeSet<_> = replicas.iter().collect();
                    assert_eq!(set.len(), rf as usize, "duplicate replica in {replicas:?}");
                }
                assert!(leaders.values().all(|&c| c == 4), "{leaders:?}");
            }
        }
    }

    #[test]
    fn random_start_still_valid() {
        for _ in 0..50 {
            let a = assign_replicas_to_brokers(&doc_racks(), 12, 3, None, None).unwrap();
            assert_eq!(
                a.keys().copied().collect::<Vec<_>>(),
                (0..12).collect::<Vec<_>>()
            );
            for replicas in a.values() {
                let racks: BTreeSet<_> = replicas
                    .iter()
                    .map(|id| doc_racks()[*id as usize].rack.clone())
                    .collect();
                assert_eq!(
                    racks.len(),
                    3,
                    "replicas {replicas:?} do not span all racks"
                );
            }
        }
    }

    #[test]
    fn racks_spanned_when_rf_below_rack_count() {
        let a = assign_with_start(&doc_racks(), 6, 2, 2, 1, 0).unwrap();
        for replicas in a.values() {
            let r0 = &doc_racks()[replicas[0] as usize].rack;
            let r1 = &doc_racks()[replicas[1] as usize].rack;
            assert_ne!(r0, r1, "{replicas:?} on one rack");
        }
    }

    #[test]
    fn errors_carry_kafka_codes() {
        let b = plain(&[1, 2]);
        let e = assign_replicas_to_brokers(&b, 0, 1, None, None).unwrap_err();
        assert_eq!(e.code(), 37);
        assert_eq!(e.to_string(), "Number of partitions must be larger than 0.");
        let e = assign_replicas_to_brokers(&b, 1, 0, None, None).unwrap_err();
        assert_eq!(e.code(), 38);
        let e = assign_replicas_to_brokers(&b, 1, 3, None, None).unwrap_err();
        assert_eq!(e.code(), 38);
        assert_eq!(
            e.to_string(),
            "Replication factor: 3 larger than available brokers: 2."
        );
        let mixed = vec![
            BrokerMetadata::new(1, Some("a")),
            BrokerMetadata::new(2, None),
        ];
        let e = assign_replicas_to_brokers(&mixed, 1, 1, None, None).unwrap_err();
        assert!(e
            .to_string()
            .starts_with("Not all brokers have rack information"));
    }

    #[test]
    fn rack_aware_modes() {
        let mixed = vec![
            BrokerMetadata::new(2, Some("a")),
            BrokerMetadata::new(1, None),
        ];
        assert!(broker_metadatas(&mixed, RackAwareMode::Enforced)
            .unwrap_err()
            .to_string()
            .contains("--disable-rack-aware"));
        let d = broker_metadatas(&mixed, RackAwareMode::Disabled).unwrap();
        assert_eq!(d, plain(&[1, 2]));
        assert_eq!(
            broker_metadatas(&mixed, RackAwareMode::Safe).unwrap(),
            plain(&[1, 2])
        );
        let all = vec![
            BrokerMetadata::new(2, Some("a")),
            BrokerMetadata::new(1, Some("b")),
        ];
        assert_eq!(
            broker_metadatas(&all, RackAwareMode::Safe).unwrap()[0],
            BrokerMetadata::new(1, Some("b"))
        );
    }
}
