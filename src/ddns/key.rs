//! TSIG keys: read from a BIND key file (as `tsig-keygen` writes it) or
//! from the answers, and written back in that format for the nodes.

use crate::answers::{validate_key_algorithm, validate_key_name, validate_key_secret, DdnsAnswers};
use crate::{Error, Result};

#[derive(Clone, PartialEq, Eq)]
pub struct TsigKey {
    pub name: String,
    pub algorithm: String,
    pub secret: String,
}

impl std::fmt::Debug for TsigKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "TsigKey {{ name: {:?}, algorithm: {:?}, secret: \"********\" }}",
            self.name, self.algorithm
        )
    }
}

/// Words of a BIND configuration: quoted strings, braces and semicolons
/// apart, comments left out.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push(chars.by_ref().take_while(|c| *c != '"').collect()),
            '{' | '}' | ';' => out.push(c.to_string()),
            '#' => {
                chars.by_ref().take_while(|c| *c != '\n').for_each(drop);
            }
            '/' if chars.peek() == Some(&'/') => {
                chars.by_ref().take_while(|c| *c != '\n').for_each(drop);
            }
            c if c.is_whitespace() => {}
            c => {
                let mut word = c.to_string();
                while let Some(next) = chars.peek() {
                    if next.is_whitespace() || "{};\"".contains(*next) {
                        break;
                    }
                    word.push(*next);
                    chars.next();
                }
                out.push(word);
            }
        }
    }
    out
}

impl TsigKey {
    /// The first `key "NAME" { algorithm A; secret "S"; };` of a key file.
    pub fn parse(text: &str) -> std::result::Result<TsigKey, String> {
        let words = tokens(text);
        let start = words
            .iter()
            .position(|w| w == "key")
            .ok_or("no `key \"NAME\" { ... };` statement")?;
        let name = words.get(start + 1).ok_or("the key has no name")?.clone();
        let mut algorithm = None;
        let mut secret = None;
        let mut i = start + 2;
        while let Some(word) = words.get(i) {
            match word.as_str() {
                "}" => break,
                "algorithm" => algorithm = words.get(i + 1).cloned(),
                "secret" => secret = words.get(i + 1).cloned(),
                _ => {}
            }
            i += 1;
        }
        let key = TsigKey {
            name,
            algorithm: algorithm.ok_or("the key has no `algorithm`")?,
            secret: secret.ok_or("the key has no `secret`")?,
        };
        key.check("the key file").map_err(|e| e.to_string())?;
        Ok(key)
    }

    fn check(&self, source: &str) -> Result<()> {
        validate_key_name(&format!("{source}: name"), &self.name)?;
        validate_key_algorithm(&format!("{source}: algorithm"), &self.algorithm)?;
        validate_key_secret(&format!("{source}: secret"), &self.secret)
    }

    /// The key the answers give: read from `key_file` on this machine, or
    /// `key_name`, `key_algorithm` and `key_secret`.
    pub fn from_answers(d: &DdnsAnswers) -> Result<TsigKey> {
        if d.key_file.is_empty() {
            let key = TsigKey {
                name: d.key_name.clone(),
                algorithm: d.key_algorithm.clone(),
                secret: d.key_secret.clone(),
            };
            key.check("cluster.ddns.key_*")?;
            return Ok(key);
        }
        let text = std::fs::read_to_string(&d.key_file).map_err(|e| Error::Answers {
            key: "cluster.ddns.key_file".into(),
            message: format!("{}: {e}", d.key_file),
        })?;
        TsigKey::parse(&text).map_err(|message| Error::Answers {
            key: "cluster.ddns.key_file".into(),
            message: format!("{}: {message}", d.key_file),
        })
    }

    /// Reads a key file on this machine (the daemon's).
    pub fn from_file(path: &std::path::Path) -> Result<TsigKey> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        TsigKey::parse(&text).map_err(|message| Error::Dns {
            server: path.display().to_string(),
            message: format!("key file: {message}; run `mysql-ha setup` again to rewrite it"),
        })
    }

    /// The key in BIND's key file format.
    pub fn to_key_file(&self) -> String {
        format!(
            "# TSIG key for the cluster's dynamic-DNS name (written by `mysql-ha setup`).\n\
             key \"{}\" {{\n\talgorithm {};\n\tsecret \"{}\";\n}};\n",
            self.name, self.algorithm, self.secret
        )
    }

    /// How the answers and messages name the key.
    pub fn describe(&self, d: &DdnsAnswers) -> String {
        if d.key_file.is_empty() {
            format!("TSIG key `{}` (cluster.ddns.key_name)", self.name)
        } else {
            format!(
                "TSIG key `{}` from {} (cluster.ddns.key_file)",
                self.name, d.key_file
            )
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const KEYGEN: &str = "key \"mysql-ha-sandbox\" {\n\talgorithm hmac-sha256;\n\tsecret \"Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE=\";\n};\n";

    #[test]
    fn reads_what_tsig_keygen_writes_and_writes_it_back() {
        let key = TsigKey::parse(KEYGEN).unwrap();
        assert_eq!(key.name, "mysql-ha-sandbox");
        assert_eq!(key.algorithm, "hmac-sha256");
        assert_eq!(key.secret, "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE=");
        assert_eq!(TsigKey::parse(&key.to_key_file()).unwrap(), key);
        assert!(!format!("{key:?}").contains("Zm9v"));
        let commented = format!("# a comment\n// another\n{KEYGEN}");
        assert_eq!(TsigKey::parse(&commented).unwrap(), key);
    }

    #[test]
    fn incomplete_key_files_are_refused() {
        assert!(TsigKey::parse("").is_err());
        assert!(TsigKey::parse("key \"k\" { algorithm hmac-sha256; };").is_err());
        assert!(
            TsigKey::parse("key \"k\" { algorithm rot13; secret \"Zm9vYmFyYmF6cXV4Zm9v\"; };")
                .is_err()
        );
    }
}
