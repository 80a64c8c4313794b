//! Every znode decoder fed arbitrary data (a corrupt or hostile ZooKeeper must cost an
//! error, never a panic); what decodes must encode and decode back to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zkafka::zk::codec::{
    decode_cluster_id, decode_config_change, decode_controller, decode_controller_epoch,
    decode_entity_config, decode_isr_change, BrokerRegistration, PartitionState, TopicAssignment,
};

fuzz_target!(|data: &[u8]| {
    let _ = decode_cluster_id("/cluster/id", data);
    let _ = decode_controller("/controller", data);
    let _ = decode_controller_epoch("/controller_epoch", data);
    let _ = decode_config_change(data);
    let _ = decode_isr_change("/isr_change_notification/isr_change_0000000000", data);
    let _ = decode_entity_config("/config/topics/t", data);
    if let Ok(b) = BrokerRegistration::decode(1, "/brokers/ids/1", data) {
        let again = BrokerRegistration::decode(1, "/brokers/ids/1", b.encode().as_bytes())
            .expect("an encoded registration decodes");
        assert_eq!(again.encode(), b.encode());
    }
    if let Ok(t) = TopicAssignment::decode("/brokers/topics/t", data) {
        let again = TopicAssignment::decode("/brokers/topics/t", t.encode().as_bytes())
            .expect("an encoded assignment decodes");
        assert_eq!(again.encode(), t.encode());
    }
    if let Ok(s) = PartitionState::decode("/brokers/topics/t/partitions/0/state", data, 0) {
        let again = PartitionState::decode(
            "/brokers/topics/t/partitions/0/state",
            s.encode().as_bytes(),
            0,
        )
        .expect("an encoded partition state decodes");
        assert_eq!(again.encode(), s.encode());
    }
});
