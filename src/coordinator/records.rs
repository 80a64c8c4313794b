//! The key/value schemas of `__consumer_offsets` records (GroupMetadataManager.scala and the
//! 2.8 `OffsetCommitKey/Value`, `GroupMetadataKey/Value` schemas), byte for byte, so Kafka's
//! own tools (`kafka-dump-log.sh --offsets-decoder`, the OffsetsMessageFormatter) read what we
//! write and we read what Kafka wrote. Classic (non-flexible) encoding: int16 version first,
//! strings as int16 length + UTF-8, bytes as int32 length, arrays as int32 count.

/// Key version 1: an offset commit (what 2.x writes; 0 is the same layout).
pub const OFFSET_COMMIT_KEY_VERSION: i16 = 1;
/// Key version 2: group metadata.
pub const GROUP_METADATA_KEY_VERSION: i16 = 2;
/// Value versions written at IBP 2.8: offsets v3 (v1 when an explicit expire time is set),
/// group metadata v3.
pub const OFFSET_VALUE_VERSION: i16 = 3;
pub const OFFSET_VALUE_VERSION_WITH_EXPIRE: i16 = 1;
pub const GROUP_VALUE_VERSION: i16 = 3;

/// A decoded record key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordKey {
    Offset {
        group: String,
        topic: String,
        partition: i32,
    },
    Group {
        group: String,
    },
}

/// A committed offset (OffsetAndMetadata.scala).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetAndMetadata {
    pub offset: i64,
    /// None is stored as -1.
    pub leader_epoch: Option<i32>,
    pub metadata: String,
    pub commit_timestamp: i64,
    /// Only for commits with an explicit retention (OffsetCommit v2–v4) or loaded from a v1 value.
    pub expire_timestamp: Option<i64>,
}

/// One member as stored in a group metadata value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemberRecord {
    pub member_id: String,
    pub group_instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout: i32,
    pub session_timeout: i32,
    pub subscription: Vec<u8>,
    pub assignment: Vec<u8>,
}

/// A group metadata value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupRecord {
    pub protocol_type: String,
    pub generation: i32,
    pub protocol: Option<String>,
    pub leader: Option<String>,
    /// -1 when unknown (values before v2).
    pub current_state_timestamp: i64,
    pub members: Vec<MemberRecord>,
}

// ------------------------------------------------------------------ writing

struct Writer(Vec<u8>);

impl Writer {
    fn i16(&mut self, v: i16) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn i32(&mut self, v: i32) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn i64(&mut self, v: i64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    fn string(&mut self, s: &str) -> &mut Self {
        self.i16(s.len() as i16);
        self.0.extend_from_slice(s.as_bytes());
        self
    }
    fn nullable_string(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.string(s),
            None => self.i16(-1),
        }
    }
    fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.i32(b.len() as i32);
        self.0.extend_from_slice(b);
        self
    }
}

pub fn offset_commit_key(group: &str, topic: &str, partition: i32) -> Vec<u8> {
    let mut w = Writer(Vec::new());
    w.i16(OFFSET_COMMIT_KEY_VERSION)
        .string(group)
        .string(topic)
        .i32(partition);
    w.0
}

pub fn group_metadata_key(group: &str) -> Vec<u8> {
    let mut w = Writer(Vec::new());
    w.i16(GROUP_METADATA_KEY_VERSION).string(group);
    w.0
}

/// v3, or v1 when the commit carries an explicit expire timestamp (only v1 can hold one).
pub fn offset_commit_value(o: &OffsetAndMetadata) -> Vec<u8> {
    let mut w = Writer(Vec::new());
    match o.expire_timestamp {
        Some(expire) => {
            w.i16(OFFSET_VALUE_VERSION_WITH_EXPIRE)
                .i64(o.offset)
                .string(&o.metadata)
                .i64(o.commit_timestamp)
                .i64(expire);
        }
        None => {
            w.i16(OFFSET_VALUE_VERSION)
                .i64(o.offset)
                .i32(o.leader_epoch.unwrap_or(-1))
                .string(&o.metadata)
                .i64(o.commit_timestamp);
        }
    }
    w.0
}

/// Group metadata value v3.
pub fn group_metadata_value(g: &GroupRecord) -> Vec<u8> {
    let mut w = Writer(Vec::new());
    w.i16(GROUP_VALUE_VERSION)
        .string(&g.protocol_type)
        .i32(g.generation)
        .nullable_string(g.protocol.as_deref())
        .nullable_string(g.leader.as_deref())
        .i64(g.current_state_timestamp)
        .i32(g.members.len() as i32);
    for m in &g.members {
        w.string(&m.member_id)
            .nullable_string(m.group_instance_id.as_deref())
            .string(&m.client_id)
            .string(&m.client_host)
            .i32(m.rebalance_timeout)
            .i32(m.session_timeout)
            .bytes(&m.subscription)
            .bytes(&m.assignment);
    }
    w.0
}

// ------------------------------------------------------------------ reading

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).ok_or("length overflow")?;
        let s = self
            .b
            .get(self.at..end)
            .ok_or_else(|| format!("record ends at {} but {end} bytes are needed", self.b.len()))?;
        self.at = end;
        Ok(s)
    }
    fn i16(&mut self) -> Result<i16, String> {
        Ok(i16::from_be_bytes(self.take(2)?.try_into().expect("2")))
    }
    fn i32(&mut self) -> Result<i32, String> {
        Ok(i32::from_be_bytes(self.take(4)?.try_into().expect("4")))
    }
    fn i64(&mut self) -> Result<i64, String> {
        Ok(i64::from_be_bytes(self.take(8)?.try_into().expect("8")))
    }
    fn nullable_string(&mut self) -> Result<Option<String>, String> {
        let len = self.i16()?;
        if len < 0 {
            return Ok(None);
        }
        let raw = self.take(len as usize)?;
        String::from_utf8(raw.to_vec())
            .map(Some)
            .map_err(|_| "string is not UTF-8".to_string())
    }
    fn string(&mut self) -> Result<String, String> {
        self.nullable_string()?
            .ok_or_else(|| "null in a non-nullable string".to_string())
    }
    fn bytes(&mut self) -> Result<Vec<u8>, String> {
        let len = self.i32()?;
        if len < 0 {
            return Ok(Vec::new());
        }
        Ok(self.take(len as usize)?.to_vec())
    }
}

pub fn read_key(b: &[u8]) -> Result<RecordKey, String> {
    let mut r = Reader { b, at: 0 };
    match r.i16()? {
        0 | 1 => Ok(RecordKey::Offset {
            group: r.string()?,
            topic: r.string()?,
            partition: r.i32()?,
        }),
        2 => Ok(RecordKey::Group { group: r.string()? }),
        v => Err(format!("unknown __consumer_offsets key version {v}")),
    }
}

pub fn read_offset_value(b: &[u8]) -> Result<OffsetAndMetadata, String> {
    let mut r = Reader { b, at: 0 };
    let version = r.i16()?;
    let offset = r.i64()?;
    let (leader_epoch, metadata) = match version {
        3 => {
            let e = r.i32()?;
            ((e >= 0).then_some(e), r.string()?)
        }
        0..=2 => (None, r.string()?),
        v => return Err(format!("unknown offset commit value version {v}")),
    };
    let commit_timestamp = r.i64()?;
    let expire_timestamp = if version == 1 { Some(r.i64()?) } else { None };
    Ok(OffsetAndMetadata {
        offset,
        leader_epoch,
        metadata,
        commit_timestamp,
        expire_timestamp,
    })
}

pub fn read_group_value(b: &[u8]) -> Result<GroupRecord, String> {
    let mut r = Reader { b, at: 0 };
    let version = r.i16()?;
    if !(0..=3).contains(&version) {
        return Err(format!("unknown group metadata value version {version}"));
    }
    let protocol_type = r.string()?;
    let generation = r.i32()?;
    let protocol = r.nullable_string()?;
    let leader = r.nullable_string()?;
    let current_state_timestamp = if version >= 2 { r.i64()? } else { -1 };
    let count = r.i32()?;
    let mut members = Vec::with_capacity(count.clamp(0, 1024) as usize);
    for _ in 0..count.max(0) {
        let member_id = r.string()?;
        let group_instance_id = if version >= 3 {
            r.nullable_string()?
        } else {
            None
        };
        let client_id = r.string()?;
        let client_host = r.string()?;
        let (rebalance_timeout, session_timeout) = if version == 0 {
            let s = r.i32()?;
            (s, s)
        } else {
            (r.i32()?, r.i32()?)
        };
        members.push(MemberRecord {
            member_id,
            group_instance_id,
            client_id,
            client_host,
            rebalance_timeout,
            session_timeout,
            subscription: r.bytes()?,
            assignment: r.bytes()?,
        });
    }
    Ok(GroupRecord {
        protocol_type,
        generation,
        protocol,
        leader,
        current_state_timestamp,
        members,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte-level example of the reference (§8.3).
    #[test]
    fn offset_commit_matches_kafka_bytes() {
        let key = offset_commit_key("g", "t", 0);
        assert_eq!(key, [0, 1, 0, 1, b'g', 0, 1, b't', 0, 0, 0, 0]);
        let value = offset_commit_value(&OffsetAndMetadata {
            offset: 42,
            leader_epoch: Some(5),
            metadata: String::new(),
            commit_timestamp: 1_620_000_000_000,
            expire_timestamp: None,
        });
        let expected = [
            0, 3, 0, 0, 0, 0, 0, 0, 0, 0x2A, 0, 0, 0, 5, 0, 0, 0, 0, 1, 0x79, 0x2F, 0x86, 0x48, 0,
        ];
        assert_eq!(value, expected);
        assert_eq!(group_metadata_key("g"), [0, 2, 0, 1, b'g']);
        assert_eq!(
            read_key(&key).unwrap(),
            RecordKey::Offset {
                group: "g".into(),
                topic: "t".into(),
                partition: 0
            }
        );
        assert_eq!(read_offset_value(&value).unwrap().offset, 42);
    }

    #[test]
    fn offset_value_with_expire_is_v1_and_round_trips() {
        let o = OffsetAndMetadata {
            offset: 7,
            leader_epoch: None,
            metadata: "m".into(),
            commit_timestamp: 10,
            expire_timestamp: Some(20),
        };
        let v = offset_commit_value(&o);
        assert_eq!(&v[..2], &[0, 1]);
        assert_eq!(read_offset_value(&v).unwrap(), o);
    }

    #[test]
    fn group_value_round_trips() {
        let g = GroupRecord {
            protocol_type: "consumer".into(),
            generation: 3,
            protocol: Some("range".into()),
            leader: Some("m1".into()),
            current_state_timestamp: 99,
            members: vec![MemberRecord {
                member_id: "m1".into(),
                group_instance_id: Some("i1".into()),
                client_id: "c".into(),
                client_host: "/127.0.0.1".into(),
                rebalance_timeout: 300000,
                session_timeout: 10000,
                subscription: vec![1, 2],
                assignment: vec![3],
            }],
        };
        assert_eq!(read_group_value(&group_metadata_value(&g)).unwrap(), g);
        // An empty group: null protocol and leader.
        let empty = GroupRecord {
            protocol_type: "consumer".into(),
            generation: 4,
            current_state_timestamp: 5,
            ..Default::default()
        };
        let v = group_metadata_value(&empty);
        assert_eq!(&v[..2], &[0, 3]);
        assert_eq!(read_group_value(&v).unwrap(), empty);
    }

    #[test]
    fn reads_v0_group_values_with_rebalance_timeout_from_session_timeout() {
        let mut w = Writer(Vec::new());
        w.i16(0)
            .string("consumer")
            .i32(1)
            .nullable_string(Some("range"))
            .nullable_string(Some("m"))
            .i32(1);
        w.string("m")
            .string("c")
            .string("/h")
            .i32(6000)
            .bytes(&[])
            .bytes(&[]);
        let g = read_group_value(&w.0).unwrap();
        assert_eq!(g.members[0].rebalance_timeout, 6000);
        assert_eq!(g.current_state_timestamp, -1);
    }
}
