//! SASL/PLAIN (RFC 4616) as Kafka's PlainSaslServer checks it against the JAAS
//! `user_<name>` options of the listener.

use std::collections::BTreeMap;

use subtle::ConstantTimeEq;

use super::SaslFailure;

fn failed(why: &str) -> SaslFailure {
    SaslFailure::Authentication(format!("Authentication failed: {why}"))
}

/// Checks the one client token `[authzid] NUL authcid NUL password`; returns the username.
pub fn authenticate(token: &[u8], users: &BTreeMap<String, String>) -> Result<String, SaslFailure> {
    let text = std::str::from_utf8(token)
        .map_err(|_| SaslFailure::Internal("PLAIN token is not UTF-8".into()))?;
    let parts: Vec<&str> = text.split('\0').collect();
    let [authzid, username, password] = parts[..] else {
        return Err(SaslFailure::Internal(
            "Invalid SASL/PLAIN response: expected 3 tokens".into(),
        ));
    };
    if username.is_empty() {
        return Err(failed("username not specified"));
    }
    if password.is_empty() {
        return Err(failed("password not specified"));
    }
    let known = users
        .get(username)
        .is_some_and(|expected| bool::from(expected.as_bytes().ct_eq(password.as_bytes())));
    if !known {
        return Err(failed("Invalid username or password"));
    }
    if !authzid.is_empty() && authzid != username {
        return Err(failed(
            "Client requested an authorization id that is different from username",
        ));
    }
    Ok(username.to_string())
}

/// The client's token for `username`/`password`.
pub fn client_token(username: &str, password: &str) -> Vec<u8> {
    format!("\0{username}\0{password}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_users_and_messages() {
        let users = BTreeMap::from([("alice".to_string(), "pw".to_string())]);
        assert_eq!(
            authenticate(&client_token("alice", "pw"), &users).unwrap(),
            "alice"
        );
        let msg = |t: &[u8]| match authenticate(t, &users).unwrap_err() {
            SaslFailure::Authentication(m) | SaslFailure::Internal(m) => m,
        };
        assert_eq!(
            msg(&client_token("alice", "no")),
            "Authentication failed: Invalid username or password"
        );
        assert_eq!(
            msg(&client_token("bob", "pw")),
            "Authentication failed: Invalid username or password"
        );
        assert_eq!(
            msg(&client_token("", "pw")),
            "Authentication failed: username not specified"
        );
        assert_eq!(msg(b"bob\0alice\0pw"), "Authentication failed: Client requested an authorization id that is different from username");
        assert!(authenticate(b"\0only-two", &users).is_err());
        assert!(authenticate(b"\xff\0a\0b", &users).is_err());
    }
}
