//! The lab of DESIGN.md section 3.

use crate::cli::SandboxCommand;
use crate::Result;

pub fn run(_command: SandboxCommand) -> Result<()> {
    Err(crate::Error::NotBuilt { command: "sandbox" })
}
