//! Drawing the watch screen (ratatui): the pair's state, both nodes side by
//! side, the slave's lag as a sparkline, the last events, and the keys.
//! Times are shown relative to the look (`view.at`), so a screen is a
//! function of the state alone (the snapshot tests rely on it).

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Sparkline, Wrap};
use ratatui::Frame;

use super::model::{PairView, Watch};
use crate::cluster_ops::pair_state::PairState;
use crate::daemon::config::Role;
use crate::daemon::state::DaemonStatus;

/// "HH:MM:SS" (UTC) of an epoch time.
fn clock(at: u64) -> String {
    let day = at % 86_400;
    format!("{:02}:{:02}:{:02}", day / 3600, day % 3600 / 60, day % 60)
}

fn bold() -> Style {
    Style::default().add_modifier(Modifier::BOLD)
}

pub fn draw(frame: &mut Frame, watch: &Watch) {
    let area = frame.area();
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(2),
            Constraint::Length(9),
            Constraint::Length(4),
            Constraint::Min(3),
            Constraint::Length(1),
        ])
        .split(area);
    match &watch.view {
        Some(view) => {
            header(frame, rows[0], view);
            nodes(frame, rows[1], view);
            lag(frame, rows[2], view, watch);
            events(frame, rows[3], view);
        }
        None => frame.render_widget(Paragraph::new("reading both daemons' status..."), rows[0]),
    }
    footer(frame, rows[4], watch);
    if watch.confirming {
        confirm(frame, area, watch);
    }
}

fn header(frame: &mut Frame, area: Rect, view: &PairView) {
    let (state, why) = view.assess();
    let colour = match state {
        PairState::Whole => Color::Green,
        PairState::Degraded => Color::Yellow,
        PairState::NeedsAttention => Color::Red,
    };
    let term = [&view.local, &view.remote]
        .into_iter()
        .flatten()
        .map(|s| s.term)
        .max()
        .unwrap_or(0);
    let lines = vec![
        Line::from(vec![
            Span::styled("mysql-ha  pair ", bold()),
            Span::styled(state.name(), bold().fg(colour)),
            Span::raw(format!(": {why}")),
        ]),
        Line::from(format!(
            "term {term}  {} held by {}  {} UTC",
            view.resource,
            view.holder().unwrap_or("nobody"),
            clock(view.at)
        )),
    ];
    frame.render_widget(Paragraph::new(lines), area);
}

fn nodes(frame: &mut Frame, area: Rect, view: &PairView) {
    let columns = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Percentage(50), Constraint::Percentage(50)])
        .split(area);
    node(
        frame,
        columns[0],
        &format!("{} (this node)", view.this_node),
        view.local.as_ref(),
        view.at,
    );
    node(
        frame,
        columns[1],
        &view.peer_node,
        view.remote.as_ref(),
        view.at,
    );
}

fn node(frame: &mut Frame, area: Rect, title: &str, status: Option<&DaemonStatus>, now: u64) {
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title.to_string());
    let Some(status) = status else {
        frame.render_widget(
            Paragraph::new("unreachable, or no daemon status").block(block),
            area,
        );
        return;
    };
    let fresh = status.fresh(now);
    let role_colour = match status.role {
        Role::Master => Color::Green,
        Role::Slave => Color::Cyan,
        Role::NeedsRejoin => Color::Red,
    };
    let mut flags = vec![if status.healthy {
        "healthy"
    } else {
        "NOT healthy"
    }];
    flags.push(match status.read_only {
        Some(true) => "read-only",
        Some(false) => "writable",
        None => "server down",
    });
    if status.holds_resource {
        flags.push("holds resource");
    }
    if status.paused {
        flags.push("PAUSED");
    }
    if status.takeover_held {
        flags.push("takeover not acked");
    }
    let daemon = if fresh {
        format!(
            "daemon pid {}, updated {} s ago",
            status.pid,
            now.saturating_sub(status.updated_at)
        )
    } else {
        format!(
            "daemon NOT RUNNING (last seen {} s ago)",
            now.saturating_sub(status.updated_at)
        )
    };
    let replication = match &status.replication {
        Some(r) => format!(
            "io {} sql {} lag {}{}",
            if r.io_running { "yes" } else { "NO" },
            if r.sql_running { "yes" } else { "NO" },
            r.lag_s
                .map(|l| format!("{l} s"))
                .unwrap_or_else(|| "-".into()),
            if r.last_error.is_empty() {
                String::new()
            } else {
                format!(": {}", r.last_error)
            }
        ),
        None => "-".into(),
    };
    let vote = match (&status.vote, status.role) {
        (Some(v), Role::Master) => format!("lease {:.1} s", v.lease_remaining_ms as f64 / 1000.0),
        (Some(v), _) => format!(
            "backs {} (term {})",
            v.backs.as_deref().unwrap_or("nobody"),
            v.backs_term
        ),
        (None, _) => "off".into(),
    };
    let lines = vec![
        Line::from(vec![
            Span::styled(
                status.role.name().to_uppercase(),
                bold().fg(if fresh { role_colour } else { Color::DarkGray }),
            ),
            Span::raw(format!("  term {}", status.term)),
        ]),
        Line::from(if fresh {
            flags.join(", ")
        } else {
            // What was true when its daemon last wrote, never what is true now.
            format!("when last seen: {}", flags.join(", "))
        }),
        Line::from(daemon),
        Line::from(format!("replication: {replication}")),
        Line::from(format!("vote: {vote}")),
        Line::from(Span::styled(
            status.message.clone(),
            Style::default().fg(Color::Gray),
        )),
    ];
    frame.render_widget(
        Paragraph::new(lines).block(block).wrap(Wrap { trim: true }),
        area,
    );
}

fn lag(frame: &mut Frame, area: Rect, view: &PairView, watch: &Watch) {
    let inner_width = area.width.saturating_sub(2) as usize;
    let samples: Vec<u64> = watch
        .lag
        .iter()
        .rev()
        .take(inner_width)
        .rev()
        .map(|(_, lag)| lag.unwrap_or(0))
        .collect();
    let max = samples.iter().copied().max().unwrap_or(0);
    let title = match view.slave_lag() {
        Some((node, Some(now))) => format!(
            "replication lag of {node}: now {now} s, max {max} s over the last {} s",
            samples.len()
        ),
        Some((node, None)) => format!("replication lag of {node}: unknown (a thread is stopped)"),
        None => "replication lag: no slave reports replication".into(),
    };
    frame.render_widget(
        Sparkline::default()
            .block(Block::default().borders(Borders::ALL).title(title))
            .data(&samples)
            .max(max.max(1))
            .style(Style::default().fg(Color::Yellow)),
        area,
    );
}

fn events(frame: &mut Frame, area: Rect, view: &PairView) {
    let events = view.events();
    let room = area.height.saturating_sub(2) as usize;
    let lines: Vec<Line> = events
        .iter()
        .rev()
        .take(room)
        .rev()
        .map(|e| {
            let colour = match e.event.as_str() {
                "takeover" | "took-over" | "stepped-down" | "hard-failure" | "error"
                | "replication-broken" | "lost-majority" => Color::Red,
                "soft-failure"
                | "restarting"
                | "takeover-refused"
                | "replication-lagging"
                | "paused" => Color::Yellow,
                _ => Color::Reset,
            };
            Line::from(vec![
                Span::raw(format!("{} {:<11} t{:<2} ", clock(e.at), e.node, e.term)),
                Span::styled(format!("{:<16}", e.event), Style::default().fg(colour)),
                Span::raw(format!(" {}", e.message)),
            ])
        })
        .collect();
    frame.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title("last events")),
        area,
    );
}

fn footer(frame: &mut Frame, area: Rect, watch: &Watch) {
    let mut spans = vec![Span::styled(
        "p pause  r resume  a ack  s switchover  q quit",
        bold(),
    )];
    if !watch.note.is_empty() {
        spans.push(Span::raw(format!("  {}", watch.note)));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn confirm(frame: &mut Frame, area: Rect, watch: &Watch) {
    let width = area.width.min(64);
    let height = 7.min(area.height);
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let target = watch
        .switchover_target()
        .unwrap_or_else(|| "the slave".into());
    let text = vec![
        Line::from(format!("Make {target} the master?")),
        Line::from("The master turns read-only, the slave applies everything,"),
        Line::from("then the roles swap (mysql-ha switchover --yes)."),
        Line::from(""),
        Line::from(Span::styled(
            "y: switch over   any other key: cancel",
            bold(),
        )),
    ];
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(text)
            .block(Block::default().borders(Borders::ALL).title("switchover"))
            .wrap(Wrap { trim: true }),
        rect,
    );
}
