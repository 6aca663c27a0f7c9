//! A set of output files written atomically together: each is written to a
//! temporary file beside its destination, and [`Outputs::commit`] syncs and renames
//! them all. A failed or killed run leaves the previous outputs untouched (and at
//! worst a `.NAME.tmp-PID` file, which nothing reads).
//!
//! Unlike `atomic::Staged`, tables are streamed to disk chunk by chunk.

use crate::args::TableFormat;
use crate::export::table::{ChunkWriter, Schema, extension, writer};
use anyhow::Context;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use wormsim::ensemble::table::{Kind, Table};

/// Temporary path for `dest`: `.NAME.tmp-PID` in the same directory.
pub fn temp_path(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    dest.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Write `bytes` to `dest` atomically (temporary file, sync, rename).
pub fn write_atomic(dest: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = temp_path(dest);
    let result = (|| -> anyhow::Result<()> {
        std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
        File::open(&tmp)
            .and_then(|f| f.sync_all())
            .with_context(|| format!("cannot sync {}", tmp.display()))?;
        std::fs::rename(&tmp, dest)
            .with_context(|| format!("cannot move {} to {}", tmp.display(), dest.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Output files staged in one directory.
pub struct Outputs {
    dir: PathBuf,
    files: Vec<(PathBuf, PathBuf)>,
}

impl Outputs {
    pub fn new(dir: &Path) -> anyhow::Result<Outputs> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
        Ok(Outputs {
            dir: dir.to_path_buf(),
            files: Vec::new(),
        })
    }

    /// A new temporary file for `name` (in the output directory).
    pub fn create(&mut self, name: &str) -> anyhow::Result<BufWriter<File>> {
        let dest = self.dir.join(name);
        let tmp = temp_path(&dest);
        let f = File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        self.files.push((tmp, dest));
        Ok(BufWriter::new(f))
    }

    /// Stage `bytes` as `name`.
    pub fn write(&mut self, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
        use std::io::Write;
        let mut f = self.create(name)?;
        f.write_all(bytes)?;
        f.flush()?;
        Ok(())
    }

    /// Writers for table `stem` in each format (`stem.csv`, `stem.parquet`, …).
    pub fn table(
        &mut self,
        stem: &str,
        formats: &[TableFormat],
        schema: &[(&str, Kind)],
    ) -> anyhow::Result<TableOut> {
        let schema: Schema = schema.iter().map(|(n, k)| (n.to_string(), *k)).collect();
        let mut writers = Vec::new();
        let mut names = Vec::new();
        for &f in dedup(formats).iter() {
            let name = format!("{stem}.{}", extension(f));
            writers.push(writer(f, self.create(&name)?, schema.clone())?);
            names.push(name);
        }
        Ok(TableOut { writers, names })
    }

    /// Sync every staged file and rename it into place; returns the file names.
    pub fn commit(mut self) -> anyhow::Result<Vec<String>> {
        let files = std::mem::take(&mut self.files);
        for (tmp, _) in &files {
            File::open(tmp)
                .and_then(|f| f.sync_all())
                .with_context(|| format!("cannot sync {}", tmp.display()))?;
        }
        let mut names = Vec::new();
        for (tmp, dest) in &files {
            std::fs::rename(tmp, dest)
                .with_context(|| format!("cannot move {} to {}", tmp.display(), dest.display()))?;
            names.push(
                dest.file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            );
        }
        Ok(names)
    }
}

impl Drop for Outputs {
    fn drop(&mut self) {
        for (tmp, _) in &self.files {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// Formats in order, each once.
pub fn dedup(formats: &[TableFormat]) -> Vec<TableFormat> {
    let mut out: Vec<TableFormat> = Vec::new();
    for &f in formats {
        if !out.contains(&f) {
            out.push(f);
        }
    }
    out
}

/// One table being written in one or more formats.
pub struct TableOut {
    writers: Vec<Box<dyn ChunkWriter>>,
    pub names: Vec<String>,
}

impl TableOut {
    pub fn write(&mut self, chunk: &Table) -> anyhow::Result<()> {
        for w in &mut self.writers {
            w.write_chunk(chunk)?;
        }
        Ok(())
    }

    pub fn finish(self) -> anyhow::Result<()> {
        for w in self.writers {
            w.finish()?;
        }
        Ok(())
    }
}
