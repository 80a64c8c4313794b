//! Security as classic Kafka layers it: who a connection is (its principal, from the listener's
//! security protocol and SASL or TLS authentication), and what that principal may do (the
//! authorizer). Below `network` and `server`, which carry and check these types.

pub mod authorizer;
pub mod principal;
pub mod sasl;
pub mod ssl;
mod ssl_principal;

pub use principal::KafkaPrincipal;
