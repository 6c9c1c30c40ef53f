//! Server option files (my.cnf): parse them as the server does, follow
//! includes to the effective values, and edit them line by line.

pub mod edit;
pub mod effective;
pub mod filters;
pub mod names;
pub mod parse;
pub mod role;

pub use edit::FileEdit;
pub use effective::{Config, OptionEntry};
pub use role::{plan_edits, ChangeStatus, MycnfPlan, RoleSettings, ServerRole, SettingChange};
