//! Exporters: the library produces data, these render it. One module per format.

pub mod csv;
pub mod json;
pub mod logs;
pub mod text;
