//! Prometheus metrics, independent of what they measure: the text
//! exposition format (`exposition`), a minimal HTTP endpoint that serves the
//! last published page on `GET /metrics` (`endpoint`), and the free space of
//! the filesystem holding a path (`disk`). The daemon decides what to expose
//! (src/daemon/metrics.rs).

pub mod disk;
pub mod endpoint;
pub mod exposition;

pub use endpoint::Endpoint;
pub use exposition::{Exposition, Kind};
