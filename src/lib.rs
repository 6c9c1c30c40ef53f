//! mysql-ha: the engine. Nothing in this library depends on a terminal;
//! front-ends (src/ui) only gather answers and render engine events.

pub mod answers;
pub mod cli;
pub mod error;
pub mod node;
pub mod sandbox;
pub mod sql;

pub use error::{Error, Result};
