//! Java `.properties` parsing, as Kafka reads `server.properties` (java.util.Properties rules).

use std::collections::BTreeMap;

/// Parses the text of a properties file into ordered key/value pairs.
///
/// Supports `#`/`!` comments, `=`, `:` or whitespace separators, backslash line
/// continuations and the usual escapes (`\t`, `\n`, `\uXXXX`, `\\`).
pub fn parse(text: &str) -> BTreeMap<String, String> {
    let mut props = BTreeMap::new();
    for logical in logical_lines(text) {
        let (key, value) = split_key_value(&logical);
        if !key.is_empty() {
            props.insert(unescape(&key), unescape(&value));
        }
    }
    props
}

/// Joins continuation lines and drops comments and blank lines.
fn logical_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current: Option<String> = None;
    for raw in text.lines() {
        let line = raw.trim_start();
        if current.is_none() && (line.is_empty() || line.starts_with('#') || line.starts_with('!'))
        {
            continue;
        }
        let mut piece = current.take().unwrap_or_default();
        let continued = ends_with_odd_backslashes(line);
        piece.push_str(if continued {
            &line[..line.len() - 1]
        } else {
            line
        });
        if continued {
            current = Some(piece);
        } else {
            lines.push(piece);
        }
    }
    if let Some(rest) = current {
        lines.push(rest);
    }
    lines
}

fn ends_with_odd_backslashes(line: &str) -> bool {
    line.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1
}

/// Splits at the first unescaped `=`, `:` or whitespace, as java.util.Properties does.
fn split_key_value(line: &str) -> (String, String) {
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '=' | ':' | ' ' | '\t' | '\x0c' => break,
            _ => i += 1,
        }
    }
    let key: String = chars[..i.min(chars.len())].iter().collect();
    let mut j = i;
    while j < chars.len() && matches!(chars[j], ' ' | '\t' | '\x0c') {
        j += 1;
    }
    if j < chars.len() && matches!(chars[j], '=' | ':') {
        j += 1;
        while j < chars.len() && matches!(chars[j], ' ' | '\t' | '\x0c') {
            j += 1;
        }
    }
    let value: String = chars[j.min(chars.len())..].iter().collect();
    (key, value)
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => out.push_str(&hex),
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn parses_separators_comments_and_continuations() {
        let text = "# comment\n! also\nbroker.id=1\nlisteners : PLAINTEXT://127.0.0.1:9092\n\
                    log.dirs /tmp/a,\\\n    /tmp/b\nempty=\nescaped\\=key=v\\u0041\n";
        let p = parse(text);
        assert_eq!(p["broker.id"], "1");
        assert_eq!(p["listeners"], "PLAINTEXT://127.0.0.1:9092");
        assert_eq!(p["log.dirs"], "/tmp/a,/tmp/b");
        assert_eq!(p["empty"], "");
        assert_eq!(p["escaped=key"], "vA");
        assert_eq!(p.len(), 5);
    }
}
