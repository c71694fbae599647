//! Reading and writing result files: the schema check on read (v1 still read), atomic writes of
//! `result.json` and `latency.hlog`, and the run directory's name.

use std::path::{Path, PathBuf};

use super::{hlog, loss_rate, RunResult, SCHEMA, SCHEMA_V1, SCHEMA_V2};

/// Errors reading a result file.
#[derive(Debug, thiserror::Error)]
pub enum ResultError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not a kbench result: {detail}")]
    Invalid { path: String, detail: String },
    #[error("{path}: unsupported result schema {found:?} (this kbench reads {SCHEMA:?}, {SCHEMA_V2:?} and {SCHEMA_V1:?})")]
    Schema { path: String, found: String },
}

impl RunResult {
    /// Reads and checks a result file.
    pub fn read(path: &Path) -> Result<RunResult, ResultError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ResultError::Io {
            path: p.clone(),
            source,
        })?;
        RunResult::parse(&text, &p)
    }

    /// Parses and checks result text; `p` names its origin in errors.
    pub fn parse(text: &str, p: &str) -> Result<RunResult, ResultError> {
        let p = p.to_string();
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| ResultError::Invalid {
                path: p.clone(),
                detail: e.to_string(),
            })?;
        let v1 = value.get("schema").and_then(|s| s.as_str()) == Some(SCHEMA_V1);
        match value.get("schema").and_then(|s| s.as_str()) {
            Some(SCHEMA | SCHEMA_V2 | SCHEMA_V1) => {}
            Some(other) => {
                return Err(ResultError::Schema {
                    path: p,
                    found: other.to_string(),
                })
            }
            None => {
                return Err(ResultError::Invalid {
                    path: p,
                    detail: "no \"schema\" key".into(),
                })
            }
        }
        let mut r: RunResult =
            serde_path_to_error::deserialize(value).map_err(|e| ResultError::Invalid {
                path: p,
                detail: format!("{}: {}", e.path(), e.inner()),
            })?;
        if v1 {
            // v1 had no schedule counts: its loss is what failed or stayed unresolved.
            r.loss_rate = loss_rate(&r.counts);
        }
        Ok(r)
    }

    /// Writes `result.json` and `latency.hlog` into `dir`, each atomically (temporary file, then
    /// rename).
    pub fn write(&self, dir: &Path) -> std::io::Result<PathBuf> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join("result.json");
        let json = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        write_atomic(&path, &json)?;
        hlog::write(self, &dir.join("latency.hlog"))?;
        Ok(path)
    }
}

/// Writes a file so that readers see either the old or the whole new content, never a part.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// `<out>/<20261121T194033Z>-<name>`, with a numeric suffix if that exists already.
pub fn run_dir(out: &Path, started_at: &str, name: &str) -> PathBuf {
    let stamp: String = started_at
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    let base = out.join(format!("{stamp}-{name}"));
    let mut dir = base.clone();
    let mut n = 2;
    while dir.exists() {
        dir = PathBuf::from(format!("{}-{n}", base.display()));
        n += 1;
    }
    dir
}
