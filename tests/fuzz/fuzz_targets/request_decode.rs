//! A request frame (after its size prefix) as the broker's connection reader decodes it:
//! header, then body via kafka-protocol. Any outcome but a panic is fine; a decoder panic
//! is caught inside parse_request, so this target also reports it (the hook aborts).
#![no_main]

use libfuzzer_sys::fuzz_target;
use zkafka::network::request::parse_request;
use zkafka::network::ConnectionContext;

fuzz_target!(|data: &[u8]| {
    let conn = ConnectionContext {
        peer: "127.0.0.1:9".parse().unwrap(),
        listener_name: "PLAINTEXT".into(),
        principal: zkafka::security::KafkaPrincipal::anonymous(),
    };
    let _ = parse_request(bytes::Bytes::copy_from_slice(data), &conn);
});
