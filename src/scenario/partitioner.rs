//! Which partition a message goes to: a librdkafka partitioner by name, or kbench's own
//! round-robin and manual choices (the four sarama users know: hash, random, round-robin, manual).

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// How messages are spread over partitions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Partitioner {
    /// A librdkafka partitioner by name (`partitioner`): `consistent_random` (the default),
    /// `murmur2_random` (the Java client's), `murmur2`, `consistent`, `fnv1a`, `fnv1a_random`,
    /// `random`. Keyless messages go to a random partition (sticky for a batch).
    Librdkafka(String),
    /// kbench sets partition = message number mod partitions (sarama's round-robin).
    RoundRobin,
    /// Every message to this partition (sarama's manual).
    Manual(u32),
}

impl Default for Partitioner {
    fn default() -> Self {
        Partitioner::Librdkafka("consistent_random".into())
    }
}

/// librdkafka's partitioner names.
pub const LIBRDKAFKA_PARTITIONERS: [&str; 7] = [
    "random",
    "consistent",
    "consistent_random",
    "murmur2",
    "murmur2_random",
    "fnv1a",
    "fnv1a_random",
];

impl Serialize for Partitioner {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Partitioner::Librdkafka(name) => s.serialize_str(name),
            Partitioner::RoundRobin => s.serialize_str("round-robin"),
            Partitioner::Manual(p) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry("manual", p)?;
                m.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Partitioner {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Name(String),
            Manual { manual: u32 },
        }
        let expected = "expected a librdkafka partitioner name (consistent_random, murmur2_random, ...), \"round-robin\" or { manual = N }";
        match Raw::deserialize(d).map_err(|_| de::Error::custom(expected))? {
            Raw::Manual { manual } => Ok(Partitioner::Manual(manual)),
            Raw::Name(n) if n == "round-robin" => Ok(Partitioner::RoundRobin),
            Raw::Name(n) if LIBRDKAFKA_PARTITIONERS.contains(&n.as_str()) => {
                Ok(Partitioner::Librdkafka(n))
            }
            Raw::Name(n) => Err(de::Error::custom(format!("{expected}, found {n:?}"))),
        }
    }
}
