//! Secrets the server needs but the operator did not give: generated once, kept in
//! `<data dir>/secrets/` with 0600 permissions, and reused at every start.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use rand::RngCore;

use crate::config::ConfigError;

pub enum Origin {
    Environment,
    Generated(PathBuf),
    Stored(PathBuf),
}

/// The value of `var` if set, else the content of `<dir>/<file>`, else a new random
/// 32-byte value in hex written there.
pub fn load_or_generate(
    var: &str,
    dir: &Path,
    file: &str,
) -> Result<(String, Origin), ConfigError> {
    if let Ok(value) = std::env::var(var) {
        if !value.is_empty() {
            return Ok((value, Origin::Environment));
        }
    }
    let path = dir.join(file);
    match fs::metadata(&path) {
        Ok(meta) => {
            if meta.permissions().mode() & 0o077 != 0 {
                return Err(ConfigError(format!(
                    "{var} is not set and {} is readable by other users; run: chmod 600 {}",
                    path.display(),
                    path.display()
                )));
            }
            let value = fs::read_to_string(&path).map_err(|e| {
                ConfigError(format!(
                    "{var} is not set and {} cannot be read: {e}",
                    path.display()
                ))
            })?;
            Ok((value.trim().to_owned(), Origin::Stored(path)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| ConfigError(format!("cannot create {}: {e}", dir.display())))?;
            let mut bytes = [0u8; 32];
            rand::thread_rng().fill_bytes(&mut bytes);
            let value = hex::encode(bytes);
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| ConfigError(format!("cannot write {}: {e}", path.display())))?;
            f.write_all(value.as_bytes())
                .and_then(|()| f.sync_all())
                .map_err(|e| ConfigError(format!("cannot write {}: {e}", path.display())))?;
            Ok((value, Origin::Generated(path)))
        }
        Err(e) => Err(ConfigError(format!(
            "{var} is not set and {} cannot be read: {e}",
            path.display()
        ))),
    }
}

pub fn log_origin(var: &str, origin: &Origin) {
    match origin {
        Origin::Environment => tracing::info!("{var} taken from the environment"),
        Origin::Generated(path) => tracing::info!(
            "{var} was not set: generated one and stored it in {} (mode 0600); keep that file to keep sessions and secrets valid",
            path.display()
        ),
        Origin::Stored(path) => tracing::info!(
            "{var} was not set: using the one stored in {}",
            path.display()
        ),
    }
}
