//! A check's finding (how bad, on which node, what to do): what preflight
//! and every check it runs (cluster access, DDNS, TLS) report.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Ok,
    Warning,
    Fatal,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub node: String,
    pub check: &'static str,
    pub message: String,
}
