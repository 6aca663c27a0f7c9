//! Atomic output files: write a temporary file beside the target, then rename.
//!
//! A reader never sees a half-written file, and a run that fails writes nothing.

use anyhow::Context;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Files staged in their directory, published together by [`Staged::commit`].
/// Dropping without committing removes the temporaries.
#[derive(Default)]
pub struct Staged {
    files: Vec<(PathBuf, PathBuf)>,
}

impl Staged {
    pub fn new() -> Self {
        Staged::default()
    }

    /// Write `bytes` to a temporary file for `path` (created with its directory).
    pub fn write(&mut self, path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
        let name = path
            .file_name()
            .context("output path has no file name")?
            .to_string_lossy();
        let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
        let mut f = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        f.write_all(bytes)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        f.sync_all().ok();
        self.files.push((tmp, path.to_path_buf()));
        Ok(())
    }

    /// Rename every temporary into place.
    pub fn commit(mut self) -> anyhow::Result<Vec<PathBuf>> {
        let mut done = Vec::new();
        for (tmp, dest) in std::mem::take(&mut self.files) {
            std::fs::rename(&tmp, &dest)
                .with_context(|| format!("cannot move {} to {}", tmp.display(), dest.display()))?;
            done.push(dest);
        }
        Ok(done)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        for (tmp, _) in &self.files {
            let _ = std::fs::remove_file(tmp);
        }
    }
}
