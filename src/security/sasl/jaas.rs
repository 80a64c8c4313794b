//! JAAS configuration text as Kafka reads it from `sasl.jaas.config` (JaasConfig.java):
//! `<LoginModule class> <flag> key="value" ...;`. Only the options matter here: PLAIN's
//! `user_<name>="<password>"` entries and the broker's own `username`/`password`.

use std::collections::BTreeMap;

/// One login module entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct JaasEntry {
    pub login_module: String,
    pub options: BTreeMap<String, String>,
}

/// Parses a single-entry JAAS config; the error names what is wrong (the caller names the key).
pub fn parse(text: &str) -> Result<JaasEntry, String> {
    let body = text.trim();
    let body = body
        .strip_suffix(';')
        .ok_or("JAAS config entry not terminated by semi-colon")?;
    let mut tokens = Tokens(body.trim());
    let login_module = tokens
        .word()
        .ok_or("JAAS config entry has no login module")?;
    let flag = tokens
        .word()
        .ok_or("JAAS config entry has no control flag")?;
    if !["required", "requisite", "sufficient", "optional"].contains(&flag.as_str()) {
        return Err(format!("Invalid control flag '{flag}'"));
    }
    let mut options = BTreeMap::new();
    while !tokens.0.is_empty() {
        let key = tokens.until('=').ok_or("JAAS option without '='")?;
        let value = tokens.value()?;
        options.insert(key, value);
    }
    Ok(JaasEntry {
        login_module,
        options,
    })
}

struct Tokens<'a>(&'a str);

impl Tokens<'_> {
    fn word(&mut self) -> Option<String> {
        let s = self.0.trim_start();
        let end = s.find(char::is_whitespace).unwrap_or(s.len());
        let (w, rest) = s.split_at(end);
        self.0 = rest.trim_start();
        (!w.is_empty()).then(|| w.to_string())
    }

    fn until(&mut self, c: char) -> Option<String> {
        let (k, rest) = self.0.split_once(c)?;
        self.0 = rest.trim_start();
        let k = k.trim();
        (!k.is_empty() && !k.contains(char::is_whitespace)).then(|| k.to_string())
    }

    /// A quoted (`"..."`, backslash escapes) or bare value.
    fn value(&mut self) -> Result<String, String> {
        let s = self.0;
        if let Some(quoted) = s.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = quoted.char_indices();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => out.extend(chars.next().map(|(_, c)| c)),
                    '"' => {
                        self.0 = quoted[i + 1..].trim_start();
                        return Ok(out);
                    }
                    c => out.push(c),
                }
            }
            return Err("JAAS option value has no closing quote".into());
        }
        self.word()
            .ok_or_else(|| "JAAS option without a value".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_login_module_with_users() {
        let e = parse(
            r#"org.apache.kafka.common.security.plain.PlainLoginModule required
               username="admin" password="admin-secret" user_admin="admin-secret" user_alice=alice-pw;"#,
        )
        .unwrap();
        assert_eq!(
            e.login_module,
            "org.apache.kafka.common.security.plain.PlainLoginModule"
        );
        assert_eq!(e.options["username"], "admin");
        assert_eq!(e.options["user_alice"], "alice-pw");
        assert_eq!(e.options.len(), 4);
    }

    #[test]
    fn rejects_malformed_entries() {
        assert!(parse("X required a=\"b\"").is_err());
        assert!(parse("X sometimes;").is_err());
        assert!(parse("X required a=\"b;").is_err());
        assert!(parse(";").is_err());
    }
}
