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
