//! mysql-ha: the engine. Nothing in this library depends on a terminal;
//! front-ends (src/ui) only gather answers and render engine events.

pub mod backup;
pub mod cli;
pub mod commands;
pub mod error;
pub mod mycnf;
pub mod node;
pub mod profile;
pub mod sandbox;

pub use error::{Error, Result};
