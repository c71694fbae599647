//! The error of bad input, wherever it comes from: where (file and line, `--set`, command
//! line), which key, and what is wrong. A leaf; exit code 2.

use std::fmt;

/// Bad input (a scenario file, `--set`, the command line, a gate condition): exit code 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// `path/to/file.toml:LINE`, `path/to/file.toml`, or `--set key=value`.
    pub location: String,
    /// The dotted key, when the error is about one key.
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.location)?;
        if let Some(key) = &self.key {
            write!(f, "{key}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for InputError {}

/// A value that does not parse or fit, in words ("expected 0, 1 or all, found \"2\""); the
/// loader places it at its key and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError(pub String);

impl From<String> for ValueError {
    fn from(message: String) -> ValueError {
        ValueError(message)
    }
}

impl From<&str> for ValueError {
    fn from(message: &str) -> ValueError {
        ValueError(message.to_string())
    }
}

impl From<ValueError> for String {
    fn from(e: ValueError) -> String {
        e.0
    }
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ValueError {}

/// A bad value at a dotted key, before it is placed in a file: validation returns it, and the
/// loader turns it into an [`InputError`] with the file and line (or `--set`) of the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The dotted key: `producer.acks`, `faults[1].at`.
    pub key: String,
    pub message: String,
}

impl FieldError {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// The (key, message) pairs the section checkers return.
impl<K: Into<String>> From<(K, String)> for FieldError {
    fn from((key, message): (K, String)) -> FieldError {
        FieldError::new(key, message)
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

impl std::error::Error for FieldError {}
