//! Parquet output: one row group per chunk, Snappy-compressed, read directly by
//! pandas (pyarrow) and polars.
//!
//! Column types: `int64`, `float64` and `string` (UTF-8), all nullable, named as in
//! the CSV. The writer is deterministic: the same table gives the same bytes.

use super::table::{ChunkWriter, Schema};
use anyhow::Context;
use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema as ArrowSchema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::Arc;
use wormsim::ensemble::table::{Data, Kind, Table};

pub struct ParquetWriter {
    writer: ArrowWriter<BufWriter<File>>,
    schema: SchemaRef,
}

/// The Arrow schema of a table schema.
pub fn arrow_schema(schema: &Schema) -> SchemaRef {
    Arc::new(ArrowSchema::new(
        schema
            .iter()
            .map(|(name, kind)| {
                let t = match kind {
                    Kind::Int => DataType::Int64,
                    Kind::Float => DataType::Float64,
                    Kind::Str => DataType::Utf8,
                };
                Field::new(name, t, true)
            })
            .collect::<Vec<_>>(),
    ))
}

/// A record batch of a table.
pub fn batch(schema: &SchemaRef, t: &Table) -> anyhow::Result<RecordBatch> {
    let columns: Vec<ArrayRef> = t
        .columns
        .iter()
        .map(|c| -> ArrayRef {
            match &c.data {
                Data::Int(v) => Arc::new(Int64Array::from(v.clone())),
                Data::Float(v) => Arc::new(Float64Array::from(v.clone())),
                Data::Str(v) => Arc::new(StringArray::from(v.clone())),
            }
        })
        .collect();
    RecordBatch::try_new(schema.clone(), columns).context("building a Parquet record batch")
}

impl ParquetWriter {
    pub fn new(file: BufWriter<File>, schema: Schema) -> anyhow::Result<Self> {
        let schema = arrow_schema(&schema);
        let props = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        let writer = ArrowWriter::try_new(file, schema.clone(), Some(props))
            .context("starting a Parquet file")?;
        Ok(ParquetWriter { writer, schema })
    }
}

impl ChunkWriter for ParquetWriter {
    fn write_chunk(&mut self, t: &Table) -> anyhow::Result<()> {
        if t.rows() == 0 {
            return Ok(());
        }
        let b = batch(&self.schema, t)?;
        self.writer.write(&b).context("writing Parquet rows")?;
        // One row group per chunk (per sweep point), so readers can skip points.
        self.writer.flush().context("writing a Parquet row group")?;
        Ok(())
    }

    fn finish(self: Box<Self>) -> anyhow::Result<()> {
        let mut file = self
            .writer
            .into_inner()
            .context("finishing a Parquet file")?;
        file.flush()?;
        Ok(())
    }
}
