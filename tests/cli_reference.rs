//! Man pages and shell completions generated from the command-line
//! definitions: the pages render with man(1), and bash completes
//! subcommands and their options with the generated script.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_mysql-ha");

fn run(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What the generated bash completion offers for `line` (words split on
/// spaces; the last one is being completed).
fn bash_completes(script: &std::path::Path, line: &str) -> Vec<String> {
    let words: Vec<&str> = line.split(' ').collect();
    let cword = words.len() - 1;
    let prev = if cword > 0 { words[cword - 1] } else { "" };
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source {}\nCOMP_WORDS=({})\nCOMP_CWORD={cword}\nCOMP_LINE='{line}'\nCOMP_POINT=${{#COMP_LINE}}\n\
         _mysql__ha mysql-ha '{}' '{prev}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script.display(),
        quoted.join(" "),
        words[cword]
    );
    run("bash", &["-c", &program])
        .lines()
        .map(str::to_string)
        .filter(|w| !w.is_empty())
        .collect()
}

#[test]
fn bash_completion_completes_subcommands_and_their_options() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("mysql-ha.bash");
    std::fs::write(&script, run(BIN, &["completions", "bash"])).unwrap();
    assert_eq!(
        bash_completes(&script, "mysql-ha s"),
        ["setup", "status", "switchover", "sandbox"]
    );
    let sandbox = bash_completes(&script, "mysql-ha sandbox ");
    for word in ["up", "down", "status", "exec", "crash", "boot"] {
        assert!(sandbox.contains(&word.to_string()), "{word} in {sandbox:?}");
    }
    assert_eq!(
        bash_completes(&script, "mysql-ha setup --an"),
        ["--answers"]
    );
    assert_eq!(
        bash_completes(&script, "mysql-ha setup --ui "),
        ["auto", "tui", "prompt", "plain"]
    );
    assert_eq!(
        bash_completes(&script, "mysql-ha completions "),
        [
            "-h",
            "--help",
            "bash",
            "elvish",
            "fish",
            "powershell",
            "zsh"
        ]
    );
}

#[test]
fn zsh_and_fish_scripts_name_every_visible_subcommand() {
    let zsh = run(BIN, &["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef mysql-ha"), "{zsh}");
    let fish = run(BIN, &["completions", "fish"]);
    for sub in [
        "setup",
        "add-db",
        "status",
        "rejoin",
        "switchover",
        "sandbox",
    ] {
        assert!(zsh.contains(&format!("'{sub}:")), "{sub} in zsh");
        assert!(fish.contains(&format!("-a \"{sub}\"")), "{sub} in fish");
    }
}

#[test]
fn man_pages_render_one_per_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let listed = run(BIN, &["manpages", dir.path().to_str().unwrap()]);
    assert!(listed.lines().count() >= 25, "{listed}");
    let page = dir.path().join("mysql-ha-setup.1");
    let rendered = Command::new("man")
        .args(["-l", page.to_str().unwrap()])
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "80")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&rendered.stdout);
    assert!(rendered.status.success(), "{text}");
    // man marks bold with backspaces when its output is not a terminal.
    let plain: String = text
        .split('\u{8}')
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                part
            } else {
                &part[1.min(part.len())..]
            }
        })
        .collect();
    for expected in ["mysql-ha-setup", "SYNOPSIS", "--answers", "--dry-run"] {
        assert!(plain.contains(expected), "{expected} in\n{plain}");
    }
}

#[test]
fn the_watch_screen_refuses_to_draw_without_a_terminal() {
    let out = Command::new(BIN)
        .args(["status", "--watch"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("status --watch needs a terminal"), "{said}");
    assert!(out.stdout.is_empty(), "drew something: {:?}", out.stdout);
}
