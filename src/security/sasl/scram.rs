//! SCRAM-SHA-256 / SCRAM-SHA-512 (RFC 5802/7677) as Kafka's ScramSaslServer, ScramSaslClient
//! and ScramFormatter do them: no channel binding, at least 4096 iterations, and credentials
//! stored as `salt=..,stored_key=..,server_key=..,iterations=..` (ScramCredentialUtils).

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

use super::SaslFailure;

/// Kafka's ScramMechanism.minIterations, the same for both hashes.
pub const MIN_ITERATIONS: u32 = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScramMechanism {
    Sha256,
    Sha512,
}

impl ScramMechanism {
    pub const ALL: [ScramMechanism; 2] = [ScramMechanism::Sha256, ScramMechanism::Sha512];

    pub fn from_name(name: &str) -> Option<ScramMechanism> {
        match name {
            "SCRAM-SHA-256" => Some(ScramMechanism::Sha256),
            "SCRAM-SHA-512" => Some(ScramMechanism::Sha512),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ScramMechanism::Sha256 => "SCRAM-SHA-256",
            ScramMechanism::Sha512 => "SCRAM-SHA-512",
        }
    }

    /// The wire code of AlterUserScramCredentials/DescribeUserScramCredentials (KIP-554).
    pub fn code(self) -> i8 {
        match self {
            ScramMechanism::Sha256 => 1,
            ScramMechanism::Sha512 => 2,
        }
    }

    pub fn from_code(code: i8) -> Option<ScramMechanism> {
        ScramMechanism::ALL.into_iter().find(|m| m.code() == code)
    }

    pub fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
            let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key)
                .expect("HMAC accepts keys of any length");
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        match self {
            ScramMechanism::Sha256 => run::<Hmac<Sha256>>(key, data),
            ScramMechanism::Sha512 => run::<Hmac<Sha512>>(key, data),
        }
    }

    pub fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramMechanism::Sha256 => Sha256::digest(data).to_vec(),
            ScramMechanism::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// `Hi(password, salt, i)`: PBKDF2 with this mechanism's HMAC.
    pub fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            ScramMechanism::Sha256 => {
                let mut out = vec![0; 32];
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
                out
            }
            ScramMechanism::Sha512 => {
                let mut out = vec![0; 64];
                pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, iterations, &mut out);
                out
            }
        }
    }
}

/// What the broker keeps of a password: never the password itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScramCredential {
    pub salt: Vec<u8>,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
    pub iterations: u32,
}

impl ScramCredential {
    /// StoredKey = H(HMAC(SaltedPassword, "Client Key")), ServerKey = HMAC(SaltedPassword,
    /// "Server Key"): what AlterUserScramCredentials derives from the client's salted password.
    pub fn from_salted_password(
        mech: ScramMechanism,
        salt: Vec<u8>,
        salted_password: &[u8],
        iterations: u32,
    ) -> ScramCredential {
        let client_key = mech.hmac(salted_password, b"Client Key");
        ScramCredential {
            salt,
            stored_key: mech.hash(&client_key),
            server_key: mech.hmac(salted_password, b"Server Key"),
            iterations,
        }
    }

    /// A new credential with a fresh salt: as ScramFormatter, the salt is the UTF-8 of a
    /// random base-36 string.
    pub fn generate(mech: ScramMechanism, password: &str, iterations: u32) -> ScramCredential {
        let salt = secure_random_string().into_bytes();
        let salted = mech.salted_password(password.as_bytes(), &salt, iterations);
        Self::from_salted_password(mech, salt, &salted, iterations)
    }

    /// The `/config/users/<user>` value for this mechanism's key.
    pub fn to_config_value(&self) -> String {
        format!(
            "salt={},stored_key={},server_key={},iterations={}",
            B64.encode(&self.salt),
            B64.encode(&self.stored_key),
            B64.encode(&self.server_key),
            self.iterations
        )
    }

    pub fn parse(text: &str) -> Option<ScramCredential> {
        let mut salt = None;
        let mut stored_key = None;
        let mut server_key = None;
        let mut iterations = None;
        for item in text.split(',') {
            let (k, v) = item.split_once('=')?;
            match k.trim() {
                "salt" => salt = B64.decode(v.trim()).ok(),
                "stored_key" => stored_key = B64.decode(v.trim()).ok(),
                "server_key" => server_key = B64.decode(v.trim()).ok(),
                "iterations" => iterations = v.trim().parse().ok(),
                _ => {}
            }
        }
        Some(ScramCredential {
            salt: salt?,
            stored_key: stored_key?,
            server_key: server_key?,
            iterations: iterations?,
        })
    }
}

/// A base-36 string of a 130-bit random number (ScramFormatter.secureRandomString).
pub fn secure_random_string() -> String {
    let mut n: u128 = rand::random::<u128>() >> 2; // 126 bits fit a u128 with room to spare
    let mut digits = Vec::new();
    while n > 0 {
        digits.push(std::char::from_digit((n % 36) as u32, 36).expect("digit < 36"));
        n /= 36;
    }
    digits.push(std::char::from_digit(rand::random_range(0..36u32), 36).expect("digit < 36"));
    digits.into_iter().rev().collect()
}

/// `saslname` escaping: `=` is `=3D` and `,` is `=2C` on the wire; any other `=` is invalid.
fn unescape_username(name: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = name;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        match rest.get(i + 1..i + 3)? {
            "2C" => out.push(','),
            "3D" => out.push('='),
            _ => return None,
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Some(out)
}

fn escape_username(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

/// The `k=v` attributes of a SCRAM message, in order.
fn attributes(msg: &str) -> Vec<(&str, &str)> {
    msg.split(',')
        .filter_map(|a| a.split_once('='))
        .collect::<Vec<_>>()
}

fn invalid(what: &str) -> SaslFailure {
    SaslFailure::Internal(format!("Invalid SCRAM {what}"))
}

/// The server side of one SCRAM exchange.
pub struct ScramServer {
    mech: ScramMechanism,
    state: ServerState,
}

enum ServerState {
    ReceiveClientFirst,
    ReceiveClientFinal {
        username: String,
        credential: ScramCredential,
        nonce: String,
        client_first_bare: String,
        server_first: String,
    },
    Complete(String),
    Failed,
}

impl ScramServer {
    pub fn new(mech: ScramMechanism) -> ScramServer {
        ScramServer {
            mech,
            state: ServerState::ReceiveClientFirst,
        }
    }

    /// The authenticated username, once the exchange completed.
    pub fn authorization_id(&self) -> Option<&str> {
        match &self.state {
            ServerState::Complete(user) => Some(user),
            _ => None,
        }
    }

    /// Feeds one client token and returns the server's answer. `lookup` finds a user's
    /// stored credential for this mechanism.
    pub fn evaluate(
        &mut self,
        token: &[u8],
        lookup: impl Fn(&str) -> Option<ScramCredential>,
    ) -> Result<Vec<u8>, SaslFailure> {
        let state = std::mem::replace(&mut self.state, ServerState::Failed);
        let msg = std::str::from_utf8(token).map_err(|_| invalid("message: not UTF-8"))?;
        match state {
            ServerState::ReceiveClientFirst => {
                let (next, reply) = self.client_first(msg, lookup)?;
                self.state = next;
                Ok(reply.into_bytes())
            }
            ServerState::ReceiveClientFinal {
                username,
                credential,
                nonce,
                client_first_bare,
                server_first,
            } => {
                let auth = ClientFinalCheck {
                    credential: &credential,
                    nonce: &nonce,
                    client_first_bare: &client_first_bare,
                    server_first: &server_first,
                };
                let reply = auth.verify(self.mech, msg)?;
                self.state = ServerState::Complete(username);
                Ok(reply.into_bytes())
            }
            ServerState::Complete(_) | ServerState::Failed => Err(SaslFailure::Internal(
                "Unexpected SCRAM message after the exchange ended".into(),
            )),
        }
    }

    fn client_first(
        &self,
        msg: &str,
        lookup: impl Fn(&str) -> Option<ScramCredential>,
    ) -> Result<(ServerState, String), SaslFailure> {
        // gs2-header "n,[a=authzid]," then client-first-bare "n=user,r=nonce[,ext...]".
        let rest = msg
            .strip_prefix("n,")
            .ok_or_else(|| invalid("client first message: channel binding is not supported"))?;
        let (authzid, bare) = rest
            .split_once(',')
            .ok_or_else(|| invalid("client first message"))?;
        let attrs = attributes(bare);
        let (Some(("n", raw_user)), Some(("r", client_nonce))) =
            (attrs.first().copied(), attrs.get(1).copied())
        else {
            return Err(invalid("client first message"));
        };
        let username = unescape_username(raw_user).ok_or_else(|| invalid("username"))?;
        if attrs
            .iter()
            .skip(2)
            .any(|(k, v)| *k == "tokenauth" && *v == "true")
        {
            return Err(SaslFailure::Internal(
                "Delegation tokens are not supported".into(),
            ));
        }
        let authzid = authzid.strip_prefix("a=").unwrap_or(authzid);
        if !authzid.is_empty() && authzid != username {
            return Err(SaslFailure::Authentication(
                "Authentication failed: Client requested an authorization id that is different from username".into(),
            ));
        }
        let credential = lookup(&username).ok_or_else(|| {
            SaslFailure::Internal("Authentication failed: Invalid user credentials".into())
        })?;
        if credential.iterations < MIN_ITERATIONS {
            return Err(SaslFailure::Internal(format!(
                "Iterations {} is less than the minimum {MIN_ITERATIONS} for {}",
                credential.iterations,
                self.mech.name()
            )));
        }
        let nonce = format!("{client_nonce}{}", secure_random_string());
        let server_first = format!(
            "r={nonce},s={},i={}",
            B64.encode(&credential.salt),
            credential.iterations
        );
        let next = ServerState::ReceiveClientFinal {
            username,
            credential,
            nonce,
            client_first_bare: bare.to_string(),
            server_first: server_first.clone(),
        };
        Ok((next, server_first))
    }
}

/// The server's check of a client-final message against the exchange so far.
struct ClientFinalCheck<'a> {
    credential: &'a ScramCredential,
    nonce: &'a str,
    client_first_bare: &'a str,
    server_first: &'a str,
}

impl ClientFinalCheck<'_> {
    fn verify(&self, mech: ScramMechanism, msg: &str) -> Result<String, SaslFailure> {
        let (without_proof, proof) = msg
            .rsplit_once(",p=")
            .ok_or_else(|| invalid("client final message"))?;
        let attrs = attributes(without_proof);
        let nonce = attrs.iter().find(|(k, _)| *k == "r").map(|(_, v)| *v);
        // Kafka's ScramSaslServer checks endsWith, not equality: librdkafka sends its client
        // nonce once more in front of the combined nonce, and Kafka accepts that.
        if !nonce.is_some_and(|n| n.ends_with(self.nonce)) {
            return Err(SaslFailure::Internal(format!(
                "Invalid SCRAM client final message: nonce {nonce:?} is not the server's {:?}",
                self.nonce
            )));
        }
        let proof = B64
            .decode(proof)
            .map_err(|_| invalid("client final message: proof"))?;
        let auth_message = format!(
            "{},{},{without_proof}",
            self.client_first_bare, self.server_first
        );
        let signature = mech.hmac(&self.credential.stored_key, auth_message.as_bytes());
        if proof.len() != signature.len() {
            return Err(SaslFailure::Internal("Invalid client credentials".into()));
        }
        let client_key: Vec<u8> = signature.iter().zip(&proof).map(|(a, b)| a ^ b).collect();
        let stored = mech.hash(&client_key);
        if !bool::from(stored.ct_eq(&self.credential.stored_key)) {
            return Err(SaslFailure::Internal("Invalid client credentials".into()));
        }
        let server_signature = mech.hmac(&self.credential.server_key, auth_message.as_bytes());
        Ok(format!("v={}", B64.encode(server_signature)))
    }
}

/// The client side (ScramSaslClient), for this broker's own inter-broker connections.
pub struct ScramClient {
    mech: ScramMechanism,
    client_nonce: String,
    client_first_bare: String,
    server_signature: Option<Vec<u8>>,
}

impl ScramClient {
    pub fn new(mech: ScramMechanism, username: &str) -> ScramClient {
        let client_nonce = secure_random_string();
        let client_first_bare = format!("n={},r={client_nonce}", escape_username(username));
        ScramClient {
            mech,
            client_nonce,
            client_first_bare,
            server_signature: None,
        }
    }

    pub fn client_first(&self) -> Vec<u8> {
        format!("n,,{}", self.client_first_bare).into_bytes()
    }

    /// Answers the server-first message with the client-final one (carrying the proof).
    pub fn client_final(&mut self, server_first: &[u8], password: &str) -> anyhow::Result<Vec<u8>> {
        let server_first = std::str::from_utf8(server_first)?;
        let attrs = attributes(server_first);
        let get = |key: &str| attrs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
        let nonce = get("r").ok_or_else(|| anyhow::anyhow!("SCRAM server-first without r="))?;
        anyhow::ensure!(
            nonce.starts_with(&self.client_nonce),
            "SCRAM server nonce does not extend the client nonce"
        );
        let salt = B64.decode(get("s").unwrap_or_default())?;
        let iterations: u32 = get("i").unwrap_or_default().parse()?;
        anyhow::ensure!(
            iterations >= MIN_ITERATIONS,
            "SCRAM iterations {iterations} below {MIN_ITERATIONS}"
        );
        let salted = self
            .mech
            .salted_password(password.as_bytes(), &salt, iterations);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.client_first_bare);
        let client_key = self.mech.hmac(&salted, b"Client Key");
        let stored_key = self.mech.hash(&client_key);
        let signature = self.mech.hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&signature)
            .map(|(a, b)| a ^ b)
            .collect();
        let server_key = self.mech.hmac(&salted, b"Server Key");
        self.server_signature = Some(self.mech.hmac(&server_key, auth_message.as_bytes()));
        Ok(format!("{without_proof},p={}", B64.encode(proof)).into_bytes())
    }

    /// Checks the server-final message: the server proves it knows the credential too.
    pub fn verify_server_final(&self, server_final: &[u8]) -> anyhow::Result<()> {
        let text = std::str::from_utf8(server_final)?;
        if let Some(e) = text.strip_prefix("e=") {
            anyhow::bail!("SCRAM server error: {e}");
        }
        let v = text
            .strip_prefix("v=")
            .ok_or_else(|| anyhow::anyhow!("SCRAM server-final without v="))?;
        let expected = self.server_signature.as_deref().unwrap_or_default();
        anyhow::ensure!(
            B64.decode(v)? == expected,
            "SCRAM server signature does not match"
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(mech: ScramMechanism, stored: &str, tried: &str) -> Result<String, SaslFailure> {
        let credential = ScramCredential::generate(mech, stored, 4096);
        let mut server = ScramServer::new(mech);
        let mut client = ScramClient::new(mech, "al,ice");
        let lookup = |u: &str| (u == "al,ice").then(|| credential.clone());
        let first = server.evaluate(&client.client_first(), lookup)?;
        let fin = client.client_final(&first, tried).unwrap();
        let last = server.evaluate(&fin, lookup)?;
        client.verify_server_final(&last).unwrap();
        Ok(server.authorization_id().unwrap().to_string())
    }

    #[test]
    fn client_and_server_agree_and_a_wrong_password_fails() {
        for mech in ScramMechanism::ALL {
            assert_eq!(exchange(mech, "pw", "pw").unwrap(), "al,ice");
            assert!(matches!(
                exchange(mech, "pw", "other"),
                Err(SaslFailure::Internal(m)) if m == "Invalid client credentials"
            ));
        }
    }

    #[test]
    fn rfc7677_test_vector() {
        // RFC 7677 §3: user "user", password "pencil".
        let mech = ScramMechanism::Sha256;
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let salted = mech.salted_password(b"pencil", &salt, 4096);
        let cred = ScramCredential::from_salted_password(mech, salt, &salted, 4096);
        let mut server = ScramServer::new(mech);
        let first = ServerState::ReceiveClientFinal {
            username: "user".into(),
            credential: cred,
            nonce: "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0".into(),
            client_first_bare: "n=user,r=rOprNGfwEbeRWgbNEkqO".into(),
            server_first: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096".into(),
        };
        server.state = first;
        let reply = server
            .evaluate(b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", |_| None)
            .unwrap();
        assert_eq!(
            String::from_utf8(reply).unwrap(),
            "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
    }

    #[test]
    fn credential_round_trips_through_its_config_value() {
        let c = ScramCredential::generate(ScramMechanism::Sha512, "secret", 8192);
        let text = c.to_config_value();
        assert!(text.starts_with("salt=") && text.ends_with(",iterations=8192"));
        assert_eq!(ScramCredential::parse(&text), Some(c));
        assert!(ScramCredential::parse("salt=x").is_none());
    }

    #[test]
    fn unknown_user_and_garbage_fail_without_panicking() {
        let mut s = ScramServer::new(ScramMechanism::Sha512);
        assert!(s.evaluate(b"n,,n=bob,r=abc", |_| None).is_err());
        for junk in [&b""[..], b"y,,n=a,r=b", b"n,", b"\xff\xfe", b"n,,r=a,n=b"] {
            assert!(ScramServer::new(ScramMechanism::Sha256)
                .evaluate(junk, |_| None)
                .is_err());
        }
    }
}
