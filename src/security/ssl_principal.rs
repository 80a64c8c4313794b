//! The principal of a TLS client certificate, as Kafka's DefaultKafkaPrincipalBuilder makes it:
//! the subject DN as Java's `X500Principal.getName()` prints it (RFC 2253: last RDN first,
//! `CN=alice,OU=eng,O=acme`), mapped through `ssl.principal.mapping.rules`
//! (SslPrincipalMapper: `DEFAULT` and `RULE:pattern/replacement/[LU]`).

use regex::Regex;
use x509_cert::der::{Decode, Encode, Tag, Tagged};

use super::KafkaPrincipal;

/// One `ssl.principal.mapping.rules` entry.
#[derive(Debug)]
enum Rule {
    /// The DN as it is.
    Default,
    /// The DN rewritten when it matches `pattern` in full, optionally lower- or upper-cased.
    Rewrite {
        pattern: Regex,
        whole: Regex,
        replacement: String,
        case: Option<char>,
    },
}

/// `ssl.principal.mapping.rules`, tried in order; the first rule that applies names the user.
#[derive(Debug)]
pub struct SslPrincipalMapper {
    rules: Vec<Rule>,
}

impl SslPrincipalMapper {
    pub fn parse(text: &str) -> Result<SslPrincipalMapper, String> {
        let mut rules = Vec::new();
        // Java's `$1` is the regex crate's `${1}` (`$1a` would name a group "1a").
        let java_group = Regex::new(r"\$(\d+)").expect("constant regex");
        let mut rest = text.trim();
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix("DEFAULT") {
                rules.push(Rule::Default);
                rest = r;
            } else if let Some(r) = rest.strip_prefix("RULE:") {
                let (pattern, r) = until_slash(r).ok_or("RULE without a replacement")?;
                let (replacement, r) = until_slash(r).ok_or("RULE without a closing '/'")?;
                let case = r.chars().next().filter(|c| *c == 'L' || *c == 'U');
                rest = &r[case.map_or(0, |_| 1)..];
                let whole = Regex::new(&format!("^(?:{pattern})$")).map_err(|e| e.to_string())?;
                let pattern = Regex::new(&pattern).map_err(|e| e.to_string())?;
                let replacement = java_group
                    .replace_all(&replacement, "$${${1}}")
                    .into_owned();
                rules.push(Rule::Rewrite {
                    pattern,
                    whole,
                    replacement,
                    case,
                });
            } else {
                return Err(format!("Invalid rule: {rest}"));
            }
            rest = rest.trim_start().trim_start_matches(',').trim_start();
        }
        Ok(SslPrincipalMapper { rules })
    }

    /// The user name for a DN, or an error when no rule applies (authentication then fails).
    pub fn name(&self, dn: &str) -> Result<String, String> {
        for rule in &self.rules {
            match rule {
                Rule::Default => return Ok(dn.to_string()),
                Rule::Rewrite {
                    pattern,
                    whole,
                    replacement,
                    case,
                } if whole.is_match(dn) => {
                    let out = pattern.replace_all(dn, replacement.as_str()).into_owned();
                    return Ok(match case {
                        Some('L') => out.to_lowercase(),
                        Some('U') => out.to_uppercase(),
                        _ => out,
                    });
                }
                Rule::Rewrite { .. } => {}
            }
        }
        Err(format!("No rules apply to {dn}, rules {:?}", self.rules))
    }
}

/// Up to the next unescaped '/', and what follows it.
fn until_slash(s: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                let (_, next) = chars.next()?;
                if next != '/' {
                    out.push('\\');
                }
                out.push(next);
            }
            '/' => return Some((out, &s[i + 1..])),
            c => out.push(c),
        }
    }
    None
}

/// `User:<mapped DN>` for a DER client certificate.
pub fn principal_from_certificate(
    der: &[u8],
    mapper: &SslPrincipalMapper,
) -> Result<KafkaPrincipal, String> {
    let cert = x509_cert::Certificate::from_der(der)
        .map_err(|e| format!("unreadable client certificate: {e}"))?;
    let dn = rfc2253(&cert.tbs_certificate.subject);
    Ok(KafkaPrincipal::user(&mapper.name(&dn)?))
}

/// Attribute keywords RFC 2253 defines (and Java prints by name); others print as a dotted
/// OID with the value's DER in hex.
fn keyword(oid: &str) -> Option<&'static str> {
    Some(match oid {
        "2.5.4.3" => "CN",
        "2.5.4.6" => "C",
        "2.5.4.7" => "L",
        "2.5.4.8" => "ST",
        "2.5.4.10" => "O",
        "2.5.4.11" => "OU",
        "2.5.4.9" => "STREET",
        "0.9.2342.19200300.100.1.25" => "DC",
        "0.9.2342.19200300.100.1.1" => "UID",
        _ => return None,
    })
}

/// A distinguished name in RFC 2253 form: RDNs last to first, `+` inside a multi-valued RDN.
pub fn rfc2253(name: &x509_cert::name::Name) -> String {
    let rdns: Vec<String> = name
        .0
        .iter()
        .rev()
        .map(|rdn| {
            let atvs: Vec<String> = rdn.0.iter().map(attribute).collect();
            atvs.join("+")
        })
        .collect();
    rdns.join(",")
}

fn attribute(atv: &x509_cert::attr::AttributeTypeAndValue) -> String {
    let oid = atv.oid.to_string();
    let text = match atv.value.tag() {
        Tag::Utf8String
        | Tag::PrintableString
        | Tag::Ia5String
        | Tag::TeletexString
        | Tag::VisibleString => std::str::from_utf8(atv.value.value()).ok(),
        _ => None,
    };
    match (keyword(&oid), text) {
        (Some(k), Some(v)) => format!("{k}={}", escape(v)),
        (k, _) => {
            let der = atv.value.to_der().unwrap_or_default();
            let hex: String = der.iter().map(|b| format!("{b:02x}")).collect();
            format!("{}=#{hex}", k.map_or(oid.clone(), str::to_string))
        }
    }
}

/// RFC 2253 §2.4 escaping.
fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let last = v.chars().count().saturating_sub(1);
    for (i, c) in v.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn dn(text_rfc4514: &str) -> String {
        rfc2253(&x509_cert::name::Name::from_str(text_rfc4514).unwrap())
    }

    #[test]
    fn dn_prints_as_java_rfc2253() {
        // from_str takes RFC 4514 text (most significant last), so the order round-trips.
        assert_eq!(
            dn("CN=alice,OU=eng,O=acme,C=GB"),
            "CN=alice,OU=eng,O=acme,C=GB"
        );
        assert_eq!(dn("CN=a\\,b,O=x"), "CN=a\\,b,O=x");
        assert_eq!(dn("CN=a+UID=7,O=x"), "CN=a+UID=7,O=x");
    }

    #[test]
    fn default_rule_keeps_the_dn() {
        let m = SslPrincipalMapper::parse("DEFAULT").unwrap();
        assert_eq!(m.name("CN=alice,OU=eng").unwrap(), "CN=alice,OU=eng");
    }

    #[test]
    fn rules_rewrite_in_order_with_case() {
        let m = SslPrincipalMapper::parse(
            "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L, RULE:^CN=([^,]*),O=(.*)$/$1@$2/, DEFAULT",
        )
        .unwrap();
        assert_eq!(m.name("CN=Kafka,OU=ServiceUsers,O=x").unwrap(), "kafka");
        assert_eq!(m.name("CN=bob,O=acme").unwrap(), "bob@acme");
        assert_eq!(m.name("OU=other").unwrap(), "OU=other");
        let strict = SslPrincipalMapper::parse("RULE:^CN=(.*)$/$1/U").unwrap();
        assert_eq!(strict.name("CN=x").unwrap(), "X");
        assert!(strict.name("OU=x").is_err(), "no rule applies");
        assert!(SslPrincipalMapper::parse("bogus").is_err());
    }
}
