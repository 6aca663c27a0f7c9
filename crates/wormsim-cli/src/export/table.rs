//! CSV and JSON renderings of `wormsim::ensemble::table::Table`, written chunk by
//! chunk (so a sweep's tables never have to fit in memory).
//!
//! - CSV: a header line, then one line per row. Integers in decimal; floats in
//!   Rust's shortest round-trip form (`0.1`, `348986`, `0.0000001`), so a value read
//!   back is the value written; a missing value is an empty field; text is quoted
//!   when it holds a comma, quote or line break.
//! - JSON: an array of records `{"column": value, …}` in column order; missing
//!   values are `null`.

use super::parquet::ParquetWriter;
use crate::args::TableFormat;
use std::fs::File;
use std::io::{BufWriter, Write};
use wormsim::ensemble::table::{Cell, Data, Kind, Table};

/// A table writer that takes chunks of one schema.
pub trait ChunkWriter {
    fn write_chunk(&mut self, t: &Table) -> anyhow::Result<()>;
    /// Flush everything to the file and sync it.
    fn finish(self: Box<Self>) -> anyhow::Result<()>;
}

/// The schema as owned names.
pub type Schema = Vec<(String, Kind)>;

fn check_schema(schema: &Schema, t: &Table) {
    let same = schema.len() == t.columns.len()
        && schema
            .iter()
            .zip(&t.columns)
            .all(|((n, k), c)| *n == c.name && *k == c.data.kind());
    assert!(same, "a chunk's schema differs from the table's");
}

/// A writer for `format` on `file`.
pub fn writer(
    format: TableFormat,
    file: BufWriter<File>,
    schema: Schema,
) -> anyhow::Result<Box<dyn ChunkWriter>> {
    Ok(match format {
        TableFormat::Csv => Box::new(CsvWriter::new(file, schema)?),
        TableFormat::Json => Box::new(JsonWriter::new(file, schema)?),
        TableFormat::Parquet => Box::new(ParquetWriter::new(file, schema)?),
    })
}

/// The file name ending of a format.
pub fn extension(format: TableFormat) -> &'static str {
    match format {
        TableFormat::Csv => "csv",
        TableFormat::Json => "json",
        TableFormat::Parquet => "parquet",
    }
}

/// A float as CSV writes it (shortest round-trip decimal).
pub fn float(x: f64) -> String {
    format!("{x}")
}

/// A cell as CSV writes it.
pub fn csv_cell(c: &Cell) -> String {
    match c {
        Cell::Int(Some(x)) => x.to_string(),
        Cell::Float(Some(x)) => float(*x),
        Cell::Str(Some(s)) => {
            if s.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.clone()
            }
        }
        Cell::Int(None) | Cell::Float(None) | Cell::Str(None) => String::new(),
    }
}

/// A whole table as CSV text (header included).
#[cfg(test)]
pub fn csv_string(t: &Table) -> String {
    let mut out = Vec::new();
    let schema: Schema = t
        .schema()
        .iter()
        .map(|(n, k)| (n.to_string(), *k))
        .collect();
    let mut w = CsvWriter::new(&mut out, schema).expect("writing to memory");
    w.write_chunk(t).expect("writing to memory");
    String::from_utf8(out).expect("CSV is UTF-8")
}

pub struct CsvWriter<W: Write> {
    out: W,
    schema: Schema,
}

impl<W: Write> CsvWriter<W> {
    pub fn new(mut out: W, schema: Schema) -> anyhow::Result<Self> {
        let header: Vec<String> = schema
            .iter()
            .map(|(n, _)| csv_cell(&Cell::Str(Some(n.clone()))))
            .collect();
        writeln!(out, "{}", header.join(","))?;
        Ok(CsvWriter { out, schema })
    }

    fn write_rows(&mut self, t: &Table) -> std::io::Result<()> {
        check_schema(&self.schema, t);
        let mut line = String::new();
        for i in 0..t.rows() {
            line.clear();
            for (j, c) in t.columns.iter().enumerate() {
                if j > 0 {
                    line.push(',');
                }
                line.push_str(&csv_cell(&c.data.cell(i)));
            }
            line.push('\n');
            self.out.write_all(line.as_bytes())?;
        }
        Ok(())
    }
}

impl<W: Write> ChunkWriter for CsvWriter<W> {
    fn write_chunk(&mut self, t: &Table) -> anyhow::Result<()> {
        Ok(self.write_rows(t)?)
    }
    fn finish(self: Box<Self>) -> anyhow::Result<()> {
        let mut out = self.out;
        out.flush()?;
        Ok(())
    }
}

pub struct JsonWriter<W: Write> {
    out: W,
    schema: Schema,
    /// JSON-quoted column names.
    keys: Vec<String>,
    rows: u64,
}

impl<W: Write> JsonWriter<W> {
    pub fn new(mut out: W, schema: Schema) -> anyhow::Result<Self> {
        out.write_all(b"[")?;
        let keys = schema
            .iter()
            .map(|(n, _)| serde_json::to_string(n).expect("strings serialize"))
            .collect();
        Ok(JsonWriter {
            out,
            schema,
            keys,
            rows: 0,
        })
    }
}

fn json_value(d: &Data, i: usize) -> String {
    match d {
        Data::Int(v) => v[i].map_or_else(|| "null".into(), |x| x.to_string()),
        Data::Float(v) => match v[i] {
            Some(x) if x.is_finite() => serde_json::to_string(&x).expect("finite floats serialize"),
            _ => "null".into(),
        },
        Data::Str(v) => v[i].as_ref().map_or_else(
            || "null".into(),
            |s| serde_json::to_string(s).expect("strings serialize"),
        ),
    }
}

impl<W: Write> ChunkWriter for JsonWriter<W> {
    fn write_chunk(&mut self, t: &Table) -> anyhow::Result<()> {
        check_schema(&self.schema, t);
        let mut line = String::new();
        for i in 0..t.rows() {
            line.clear();
            line.push_str(if self.rows == 0 { "\n  {" } else { ",\n  {" });
            for (j, c) in t.columns.iter().enumerate() {
                if j > 0 {
                    line.push_str(", ");
                }
                line.push_str(&self.keys[j]);
                line.push_str(": ");
                line.push_str(&json_value(&c.data, i));
            }
            line.push('}');
            self.out.write_all(line.as_bytes())?;
            self.rows += 1;
        }
        Ok(())
    }
    fn finish(self: Box<Self>) -> anyhow::Result<()> {
        let mut out = self.out;
        out.write_all(b"\n]\n")?;
        out.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::with_schema([("n", Kind::Int), ("x", Kind::Float), ("s", Kind::Str)]);
        t.push_row([
            Cell::Int(Some(3)),
            Cell::Float(Some(0.1)),
            Cell::Str(Some("a,\"b\"".into())),
        ]);
        t.push_row([
            Cell::Int(None),
            Cell::Float(Some(348986.0)),
            Cell::Str(None),
        ]);
        t
    }

    #[test]
    fn csv_text() {
        assert_eq!(
            csv_string(&sample()),
            "n,x,s\n3,0.1,\"a,\"\"b\"\"\"\n,348986,\n"
        );
    }

    #[test]
    fn json() {
        let mut out = Vec::new();
        let schema = sample()
            .schema()
            .iter()
            .map(|(n, k)| (n.to_string(), *k))
            .collect();
        let mut w = Box::new(JsonWriter::new(&mut out, schema).unwrap());
        w.write_chunk(&sample()).unwrap();
        w.write_chunk(&sample()).unwrap();
        w.finish().unwrap();
        let text = String::from_utf8(out).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v.as_array().unwrap().len(), 4);
        assert_eq!(v[0]["s"], "a,\"b\"");
        assert_eq!(v[1]["n"], serde_json::Value::Null);
        assert!(text.starts_with("[\n  {\"n\": 3, \"x\": 0.1, "), "{text}");
    }

    #[test]
    fn floats_round_trip() {
        for x in [0.1, 1.0 / 3.0, 4.3173e10, 1e-7, 12345.678901234567] {
            assert_eq!(float(x).parse::<f64>().unwrap(), x);
        }
    }
}
