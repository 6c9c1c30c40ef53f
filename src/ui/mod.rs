//! Front-ends: they gather answers and render engine events; no engine
//! logic lives here.

pub mod choose;
pub mod flow;
pub mod line;
pub mod plain;
pub mod prompt;
pub mod questions;
pub mod tui;
pub mod watch;
