//! Topic name rules (clients' `Topic.java`): legal characters, length, internal topics and the
//! `.`/`_` collision that Kafka's metric names cannot tell apart.

use super::error::{AdminError, AdminResult};

pub const GROUP_METADATA_TOPIC_NAME: &str = "__consumer_offsets";
pub const TRANSACTION_STATE_TOPIC_NAME: &str = "__transaction_state";
pub const MAX_NAME_LENGTH: usize = 249;

/// Kafka's `Topic.validate`, with its messages (INVALID_TOPIC_EXCEPTION).
pub fn validate_topic_name(topic: &str) -> AdminResult<()> {
    let err = |m: String| Err(AdminError::InvalidTopic(m));
    if topic.is_empty() {
        return err("Topic name is illegal, it can't be empty".into());
    }
    if topic == "." || topic == ".." {
        return err("Topic name cannot be \".\" or \"..\"".into());
    }
    if topic.chars().count() > MAX_NAME_LENGTH {
        return err(format!(
            "Topic name is illegal, it can't be longer than {MAX_NAME_LENGTH} characters, topic name: {topic}"
        ));
    }
    if !topic
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-')
    {
        return err(format!(
            "Topic name \"{topic}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"
        ));
    }
    Ok(())
}

pub fn is_internal(topic: &str) -> bool {
    topic == GROUP_METADATA_TOPIC_NAME || topic == TRANSACTION_STATE_TOPIC_NAME
}

/// The name contains `.` or `_`, so it could collide with another topic's metric names.
pub fn has_collision_chars(topic: &str) -> bool {
    topic.contains('.') || topic.contains('_')
}

/// The two names are equal once `.` and `_` are treated as the same character.
pub fn has_collision(a: &str, b: &str) -> bool {
    a.replace('.', "_") == b.replace('.', "_")
}

/// Kafka's creation-time existence and collision check against the current topic list
/// (`AdminZkClient.validateTopicCreate`), name validation included.
pub fn check_new_topic_name(topic: &str, existing: &[String]) -> AdminResult<()> {
    validate_topic_name(topic)?;
    if existing.iter().any(|t| t == topic) {
        return Err(AdminError::TopicAlreadyExists(format!(
            "Topic '{topic}' already exists."
        )));
    }
    if has_collision_chars(topic) {
        let colliding: Vec<&str> = existing
            .iter()
            .filter(|t| has_collision(topic, t))
            .map(String::as_str)
            .collect();
        if !colliding.is_empty() {
            return Err(AdminError::InvalidTopic(format!(
                "Topic '{topic}' collides with existing topics: {}",
                colliding.join(", ")
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legal_and_illegal_names() {
        for ok in ["t1", "a.b_c-D9", &"x".repeat(249)] {
            assert!(validate_topic_name(ok).is_ok(), "{ok}");
        }
        let msg = |t: &str| validate_topic_name(t).unwrap_err().to_string();
        assert_eq!(msg(""), "Topic name is illegal, it can't be empty");
        assert_eq!(msg(".."), "Topic name cannot be \".\" or \"..\"");
        assert_eq!(msg("."), "Topic name cannot be \".\" or \"..\"");
        assert!(msg(&"x".repeat(250)).contains("can't be longer than 249 characters"));
        assert_eq!(
            msg("a b"),
            "Topic name \"a b\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"
        );
        assert!(validate_topic_name("ä").is_err());
        assert_eq!(validate_topic_name("a/b").unwrap_err().code(), 17);
    }

    #[test]
    fn collisions() {
        let existing = vec!["a.b".to_string(), "other".to_string()];
        let e = check_new_topic_name("a_b", &existing).unwrap_err();
        assert_eq!(e.code(), 17);
        assert_eq!(
            e.to_string(),
            "Topic 'a_b' collides with existing topics: a.b"
        );
        let e = check_new_topic_name("a.b", &existing).unwrap_err();
        assert_eq!(e.code(), 36);
        assert_eq!(e.to_string(), "Topic 'a.b' already exists.");
        assert!(check_new_topic_name("a-b", &existing).is_ok());
        assert!(has_collision_chars("x_y") && !has_collision_chars("x-y"));
        assert!(is_internal("__consumer_offsets") && !is_internal("__other"));
    }
}
