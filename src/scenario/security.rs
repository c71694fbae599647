//! `[cluster.security]`: TLS and SASL without remembering librdkafka's property names.
//!
//! ```toml
//! [cluster.security]
//! protocol = "SASL_SSL"                   # PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL
//! mechanism = "SCRAM-SHA-512"             # PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512 | OAUTHBEARER
//! username = "bench"
//! password = { env = "KAFKA_PASSWORD" }   # or { file = "..." }; inline strings are warned about
//! ca = "certs/ca.pem"
//! cert = "certs/client.pem"               # mutual TLS, optional
//! key = "certs/client.key"
//! ```
//! The password is read when the client is configured, never stored: results and printed specs
//! show `{ env = "KAFKA_PASSWORD" }` or `"***"`. Relative file paths are relative to the scenario.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize, Serializer};

/// The `[cluster.security]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Security {
    pub protocol: Protocol,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mechanism: Option<Mechanism>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// CA certificate(s) to verify the brokers with (PEM); unset uses the bundled defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<String>,
    /// Client certificate and key for mutual TLS (PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// `security.protocol`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Protocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl Protocol {
    pub fn as_rdkafka(self) -> &'static str {
        match self {
            Protocol::Plaintext => "plaintext",
            Protocol::Ssl => "ssl",
            Protocol::SaslPlaintext => "sasl_plaintext",
            Protocol::SaslSsl => "sasl_ssl",
        }
    }
    fn sasl(self) -> bool {
        matches!(self, Protocol::SaslPlaintext | Protocol::SaslSsl)
    }
    fn tls(self) -> bool {
        matches!(self, Protocol::Ssl | Protocol::SaslSsl)
    }
}

/// `sasl.mechanisms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mechanism {
    #[serde(rename = "PLAIN")]
    Plain,
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
    #[serde(rename = "OAUTHBEARER")]
    OauthBearer,
}

impl Mechanism {
    pub fn as_rdkafka(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha512 => "SCRAM-SHA-512",
            Mechanism::OauthBearer => "OAUTHBEARER",
        }
    }
}

/// A secret value: from the environment, from a file, or (warned about) inline.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum Secret {
    Env { env: String },
    File { file: String },
    Inline(String),
}

impl Serialize for Secret {
    /// Where the secret comes from, never an inline value.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = BTreeMap::new();
        match self {
            Secret::Env { env } => m.insert("env", env.as_str()),
            Secret::File { file } => m.insert("file", file.as_str()),
            Secret::Inline(_) => return s.serialize_str("***"),
        };
        m.serialize(s)
    }
}

impl Secret {
    /// The secret's value.
    pub fn value(&self) -> Result<String, crate::input::ValueError> {
        match self {
            Secret::Env { env } => std::env::var(env)
                .map_err(|_| format!("environment variable {env} is not set").into()),
            Secret::File { file } => std::fs::read_to_string(file)
                .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
                .map_err(|e| format!("cannot read {file}: {e}").into()),
            Secret::Inline(v) => Ok(v.clone()),
        }
    }
}

impl Security {
    /// Checks the section and makes its file paths relative to `base` (the scenario's folder).
    /// Returns the key at fault and the message, or warnings to print.
    pub fn check(&mut self, base: &Path) -> Result<Vec<String>, (String, String)> {
        let fail = |key: &str, m: String| Err((format!("cluster.security.{key}"), m));
        let mut warnings = Vec::new();
        match (self.protocol.sasl(), self.mechanism) {
            (true, None) => {
                return fail(
                    "mechanism",
                    format!(
                    "{:?} needs a mechanism: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER",
                    self.protocol.as_rdkafka().to_uppercase()
                ),
                )
            }
            (false, Some(_)) => {
                return fail(
                    "mechanism",
                    "a SASL mechanism needs protocol SASL_PLAINTEXT or SASL_SSL".into(),
                )
            }
            _ => {}
        }
        let needs_login = matches!(
            self.mechanism,
            Some(Mechanism::Plain | Mechanism::ScramSha256 | Mechanism::ScramSha512)
        );
        if needs_login && (self.username.is_none() || self.password.is_none()) {
            return fail(
                "username",
                "PLAIN and SCRAM need a username and a password".into(),
            );
        }
        if self.cert.is_some() != self.key.is_some() {
            return fail("cert", "mutual TLS needs both cert and key".into());
        }
        if !self.protocol.tls() && (self.ca.is_some() || self.cert.is_some()) {
            return fail("ca", "certificates need protocol SSL or SASL_SSL".into());
        }
        let resolve = |p: &mut String| {
            if Path::new(p.as_str()).is_relative() {
                *p = base.join(p.as_str()).display().to_string();
            }
        };
        for (key, path) in [
            ("ca", &mut self.ca),
            ("cert", &mut self.cert),
            ("key", &mut self.key),
        ] {
            if let Some(p) = path {
                resolve(p);
                if !Path::new(p.as_str()).is_file() {
                    return fail(key, format!("{p} does not exist"));
                }
            }
        }
        match &mut self.password {
            Some(Secret::Inline(_)) => warnings.push(
                "cluster.security.password is written in the scenario; prefer { env = \"...\" } or { file = \"...\" }"
                    .into(),
            ),
            Some(Secret::File { file }) => resolve(file),
            _ => {}
        }
        if let Some(p) = &self.password {
            if let Err(e) = p.value() {
                return fail("password", e.0);
            }
        }
        Ok(warnings)
    }

    /// The librdkafka properties of the section (the password read now).
    pub fn properties(&self) -> Result<Vec<(&'static str, String)>, String> {
        let mut out = vec![("security.protocol", self.protocol.as_rdkafka().to_string())];
        if let Some(m) = self.mechanism {
            out.push(("sasl.mechanisms", m.as_rdkafka().to_string()));
        }
        if let Some(u) = &self.username {
            out.push(("sasl.username", u.clone()));
        }
        if let Some(p) = &self.password {
            out.push(("sasl.password", p.value()?));
        }
        for (k, v) in [
            ("ssl.ca.location", &self.ca),
            ("ssl.certificate.location", &self.cert),
            ("ssl.key.location", &self.key),
        ] {
            if let Some(v) = v {
                out.push((k, v.clone()));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_serialize_as_their_source_and_inline_ones_not_at_all() {
        let inline = Secret::Inline("hunter2".into());
        assert_eq!(serde_json::to_string(&inline).unwrap(), "\"***\"");
        let env = Secret::Env {
            env: "KBENCH_TEST_PW".into(),
        };
        assert_eq!(
            serde_json::to_string(&env).unwrap(),
            r#"{"env":"KBENCH_TEST_PW"}"#
        );
        let parsed: Secret = serde_json::from_str(r#"{"file":"pw.txt"}"#).unwrap();
        assert_eq!(
            parsed,
            Secret::File {
                file: "pw.txt".into()
            }
        );
    }

    #[test]
    fn sasl_needs_a_mechanism_and_a_login() {
        let mut s = Security {
            protocol: Protocol::SaslPlaintext,
            mechanism: None,
            username: None,
            password: None,
            ca: None,
            cert: None,
            key: None,
        };
        assert_eq!(
            s.check(Path::new("")).unwrap_err().0,
            "cluster.security.mechanism"
        );
        s.mechanism = Some(Mechanism::ScramSha512);
        assert_eq!(
            s.check(Path::new("")).unwrap_err().0,
            "cluster.security.username"
        );
        s.username = Some("u".into());
        s.password = Some(Secret::Inline("p".into()));
        let warnings = s.check(Path::new("")).unwrap();
        assert_eq!(warnings.len(), 1);
        let props = s.properties().unwrap();
        assert!(props.contains(&("sasl.mechanisms", "SCRAM-SHA-512".into())));
        assert!(props.contains(&("sasl.password", "p".into())));
    }
}
