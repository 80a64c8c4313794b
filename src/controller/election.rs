//! Leader election strategies (Election.scala): pure functions from a partition's assignment,
//! ISR and the set of online replicas to a new leader and ISR.

/// The result of an election: the new leader and ISR, and whether it was unclean.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Elected {
    pub leader: i32,
    pub isr: Vec<i32>,
    pub unclean: bool,
}

/// OfflinePartitionLeaderElectionStrategy: the first replica in assignment order that is
/// online and in the ISR; with `allow_unclean`, failing that, the first online replica.
pub fn offline_partition_leader(
    assignment: &[i32],
    isr: &[i32],
    online: impl Fn(i32) -> bool,
    allow_unclean: bool,
) -> Option<Elected> {
    let live_isr: Vec<i32> = isr.iter().copied().filter(|r| online(*r)).collect();
    if let Some(&leader) = assignment
        .iter()
        .find(|r| online(**r) && live_isr.contains(r))
    {
        return Some(Elected {
            leader,
            isr: live_isr,
            unclean: false,
        });
    }
    if !allow_unclean {
        return None;
    }
    let leader = *assignment.iter().find(|r| online(**r))?;
    Some(Elected {
        leader,
        isr: vec![leader],
        unclean: true,
    })
}

/// ControlledShutdownPartitionLeaderElectionStrategy: the first assigned replica that is
/// alive, in the ISR and not shutting down; the ISR loses every shutting-down broker.
pub fn controlled_shutdown_leader(
    assignment: &[i32],
    isr: &[i32],
    alive: impl Fn(i32) -> bool,
    shutting_down: impl Fn(i32) -> bool,
) -> Option<Elected> {
    let leader = *assignment
        .iter()
        .find(|r| alive(**r) && isr.contains(r) && !shutting_down(**r))?;
    let isr = isr.iter().copied().filter(|r| !shutting_down(*r)).collect();
    Some(Elected {
        leader,
        isr,
        unclean: false,
    })
}

/// PreferredReplicaPartitionLeaderElectionStrategy: the first assigned replica, only if it is
/// online and in the ISR; the ISR is unchanged.
pub fn preferred_replica_leader(
    assignment: &[i32],
    isr: &[i32],
    online: impl Fn(i32) -> bool,
) -> Option<Elected> {
    let preferred = *assignment.first()?;
    (online(preferred) && isr.contains(&preferred)).then(|| Elected {
        leader: preferred,
        isr: isr.to_vec(),
        unclean: false,
    })
}

/// ReassignPartitionLeaderElectionStrategy: the first target replica that is online and in
/// the ISR; the ISR is unchanged.
pub fn reassign_partition_leader(
    target: &[i32],
    isr: &[i32],
    online: impl Fn(i32) -> bool,
) -> Option<Elected> {
    let leader = *target.iter().find(|r| online(**r) && isr.contains(r))?;
    Some(Elected {
        leader,
        isr: isr.to_vec(),
        unclean: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offline_election_prefers_assignment_order_within_live_isr() {
        let e = offline_partition_leader(&[1, 2, 3], &[3, 2], |r| r != 1, false).unwrap();
        assert_eq!(
            e,
            Elected {
                leader: 2,
                isr: vec![3, 2],
                unclean: false
            }
        );
    }

    #[test]
    fn no_live_isr_means_offline_unless_unclean() {
        assert_eq!(
            offline_partition_leader(&[1, 2, 3], &[1], |r| r != 1, false),
            None
        );
        let e = offline_partition_leader(&[1, 2, 3], &[1], |r| r != 1, true).unwrap();
        assert_eq!(
            e,
            Elected {
                leader: 2,
                isr: vec![2],
                unclean: true
            }
        );
        assert_eq!(offline_partition_leader(&[1], &[1], |_| false, true), None);
    }

    #[test]
    fn controlled_shutdown_moves_away_from_shutting_down_broker() {
        let e = controlled_shutdown_leader(&[1, 2, 3], &[1, 2, 3], |_| true, |r| r == 1).unwrap();
        assert_eq!(
            e,
            Elected {
                leader: 2,
                isr: vec![2, 3],
                unclean: false
            }
        );
        assert_eq!(
            controlled_shutdown_leader(&[1, 2], &[1], |_| true, |r| r == 1),
            None
        );
    }

    #[test]
    fn preferred_replica_needs_to_be_in_isr() {
        assert_eq!(preferred_replica_leader(&[1, 2], &[2], |_| true), None);
        assert_eq!(
            preferred_replica_leader(&[1, 2], &[2, 1], |_| true)
                .unwrap()
                .leader,
            1
        );
    }
}
