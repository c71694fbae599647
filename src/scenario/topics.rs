//! Many topics: `topic.count` topics named from a `{i}` pattern, and how messages spread over
//! them (`topic.distribution`). Plain data and its parse-level rules; the plan draws the spread
//! (`crate::plan::TopicSpread`).
//!
//! ```toml
//! [topic]
//! name = "bench-{i}"          # {i} = 0..count-1; a plain name with count > 1 is an error
//! count = 100
//! partitions = 10             # per topic
//! distribution = "uniform"    # or { zipf = 1.1 } (topic 0 hottest), or { weights = [..] }
//! delete_after = false        # delete the topics kbench created when the run ends
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The most topics one scenario produces to.
pub const MAX_TOPICS: u32 = 100_000;

/// How messages spread over the topics.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum TopicDist {
    /// Every topic equally likely.
    #[default]
    Uniform,
    /// Topic `k` (0-based) with probability ~ 1/(k+1)^s: topic 0 is the hottest.
    Zipf(f64),
    /// One weight per topic.
    Weights(Vec<f64>),
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum DistRepr {
    Name(String),
    Zipf { zipf: f64 },
    Weights { weights: Vec<f64> },
}

impl Serialize for TopicDist {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            TopicDist::Uniform => DistRepr::Name("uniform".into()),
            TopicDist::Zipf(z) => DistRepr::Zipf { zipf: *z },
            TopicDist::Weights(w) => DistRepr::Weights { weights: w.clone() },
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for TopicDist {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let expected =
            "expected \"uniform\", { zipf = 1.1 } or { weights = [..] } (one weight per topic)";
        match DistRepr::deserialize(d).map_err(|_| serde::de::Error::custom(expected))? {
            DistRepr::Name(n) if n == "uniform" => Ok(TopicDist::Uniform),
            DistRepr::Name(n) => Err(serde::de::Error::custom(format!("{expected}, found {n:?}"))),
            DistRepr::Zipf { zipf } => Ok(TopicDist::Zipf(zipf)),
            DistRepr::Weights { weights } => Ok(TopicDist::Weights(weights)),
        }
    }
}

impl TopicDist {
    pub fn is_uniform(&self) -> bool {
        *self == TopicDist::Uniform
    }

    /// The relative weight of each of `count` topics.
    pub fn weights(&self, count: u32) -> Vec<f64> {
        match self {
            TopicDist::Uniform => vec![1.0; count as usize],
            TopicDist::Zipf(s) => (1..=count).map(|k| 1.0 / (k as f64).powf(*s)).collect(),
            TopicDist::Weights(w) => w.clone(),
        }
    }
}

/// The topic names: `{i}` replaced by 0..count-1 (the plain name when count is 1 without `{i}`).
pub fn names(pattern: &str, count: u32) -> Vec<String> {
    (0..count)
        .map(|i| pattern.replace("{i}", &i.to_string()))
        .collect()
}

/// The `[topic]` rules of many topics: (dotted key, message) of the first problem.
pub fn check(pattern: &str, count: u32, dist: &TopicDist) -> Result<(), (String, String)> {
    if !(1..=MAX_TOPICS).contains(&count) {
        return Err((
            "topic.count".into(),
            format!("expected 1 to {MAX_TOPICS}, found {count}"),
        ));
    }
    if count > 1 && !pattern.contains("{i}") {
        return Err((
            "topic.name".into(),
            format!(
                "{count} topics need {{i}} in the name (e.g. \"bench-{{i}}\"), found {pattern:?}"
            ),
        ));
    }
    match dist {
        TopicDist::Zipf(s) if !(s.is_finite() && *s > 0.0) => Err((
            "topic.distribution".into(),
            format!("the zipf exponent must be greater than 0, found {s}"),
        )),
        TopicDist::Weights(w) if w.len() != count as usize => Err((
            "topic.distribution".into(),
            format!(
                "expected {count} weights (one per topic), found {}",
                w.len()
            ),
        )),
        TopicDist::Weights(w) if w.iter().any(|x| !x.is_finite() || *x < 0.0) => Err((
            "topic.distribution".into(),
            "weights must be finite and not negative".into(),
        )),
        TopicDist::Weights(w) if w.iter().sum::<f64>() <= 0.0 => Err((
            "topic.distribution".into(),
            "at least one weight must be greater than 0".into(),
        )),
        _ => Ok(()),
    }
}

/// The topic produced to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Topic {
    /// The topic, or with `count` > 1 a pattern with `{i}` (see `topics`).
    pub name: String,
    /// Topics produced to (`{i}` = 0..count-1 in `name`).
    #[serde(skip_serializing_if = "super::is_one")]
    pub count: u32,
    /// How messages spread over the topics (with `count` > 1).
    #[serde(skip_serializing_if = "TopicDist::is_uniform")]
    pub distribution: TopicDist,
    /// Delete the topics kbench created when the run ends (external clusters).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub delete_after: bool,
    /// Partitions of each topic.
    pub partitions: u32,
    pub replication: u32,
    /// Create the topic when it is missing (always true on the embedded broker).
    pub create: bool,
    /// Topic configs set when kbench creates the topic (e.g. `"retention.ms" = "60000"`).
    #[serde(
        deserialize_with = "super::string_map",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub configs: BTreeMap<String, String>,
}

impl Default for Topic {
    fn default() -> Self {
        Topic {
            name: "kbench".into(),
            count: 1,
            distribution: TopicDist::Uniform,
            delete_after: false,
            partitions: 6,
            replication: 3,
            create: true,
            configs: BTreeMap::new(),
        }
    }
}

impl Topic {
    /// Every topic's name.
    pub fn names(&self) -> Vec<String> {
        names(&self.name, self.count)
    }
}
