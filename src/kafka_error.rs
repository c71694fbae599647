//! Kafka and librdkafka error names, both ways: the name kbench counts a failure under, and the
//! code a fault names. A leaf over librdkafka's own table (`rd_kafka_err2name`).

use std::ffi::CStr;

use rdkafka::error::RDKafkaErrorCode;
use rdkafka::types::RDKafkaRespErr;

/// The canonical librdkafka name of an error code, e.g. `_MSG_TIMED_OUT`, `NOT_LEADER_OR_FOLLOWER`.
pub fn error_name(code: RDKafkaErrorCode) -> &'static str {
    match RDKafkaRespErr::try_from(code as i32) {
        // SAFETY: rd_kafka_err2name returns a pointer to a static, NUL-terminated string for
        // every valid error code.
        Ok(err) => unsafe { CStr::from_ptr(rdkafka::bindings::rd_kafka_err2name(err)) }
            .to_str()
            .unwrap_or("UNKNOWN"),
        Err(_) => "UNKNOWN",
    }
}

/// Current Kafka error names that librdkafka still knows by their older names.
const ALIASES: [(&str, &str); 2] = [
    ("NOT_LEADER_OR_FOLLOWER", "NOT_LEADER_FOR_PARTITION"),
    ("UNKNOWN_TOPIC_OR_PARTITION", "UNKNOWN_TOPIC_OR_PART"),
];

/// The librdkafka error code with this name (case-insensitive), e.g. `NOT_LEADER_OR_FOLLOWER`.
pub fn error_code(name: &str) -> Option<rdkafka::types::RDKafkaRespErr> {
    let wanted = name.trim().to_ascii_uppercase();
    let wanted = ALIASES
        .iter()
        .find(|(modern, _)| *modern == wanted)
        .map_or(wanted.as_str(), |(_, old)| old);
    (-200..=200)
        .filter_map(|c| rdkafka::types::RDKafkaRespErr::try_from(c).ok())
        .find(|code| error_name((*code).into()).eq_ignore_ascii_case(wanted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names_resolve() {
        assert!(error_code("NOT_LEADER_OR_FOLLOWER").is_some());
        assert!(error_code("request_timed_out").is_some());
        assert!(error_code("NO_SUCH_ERROR").is_none());
        assert_eq!(
            error_name(RDKafkaErrorCode::MessageTimedOut),
            "_MSG_TIMED_OUT"
        );
    }
}
