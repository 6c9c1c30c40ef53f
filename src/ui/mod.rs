//! Front-ends: they gather answers and render engine events, nothing more.

pub mod line;
