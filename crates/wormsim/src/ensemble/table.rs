//! Tables: typed, named columns of equal length, the data that every exporter
//! (CSV, JSON, Parquet in the `wormsim` binary) renders.
//!
//! A table is column-major so it converts directly to Arrow arrays. Every cell may
//! be missing (`None`): CSV writes it as an empty field, JSON as `null`, Parquet
//! as a null. Large outputs are produced and written in *chunks* of the same
//! schema (one per sweep point), so no output needs to fit in memory at once.

/// The type of a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// 64-bit signed integers (counts).
    Int,
    /// 64-bit floats.
    Float,
    /// UTF-8 text.
    Str,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Int => "int64",
            Kind::Float => "float64",
            Kind::Str => "string",
        }
    }
}

/// One cell, as produced row by row.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Int(Option<i64>),
    Float(Option<f64>),
    Str(Option<String>),
}

impl Cell {
    pub fn kind(&self) -> Kind {
        match self {
            Cell::Int(_) => Kind::Int,
            Cell::Float(_) => Kind::Float,
            Cell::Str(_) => Kind::Str,
        }
    }

    /// The value as a float (integers converted), `None` when missing or text.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Cell::Int(v) => v.map(|x| x as f64),
            Cell::Float(v) => v,
            Cell::Str(_) => None,
        }
    }
}

/// The values of one column.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    Str(Vec<Option<String>>),
}

impl Data {
    pub fn new(kind: Kind) -> Data {
        match kind {
            Kind::Int => Data::Int(Vec::new()),
            Kind::Float => Data::Float(Vec::new()),
            Kind::Str => Data::Str(Vec::new()),
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Data::Int(_) => Kind::Int,
            Data::Float(_) => Kind::Float,
            Data::Str(_) => Kind::Str,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Data::Int(v) => v.len(),
            Data::Float(v) => v.len(),
            Data::Str(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The cell at row `i`.
    pub fn cell(&self, i: usize) -> Cell {
        match self {
            Data::Int(v) => Cell::Int(v[i]),
            Data::Float(v) => Cell::Float(v[i]),
            Data::Str(v) => Cell::Str(v[i].clone()),
        }
    }

    /// Append a cell of this column's kind (integers are accepted by a float column).
    ///
    /// # Panics
    /// If the cell's kind does not fit the column: a bug in the table's producer.
    pub fn push(&mut self, c: Cell) {
        match (self, c) {
            (Data::Int(v), Cell::Int(x)) => v.push(x),
            (Data::Float(v), Cell::Float(x)) => v.push(x),
            (Data::Float(v), Cell::Int(x)) => v.push(x.map(|x| x as f64)),
            (Data::Str(v), Cell::Str(x)) => v.push(x),
            (d, c) => panic!("a {:?} cell in a {:?} column", c.kind(), d.kind()),
        }
    }
}

/// A named column.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    pub name: String,
    pub data: Data,
}

/// Named, typed columns of equal length.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Table {
    pub columns: Vec<Column>,
}

impl Table {
    /// An empty table with this schema.
    pub fn with_schema<'a>(schema: impl IntoIterator<Item = (&'a str, Kind)>) -> Table {
        Table {
            columns: schema
                .into_iter()
                .map(|(name, kind)| Column {
                    name: name.to_string(),
                    data: Data::new(kind),
                })
                .collect(),
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, |c| c.data.len())
    }

    /// Column names and kinds, in order.
    pub fn schema(&self) -> Vec<(&str, Kind)> {
        self.columns
            .iter()
            .map(|c| (c.name.as_str(), c.data.kind()))
            .collect()
    }

    /// Append one row, one cell per column in order.
    ///
    /// # Panics
    /// If the row's length or kinds do not match the schema.
    pub fn push_row(&mut self, row: impl IntoIterator<Item = Cell>) {
        let mut n = 0;
        for (col, cell) in self.columns.iter_mut().zip(row) {
            col.data.push(cell);
            n += 1;
        }
        assert_eq!(n, self.columns.len(), "row length differs from the schema");
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_and_read() {
        let mut t = Table::with_schema([("a", Kind::Int), ("b", Kind::Float), ("c", Kind::Str)]);
        t.push_row([
            Cell::Int(Some(1)),
            Cell::Int(Some(2)),
            Cell::Str(Some("x".into())),
        ]);
        t.push_row([Cell::Int(None), Cell::Float(None), Cell::Str(None)]);
        assert_eq!(t.rows(), 2);
        assert_eq!(t.column("b").unwrap().data.cell(0), Cell::Float(Some(2.0)));
        assert_eq!(t.schema()[2], ("c", Kind::Str));
    }

    #[test]
    #[should_panic(expected = "row length")]
    fn short_row_panics() {
        let mut t = Table::with_schema([("a", Kind::Int), ("b", Kind::Int)]);
        t.push_row([Cell::Int(Some(1))]);
    }
}
