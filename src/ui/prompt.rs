//! Plain prompts (dialoguer) for terminals where a full screen is not
//! possible (TERM=dumb, small windows): same questions, same validators.

use dialoguer::{Confirm, Input, MultiSelect, Password, Select};

use crate::events::Reporter;
use crate::setup::session::DatabaseInfo;
use crate::{Error, Result};

use super::flow::{database_line, Asker};
use super::line::LineReporter;
use super::questions::{Kind, Question};

pub struct PromptAsker;

fn failed(key: &str, err: dialoguer::Error) -> Error {
    Error::Answers {
        key: key.to_string(),
        message: format!("no answer: {err}"),
    }
}

impl Asker for PromptAsker {
    fn say(&mut self, text: &str) {
        println!("{text}");
    }

    fn ask(&mut self, question: &Question, current: &str) -> Result<String> {
        println!("  ({})", question.help);
        match question.kind {
            Kind::Secret => {
                let hint = if current.is_empty() {
                    "Enter: empty"
                } else {
                    "Enter: keep"
                };
                Password::new()
                    .with_prompt(format!("{} [{hint}]", question.label))
                    .allow_empty_password(true)
                    .interact()
                    .map_err(|e| failed(question.key, e))
            }
            Kind::Choice(options) => {
                let index = Select::new()
                    .with_prompt(question.label)
                    .items(options)
                    .default(options.iter().position(|o| *o == current).unwrap_or(0))
                    .interact()
                    .map_err(|e| failed(question.key, e))?;
                Ok(options.get(index).copied().unwrap_or(current).to_string())
            }
            Kind::Text | Kind::Number => Input::<String>::new()
                .with_prompt(format!("{} [{current}]", question.label))
                .allow_empty(true)
                .interact_text()
                .map_err(|e| failed(question.key, e)),
        }
    }

    fn pick_databases(
        &mut self,
        offered: &[DatabaseInfo],
        selected: &[String],
    ) -> Result<Vec<String>> {
        let labels: Vec<String> = offered.iter().map(database_line).collect();
        let defaults: Vec<bool> = offered.iter().map(|d| selected.contains(&d.name)).collect();
        let picked = MultiSelect::new()
            .with_prompt("Databases to replicate (space toggles, enter accepts)")
            .items(&labels)
            .defaults(&defaults)
            .interact()
            .map_err(|e| failed("replication.databases", e))?;
        Ok(picked
            .into_iter()
            .filter_map(|i| offered.get(i).map(|d| d.name.clone()))
            .collect())
    }

    fn confirm(&mut self, question: &str) -> Result<bool> {
        Confirm::new()
            .with_prompt(question)
            .default(false)
            .interact()
            .map_err(|e| failed("confirm", e))
    }

    fn reporter(&self) -> Box<dyn Reporter> {
        Box::new(LineReporter::new())
    }
}
