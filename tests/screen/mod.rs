//! Screens drawn on ratatui's TestBackend at 80x24 as text, and compared
//! with reviewed snapshots in tests/snapshots/ (UPDATE_SNAPSHOTS=1 rewrites
//! them; review the diff before committing).

use ratatui::backend::TestBackend;
use ratatui::{Frame, Terminal};

/// The screen `draw` paints, one line of text per row (trailing blanks cut).
pub fn render(draw: impl FnOnce(&mut Frame)) -> String {
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
    terminal.draw(draw).unwrap();
    let buffer = terminal.backend().buffer().clone();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let mut line = String::new();
        for x in 0..buffer.area.width {
            line.push_str(buffer[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Compares `screen` with tests/snapshots/NAME.txt.
pub fn snapshot(name: &str, screen: &str) {
    let path = format!("{}/tests/snapshots/{name}.txt", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, screen).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!("no snapshot {path}: run with UPDATE_SNAPSHOTS=1 and review it")
    });
    assert_eq!(
        screen, expected,
        "screen {name} differs from {path}:\n{screen}"
    );
}
