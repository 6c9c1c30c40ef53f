//! One option-file line as the server's own reader (mysys `my_default.c`)
//! sees it. Lines keep their bytes and line ending, so untouched lines are
//! written back exactly.

/// A line of a file: its bytes without the line ending, and the ending
/// (`\n`, `\r\n`, or empty for a last line without one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawLine {
    pub text: Vec<u8>,
    pub eol: Vec<u8>,
}

impl RawLine {
    /// The text, with bytes that are not UTF-8 replaced (for parsing only).
    pub fn lossy(&self) -> String {
        String::from_utf8_lossy(&self.text).into_owned()
    }
}

/// Splits file contents into lines; joining `text + eol` of all gives the bytes back.
pub fn split_lines(bytes: &[u8]) -> Vec<RawLine> {
    let mut lines = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        match rest.iter().position(|&b| b == b'\n') {
            Some(at) => {
                let mut text = &rest[..at];
                let mut eol = vec![b'\n'];
                if text.last() == Some(&b'\r') {
                    text = &text[..text.len() - 1];
                    eol = b"\r\n".to_vec();
                }
                lines.push(RawLine {
                    text: text.to_vec(),
                    eol,
                });
                rest = &rest[at + 1..];
            }
            None => {
                lines.push(RawLine {
                    text: rest.to_vec(),
                    eol: Vec::new(),
                });
                rest = &[];
            }
        }
    }
    lines
}

/// Joins lines back into file contents.
pub fn join_lines(lines: &[RawLine]) -> Vec<u8> {
    let mut out = Vec::new();
    for line in lines {
        out.extend_from_slice(&line.text);
        out.extend_from_slice(&line.eol);
    }
    out
}

/// What a line means to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineKind {
    Blank,
    /// A full-line `#` or `;` comment.
    Comment,
    /// `[name]`; the name keeps leading spaces (the server does), trailing ones are cut.
    Group(String),
    /// `name`, `name=value`, `name = value # comment`.
    Option {
        name: String,
        /// After quote removal and escape processing; None for a bare name.
        value: Option<String>,
    },
    Include(String),
    IncludeDir(String),
    /// `!something` else: the server ignores it.
    OtherDirective,
}

/// The whitespace of the server's reader (latin1 `isspace`).
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// Cuts a `#` comment that is not inside quotes, as `remove_end_comment` does.
pub fn strip_end_comment(text: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut escape = false;
    for (at, c) in text.char_indices() {
        if (c == '\'' || c == '"') && !escape {
            match quote {
                None => quote = Some(c),
                Some(open) if open == c => quote = None,
                Some(_) => {}
            }
        }
        if quote.is_none() && c == '#' {
            return &text[..at];
        }
        escape = quote.is_some() && c == '\\' && !escape;
    }
    text
}

/// Removes matching outer quotes and processes backslash escapes.
pub fn unquote(value: &str) -> String {
    let mut inner = value;
    let chars: Vec<char> = value.chars().collect();
    if chars.len() >= 2 {
        let first = chars[0];
        if (first == '"' || first == '\'') && chars[chars.len() - 1] == first {
            inner = &value[1..value.len() - 1];
        }
    }
    let mut out = String::with_capacity(inner.len());
    let mut it = inner.chars().peekable();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('b') => out.push('\x08'),
                Some('s') => out.push(' '),
                Some('"') => out.push('"'),
                Some('\'') => out.push('\''),
                Some('\\') => out.push('\\'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Writes a value so the server reads back exactly `value`.
pub fn quote(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.,:/@+-*".contains(c));
    if plain {
        return value.to_string();
    }
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\t' => out.push_str("\\t"),
            other => out.push(other),
        }
    }
    out.push('"');
    out
}

fn directive_argument<'a>(rest: &'a str, keyword: &str) -> Option<&'a str> {
    let after = rest.strip_prefix(keyword)?;
    if !after.starts_with(is_space) {
        return None;
    }
    Some(after.trim_matches(is_space))
}

/// Parses one line (without its line ending). Err is the server's complaint.
pub fn parse_line(text: &str) -> Result<LineKind, String> {
    let line = text.trim_start_matches(is_space);
    if line.trim_end_matches(is_space).is_empty() {
        return Ok(LineKind::Blank);
    }
    if line.starts_with('#') || line.starts_with(';') {
        return Ok(LineKind::Comment);
    }
    if let Some(rest) = line.strip_prefix('!') {
        let rest = rest.trim_start_matches(is_space);
        if let Some(arg) = directive_argument(rest, "includedir") {
            if arg.is_empty() {
                return Err("`!includedir` without a directory".into());
            }
            return Ok(LineKind::IncludeDir(arg.to_string()));
        }
        if let Some(arg) = directive_argument(rest, "include") {
            if arg.is_empty() {
                return Err("`!include` without a file".into());
            }
            return Ok(LineKind::Include(arg.to_string()));
        }
        return Ok(LineKind::OtherDirective);
    }
    if let Some(rest) = line.strip_prefix('[') {
        let Some(end) = rest.find(']') else {
            return Err("wrong group definition (no closing `]`)".into());
        };
        return Ok(LineKind::Group(
            rest[..end].trim_end_matches(is_space).to_string(),
        ));
    }
    let line = strip_end_comment(line);
    let (name, value) = match line.find('=') {
        Some(at) => {
            let value = line[at + 1..].trim_matches(is_space);
            (&line[..at], Some(unquote(value)))
        }
        None => (line, None),
    };
    let name = name.trim_end_matches(is_space);
    if name.is_empty() {
        return Err("option without a name".into());
    }
    Ok(LineKind::Option {
        name: name.to_string(),
        value,
    })
}

/// Where the parts of an option line are, for rewriting its value in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionLayout {
    /// Leading whitespace.
    pub indent: String,
    /// The name as written.
    pub name: String,
    /// From the end of the name through `=` and the spaces after it; empty
    /// for a bare name.
    pub separator: String,
}

/// Splits an option line into indent, name and separator.
pub fn option_layout(text: &str) -> OptionLayout {
    let body = text.trim_start_matches(is_space);
    let indent = text[..text.len() - body.len()].to_string();
    let code = strip_end_comment(body);
    match code.find('=') {
        Some(at) => {
            let name = code[..at].trim_end_matches(is_space);
            let after = &code[at + 1..];
            let value_start = after.len() - after.trim_start_matches(is_space).len();
            OptionLayout {
                indent,
                name: name.to_string(),
                separator: code[name.len()..at + 1 + value_start].to_string(),
            }
        }
        None => OptionLayout {
            indent,
            name: code.trim_end_matches(is_space).to_string(),
            separator: String::new(),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn opt(text: &str) -> (String, Option<String>) {
        match parse_line(text).unwrap() {
            LineKind::Option { name, value } => (name, value),
            other => panic!("{text:?} parsed as {other:?}"),
        }
    }

    #[test]
    fn lines_round_trip_byte_for_byte() {
        for bytes in [
            &b"[mysqld]\r\nx=1\r\n"[..],
            b"a\n\nb",
            b"",
            b"\n",
            b"tab\there \xff\n",
        ] {
            assert_eq!(join_lines(&split_lines(bytes)), bytes);
        }
        assert_eq!(split_lines(b"x\r\ny").len(), 2);
    }

    #[test]
    fn values_as_the_server_reads_them() {
        assert_eq!(
            opt("key1 = value # comment"),
            ("key1".into(), Some("value".into()))
        );
        assert_eq!(
            opt("key2 = \"quoted # not comment\" # c").1.unwrap(),
            "quoted # not comment"
        );
        assert_eq!(opt("key3 = 'single#q'").1.unwrap(), "single#q");
        assert_eq!(opt("key4=val#x").1.unwrap(), "val");
        assert_eq!(opt("key5 = a b  ").1.unwrap(), "a b");
        assert_eq!(opt("bare-key"), ("bare-key".into(), None));
        assert_eq!(opt("  indented = yes").0, "indented");
        assert_eq!(opt("Bind_Address\t=\t127.0.0.1").1.unwrap(), "127.0.0.1");
        assert_eq!(opt("key6 = \"esc\\ttab\\\\b\"").1.unwrap(), "esc\ttab\\b");
        assert_eq!(opt("key7 = ab\"c").1.unwrap(), "ab\"c");
        assert_eq!(opt("key8 = \"unterminated").1.unwrap(), "\"unterminated");
        assert_eq!(opt("key9 =").1.unwrap(), "");
        assert_eq!(opt("k1 = v ; semi").1.unwrap(), "v ; semi");
        assert_eq!(opt("k2 = a\\tb\\\\c").1.unwrap(), "a\tb\\c");
        assert_eq!(opt("k3 = \"a\" b").1.unwrap(), "\"a\" b");
        assert_eq!(opt("k5 = 'it''s'").1.unwrap(), "it''s");
        assert_eq!(opt("k6 = \"\"\"\"").1.unwrap(), "\"\"");
    }

    #[test]
    fn groups_comments_and_directives() {
        assert_eq!(
            parse_line("[mysqld]  # c").unwrap(),
            LineKind::Group("mysqld".into())
        );
        assert_eq!(
            parse_line("[ mysqld ]").unwrap(),
            LineKind::Group(" mysqld".into())
        );
        assert_eq!(parse_line("  ; c").unwrap(), LineKind::Comment);
        assert_eq!(parse_line("#x=1").unwrap(), LineKind::Comment);
        assert_eq!(parse_line(" \t").unwrap(), LineKind::Blank);
        assert_eq!(
            parse_line("   !include /tmp/x.cnf ").unwrap(),
            LineKind::Include("/tmp/x.cnf".into())
        );
        assert_eq!(
            parse_line("!includedir /etc/mysql/conf.d/").unwrap(),
            LineKind::IncludeDir("/etc/mysql/conf.d/".into())
        );
        assert_eq!(parse_line("!includex y").unwrap(), LineKind::OtherDirective);
        assert!(parse_line("[mysqld").is_err());
    }

    #[test]
    fn quoting_round_trips() {
        for value in [
            "plain",
            "a#b",
            " lead",
            "trail ",
            "it's",
            "q\"uote",
            "back\\slash",
            "",
            "tab\tx",
            "my-db",
        ] {
            let line = format!("k = {}  # mysql-ha", quote(value));
            assert_eq!(opt(&line).1.unwrap(), value, "{line}");
        }
        assert_eq!(quote("my-db"), "my-db");
    }

    #[test]
    fn layout_keeps_spacing() {
        let layout = option_layout("bind-address            = 127.0.0.1 # x");
        assert_eq!(layout.name, "bind-address");
        assert_eq!(layout.separator, "            = ");
        let layout = option_layout("\tlog_bin");
        assert_eq!(
            (layout.indent.as_str(), layout.separator.as_str()),
            ("\t", "")
        );
    }
}
