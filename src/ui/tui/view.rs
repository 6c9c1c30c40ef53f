//! Drawing the wizard. Monochrome (bold and reverse video only), fits
//! 80x24, plain box characters.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Clear, Gauge as GaugeWidget, Paragraph, Wrap};
use ratatui::Frame;

use crate::operation::plan::human_bytes;
use crate::ui::flow::describe;
use crate::ui::questions::{self, Group, Kind};

use super::app::{App, Ending, Gauge, Screen, StepState};

const STEPS: [&str; 10] = [
    "Nodes",
    "Admin credentials",
    "Replication account",
    "Databases",
    "Cluster address",
    "Cluster account",
    "Daemon timings",
    "Review",
    "Apply",
    "Summary",
];

fn bold() -> Style {
    Style::default().add_modifier(Modifier::BOLD)
}

fn reversed() -> Style {
    Style::default().add_modifier(Modifier::REVERSED)
}

fn current_step(app: &App) -> usize {
    match &app.screen {
        Screen::Questions { group, .. } => Group::ALL.iter().position(|g| g == group).unwrap_or(0),
        Screen::Databases { .. } => 3,
        Screen::Working { .. } if app.survey.is_none() => 1,
        Screen::Working { .. } | Screen::Review { .. } => 7,
        Screen::Applying => 8,
        Screen::Done => 9,
    }
}

fn title(app: &App) -> String {
    let step = STEPS.get(current_step(app)).copied().unwrap_or("");
    format!(" mysql-ha setup: {step}")
}

fn help(app: &App) -> &'static str {
    if app.dialog.is_some() {
        return " Left/Right choose  Enter confirm  Esc safe choice";
    }
    match &app.screen {
        Screen::Questions { .. } => match app.question().map(|q| q.kind) {
            Some(Kind::Choice(_)) => {
                " Left/Right change  Enter next  Up previous  Esc back  Ctrl-C quit"
            }
            _ => " Enter next  Up previous  Ctrl-U clear  Esc back  Ctrl-C quit",
        },
        Screen::Databases { .. } => " Up/Down move  Space select  a all  Enter next  Esc back",
        Screen::Working { .. } => " Working...  Ctrl-C quit",
        Screen::Review { .. } if app.dry_run => {
            " Arrows/PgUp/PgDn scroll  Enter finish (dry run)  Esc back"
        }
        Screen::Review { .. } => " Arrows/PgUp/PgDn scroll  Enter apply  Esc back  Ctrl-C quit",
        Screen::Applying => " Ctrl-C stop at the next safe point",
        Screen::Done => " Enter quit",
    }
}

pub fn draw(frame: &mut Frame, app: &App) {
    let [top, body, bottom] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    frame.render_widget(Paragraph::new(title(app)).style(reversed()), top);
    frame.render_widget(Paragraph::new(help(app)).style(reversed()), bottom);
    let [side, main] =
        Layout::horizontal([Constraint::Length(25), Constraint::Min(20)]).areas(body);
    draw_steps(frame, app, side);
    match &app.screen {
        Screen::Questions { group, field } => draw_questions(frame, app, *group, *field, main),
        Screen::Databases { cursor } => draw_databases(frame, app, *cursor, main),
        Screen::Working { what } => {
            let mut lines = vec![Line::from(what.as_str())];
            if let Some(survey) = &app.survey {
                lines.push(Line::from(""));
                lines.extend(describe(survey).into_iter().map(Line::from));
            }
            frame.render_widget(
                Paragraph::new(lines)
                    .wrap(Wrap { trim: false })
                    .block(Block::bordered().title(" Please wait ")),
                main,
            )
        }
        Screen::Review { scroll, column } => draw_review(frame, app, (*scroll, *column), main),
        Screen::Applying => draw_progress(frame, app, main),
        Screen::Done => draw_done(frame, app, main),
    }
    if let Some(dialog) = &app.dialog {
        draw_dialog(frame, dialog, frame.area());
    }
}

fn draw_steps(frame: &mut Frame, app: &App, area: Rect) {
    let at = current_step(app);
    let lines: Vec<Line> = STEPS
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let (mark, style) = if i < at {
                ("[x] ", Style::default())
            } else if i == at {
                ("> ", bold())
            } else {
                ("    ", Style::default())
            };
            let mark = if i == at { " >  " } else { mark };
            Line::from(Span::styled(format!("{mark}{name}"), style))
        })
        .collect();
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Steps ")),
        area,
    );
}

fn masked(value: &str) -> String {
    "*".repeat(value.chars().count())
}

fn draw_questions(frame: &mut Frame, app: &App, group: Group, field: usize, area: Rect) {
    let mut lines: Vec<Line> = Vec::new();
    if let Some(survey) = &app.survey {
        lines.push(Line::from("Connected:"));
        lines.extend(
            describe(survey)
                .into_iter()
                .map(|l| Line::from(format!("  {l}"))),
        );
        lines.push(Line::from(""));
    }
    let list = questions::of_group(group, &app.answers);
    for (i, q) in list.iter().enumerate() {
        let value = if i == field {
            app.input.clone()
        } else {
            questions::current(&app.answers, q.key)
        };
        let shown = match q.kind {
            Kind::Secret => masked(&value),
            Kind::Choice(_) if i == field => format!("< {value} >"),
            _ => value,
        };
        let label = format!("{:<22} ", q.label);
        if i == field {
            lines.push(Line::from(vec![
                Span::styled(label, bold()),
                Span::styled(format!("{shown}_"), reversed()),
            ]));
        } else {
            lines.push(Line::from(format!("{label}{shown}")));
        }
    }
    if let Some(q) = list.get(field) {
        lines.push(Line::from(""));
        lines.push(Line::from(q.help));
        lines.push(Line::from(format!("answers-file key: {}", q.key)));
        if q.key == "replication.password" {
            if let Some(generated) = &app.generated_password {
                if app.input == *generated {
                    lines.push(Line::from(""));
                    lines.push(Line::from("Generated (shown only here, note it now):"));
                    lines.push(Line::from(Span::styled(generated.clone(), bold())));
                }
            }
        }
    }
    if let Some(message) = &app.message {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(format!("! {message}"), bold())));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(format!(" {} ", group.title()))),
        area,
    );
}

fn draw_databases(frame: &mut Frame, app: &App, cursor: usize, area: Rect) {
    let mut lines: Vec<Line> = Vec::new();
    let Some(survey) = &app.survey else {
        return;
    };
    lines.push(Line::from(format!(
        "Databases on the master {} (system schemas left out):",
        survey.master.host
    )));
    if !survey.replicated.is_empty() {
        lines.push(Line::from(format!(
            "already replicated: {}",
            survey.replicated.join(", ")
        )));
    }
    lines.push(Line::from(""));
    let height = area.height.saturating_sub(lines.len() as u16 + 5) as usize;
    let first = cursor.saturating_sub(height.saturating_sub(1));
    for (i, db) in survey
        .databases
        .iter()
        .enumerate()
        .skip(first)
        .take(height.max(1))
    {
        let mark = if app.selected.contains(&db.name) {
            "[x]"
        } else {
            "[ ]"
        };
        let text = format!("{mark} {:<32} {:>10}", db.name, human_bytes(db.bytes));
        lines.push(if i == cursor {
            Line::from(Span::styled(text, reversed()))
        } else {
            Line::from(text)
        });
    }
    let total: u64 = survey
        .databases
        .iter()
        .filter(|d| app.selected.contains(&d.name))
        .map(|d| d.bytes)
        .sum();
    lines.push(Line::from(""));
    lines.push(Line::from(format!(
        "{} selected, about {} to copy",
        app.selected.len(),
        human_bytes(total)
    )));
    if let Some(message) = &app.message {
        lines.push(Line::from(Span::styled(format!("! {message}"), bold())));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" Databases ")),
        area,
    );
}

fn draw_review(frame: &mut Frame, app: &App, (scroll, column): (u16, u16), area: Rect) {
    let text = Text::from(
        app.plan
            .iter()
            .map(|l| Line::from(l.as_str()))
            .collect::<Vec<_>>(),
    );
    let title = format!(
        " Plan: line {}/{}{} ",
        scroll as usize + 1,
        app.plan.len(),
        if app.dry_run { " (dry run)" } else { "" }
    );
    frame.render_widget(
        Paragraph::new(text)
            .scroll((scroll, column))
            .block(Block::bordered().title(title)),
        area,
    );
}

fn gauge_label(g: &Gauge) -> String {
    let of = g
        .total
        .map(|t| format!(" of about {}", human_bytes(t)))
        .unwrap_or_default();
    let eta = g
        .total
        .filter(|t| *t > g.bytes && g.bytes_per_second > 0.0)
        .map(|t| {
            format!(
                ", about {:.0} s left",
                (t - g.bytes) as f64 / g.bytes_per_second
            )
        })
        .unwrap_or_default();
    format!(
        "{}{of} at {}/s{eta}",
        human_bytes(g.bytes),
        human_bytes(g.bytes_per_second as u64)
    )
}

fn draw_progress(frame: &mut Frame, app: &App, area: Rect) {
    let gauge_height = if app.gauge.is_some() { 3 } else { 0 };
    let steps_height = (app.steps.len() as u16 + 2).min(area.height / 2).max(3);
    let [steps_area, gauge_area, log_area] = Layout::vertical([
        Constraint::Length(steps_height),
        Constraint::Length(gauge_height),
        Constraint::Min(3),
    ])
    .areas(area);
    let visible = steps_height.saturating_sub(2) as usize;
    let lines: Vec<Line> = app
        .steps
        .iter()
        .skip(app.steps.len().saturating_sub(visible))
        .map(|s| {
            let state = match s.state {
                StepState::Running => "....   ",
                StepState::Changed => "changed",
                StepState::Unchanged => "ok     ",
                StepState::Failed => "FAILED ",
            };
            let style = if s.state == StepState::Running || s.state == StepState::Failed {
                bold()
            } else {
                Style::default()
            };
            Line::from(Span::styled(format!("{state} {}", s.name), style))
        })
        .collect();
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Steps of the run ")),
        steps_area,
    );
    if let Some(g) = &app.gauge {
        let ratio = g
            .total
            .filter(|t| *t > 0)
            .map(|t| (g.bytes as f64 / t as f64).clamp(0.0, 1.0))
            .unwrap_or(0.0);
        frame.render_widget(
            GaugeWidget::default()
                .block(Block::bordered().title(" Seeding "))
                .gauge_style(reversed())
                .ratio(ratio)
                .label(gauge_label(g)),
            gauge_area,
        );
    }
    let height = log_area.height.saturating_sub(2) as usize;
    let log: Vec<Line> = app
        .log
        .iter()
        .skip(app.log.len().saturating_sub(height))
        .map(|l| Line::from(l.as_str()))
        .collect();
    frame.render_widget(
        Paragraph::new(log).block(Block::bordered().title(" Log ")),
        log_area,
    );
}

fn draw_done(frame: &mut Frame, app: &App, area: Rect) {
    let mut lines: Vec<Line> = Vec::new();
    match &app.ending {
        Some(Ending::Success(outcome)) => {
            lines.push(Line::from(Span::styled(
                "Replication is running and verified.",
                bold(),
            )));
            lines.push(Line::from(""));
            lines.push(Line::from(outcome.headline()));
            for (db, seconds) in &outcome.canary_seconds {
                lines.push(Line::from(format!(
                    "  canary row in {db} reached the slave in {seconds:.2} s"
                )));
            }
            lines.push(Line::from(""));
            lines.push(Line::from("Backups and run journal, on each node:"));
            lines.push(Line::from(format!("  {}", outcome.run_dir)));
            lines.push(Line::from(""));
            lines.push(Line::from("Next:"));
            lines.push(Line::from(
                "  mysql-ha status     replication state of both nodes",
            ));
            lines.push(Line::from(format!(
                "  mysql-ha rollback {}",
                outcome.run_id
            )));
            lines.push(Line::from(
                "                      puts this run's files back",
            ));
        }
        Some(Ending::DryRun) => {
            lines.push(Line::from(Span::styled(
                "Dry run: nothing was changed.",
                bold(),
            )));
            lines.push(Line::from(""));
            lines.push(Line::from(
                "Run `mysql-ha setup` without --dry-run to apply this plan.",
            ));
        }
        Some(Ending::Failed(message)) | Some(Ending::Stopped(message)) => {
            let head = if matches!(app.ending, Some(Ending::Stopped(_))) {
                "The run was stopped."
            } else {
                "The run failed."
            };
            lines.push(Line::from(Span::styled(head, bold())));
            lines.push(Line::from(""));
            lines.extend(message.lines().map(|l| Line::from(l.to_string())));
        }
        None => {}
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(Block::bordered().title(" Result ")),
        area,
    );
}

fn draw_dialog(frame: &mut Frame, dialog: &super::app::Dialog, screen: Rect) {
    let width = screen.width.saturating_sub(8).min(70);
    let height = screen.height.saturating_sub(4).min(12);
    let area = Rect {
        x: screen.x + (screen.width.saturating_sub(width)) / 2,
        y: screen.y + (screen.height.saturating_sub(height)) / 2,
        width,
        height,
    };
    frame.render_widget(Clear, area);
    let [text_area, buttons_area] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)])
        .areas(Block::bordered().inner(area));
    frame.render_widget(Block::bordered().title(format!(" {} ", dialog.title)), area);
    frame.render_widget(
        Paragraph::new(dialog.message.as_str()).wrap(Wrap { trim: false }),
        text_area,
    );
    let mut spans = Vec::new();
    for (i, choice) in dialog.choices.iter().enumerate() {
        let label = format!("[ {} ]", choice.label());
        spans.push(if i == dialog.cursor {
            Span::styled(label, reversed())
        } else {
            Span::raw(label)
        });
        spans.push(Span::raw("  "));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), buttons_area);
}
