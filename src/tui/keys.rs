//! Which [`Action`] a key press or a paste means, given what the dashboard shows.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::app::{Action, App, Overlay, Screen};
use super::ui::{CompareView, DetailView, RunsTable};

/// What pasted `text` types: into a text field, its characters, a line break or tab as a
/// space (a note, a filter and the form's fields are one line); elsewhere nothing, since a
/// paste is no command.
pub fn paste_action(app: &App, text: &str) -> Option<Action> {
    if text.is_empty() || !app.overlay.as_ref().is_some_and(Overlay::takes_text) {
        return None;
    }
    let typed = text
        .replace("\r\n", "\n")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    Some(Action::InputText(typed))
}

/// The action a key press means in the app's current state, on a terminal `width` columns wide
/// (the digits sort by the columns on screen, and which fit depends on the width).
pub fn key_action(app: &App, key: KeyEvent, width: u16) -> Option<Action> {
    if key.kind != KeyEventKind::Press {
        return None;
    }
    // Ctrl-C in a text being edited cancels the edit, as Esc does: quitting would drop the
    // text with the screen.
    if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
        let editing = app.overlay.as_ref().is_some_and(Overlay::takes_text);
        return Some(if editing {
            Action::Cancel
        } else {
            Action::Quit
        });
    }
    if let Some(o) = &app.overlay {
        if o.takes_text() {
            let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
            return match key.code {
                KeyCode::Char('u') if ctrl => Some(Action::ClearInput),
                KeyCode::Char('a') if ctrl => Some(Action::CursorHome),
                KeyCode::Char('e') if ctrl => Some(Action::CursorEnd),
                KeyCode::Left => Some(Action::CursorLeft),
                KeyCode::Right => Some(Action::CursorRight),
                KeyCode::Home => Some(Action::CursorHome),
                KeyCode::End => Some(Action::CursorEnd),
                KeyCode::Delete => Some(Action::Delete),
                // Other control keys are not text: Ctrl-W must not type a 'w'.
                KeyCode::Char(_) if ctrl || key.modifiers.contains(KeyModifiers::ALT) => None,
                KeyCode::Char(c) => Some(Action::Input(c)),
                KeyCode::Backspace => Some(Action::Backspace),
                KeyCode::Enter => Some(Action::Submit),
                KeyCode::Esc => Some(Action::Cancel),
                KeyCode::Tab | KeyCode::Down => Some(Action::NextField),
                KeyCode::BackTab | KeyCode::Up => Some(Action::PrevField),
                _ => None,
            };
        }
        // A deletion is answered by `y` alone; any other key, `q` too, keeps the run.
        if matches!(o, Overlay::ConfirmDelete(_)) {
            return Some(match key.code {
                KeyCode::Char('y') => Action::Input('y'),
                _ => Action::Cancel,
            });
        }
        return match key.code {
            KeyCode::Char('q') => Some(Action::Quit),
            KeyCode::Char('?') => Some(Action::Help),
            KeyCode::Char(c @ ('y' | 'n' | 'a' | 'r')) => Some(Action::Input(c)),
            KeyCode::Enter => Some(Action::Submit),
            KeyCode::Esc => Some(Action::Cancel),
            KeyCode::Down | KeyCode::Char('j') => Some(Action::Down),
            KeyCode::Up | KeyCode::Char('k') => Some(Action::Up),
            KeyCode::PageDown => Some(Action::PageDown),
            KeyCode::PageUp => Some(Action::PageUp),
            _ => None,
        };
    }
    let common = match key.code {
        KeyCode::Char('q') => Some(Action::Quit),
        KeyCode::Char('?') => Some(Action::Help),
        KeyCode::Esc | KeyCode::Backspace => Some(Action::Back),
        KeyCode::Char('n') => Some(Action::EditNotes),
        KeyCode::Char('t') => Some(Action::EditTags),
        KeyCode::Char('X') => Some(Action::AskStop),
        KeyCode::Char('D') => Some(Action::DeleteRun),
        KeyCode::Char('C') => Some(Action::Resume),
        KeyCode::Char('r') => Some(Action::StartForm),
        KeyCode::Char('R') => Some(Action::StartLike),
        KeyCode::Char('e') => Some(Action::PickExperiment),
        _ => None,
    };
    if common.is_some() {
        return common;
    }
    match app.screen {
        Screen::Runs => match key.code {
            KeyCode::Down | KeyCode::Char('j') => Some(Action::Down),
            KeyCode::Up | KeyCode::Char('k') => Some(Action::Up),
            KeyCode::PageDown => Some(Action::PageDown),
            KeyCode::PageUp => Some(Action::PageUp),
            KeyCode::Home | KeyCode::Char('g') => Some(Action::Top),
            KeyCode::End | KeyCode::Char('G') => Some(Action::Bottom),
            KeyCode::Enter => Some(Action::Open),
            KeyCode::Char(' ') => Some(Action::ToggleMark),
            KeyCode::Char('u') => Some(Action::ClearMarks),
            KeyCode::Char('c') => Some(Action::Compare),
            KeyCode::Char('/') => Some(Action::StartFilter),
            KeyCode::Char('s') => Some(Action::CycleSort),
            KeyCode::Char('S') => Some(Action::ReverseSort),
            KeyCode::Char(d @ '0'..='9') => {
                let i = (d as usize - '0' as usize + 9) % 10;
                RunsTable::columns_on_screen(width, app)
                    .get(i)
                    .copied()
                    .map(Action::SortBy)
            }
            _ => None,
        },
        Screen::Detail(_) | Screen::Compare => {
            // The run's record scrolls where it is on screen, the compare table where it
            // hides rows.
            let scrolls =
                DetailView::shows_info(app, width) || CompareView::scroll_limits(app).is_some();
            match key.code {
                KeyCode::Down | KeyCode::Char('j') if scrolls => Some(Action::Down),
                KeyCode::Up | KeyCode::Char('k') if scrolls => Some(Action::Up),
                KeyCode::PageDown if scrolls => Some(Action::PageDown),
                KeyCode::PageUp if scrolls => Some(Action::PageUp),
                KeyCode::Home | KeyCode::Char('g') if scrolls => Some(Action::Top),
                KeyCode::End | KeyCode::Char('G') if scrolls => Some(Action::Bottom),
                KeyCode::Char('s') => Some(Action::ToggleSmoothing),
                KeyCode::Char('x') => Some(Action::CycleXAxis),
                // Each where it shows: a key that changes what another screen will show would
                // surprise there, unseen here.
                KeyCode::Char('m') if app.screen == Screen::Compare => {
                    Some(Action::CycleCompareMetric)
                }
                KeyCode::Tab if matches!(app.screen, Screen::Detail(_)) => Some(Action::SwitchTab),
                // The table's keys (/ space enter u S 1-9) do nothing here: said, with the
                // keys that do something and the way back, rather than nothing at all.
                code if app.screen == Screen::Compare => key_name(code).map(|k| {
                    let moving = matches!(
                        code,
                        KeyCode::Down
                            | KeyCode::Up
                            | KeyCode::PageDown
                            | KeyCode::PageUp
                            | KeyCode::Home
                            | KeyCode::End
                            | KeyCode::Char('j' | 'k' | 'g' | 'G')
                    );
                    let text = if moving {
                        format!(
                            "{k} scrolls the compare table where it hides rows; it shows them \
                             all · esc back to the runs table"
                        )
                    } else {
                        let scroll = if scrolls { " · j/k scroll" } else { "" };
                        format!(
                            "{k} does nothing in compare: m metric · s smoothing · x x-axis\
                             {scroll} · esc back to the table"
                        )
                    };
                    Action::Status(text, true)
                }),
                _ => None,
            }
        }
    }
}

/// A key as the footer and help name it, for saying what it does not do; None for keys no one
/// presses for a command (F-keys, modifiers).
fn key_name(code: KeyCode) -> Option<String> {
    Some(match code {
        KeyCode::Char(' ') => "space".into(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Enter => "enter".into(),
        KeyCode::Tab => "tab".into(),
        KeyCode::Home => "home".into(),
        KeyCode::End => "end".into(),
        KeyCode::PageUp => "pgup".into(),
        KeyCode::PageDown => "pgdn".into(),
        KeyCode::Up => "↑".into(),
        KeyCode::Down => "↓".into(),
        KeyCode::Left => "←".into(),
        KeyCode::Right => "→".into(),
        KeyCode::Delete => "delete".into(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::fixtures::run;
    use crate::lab::RunId;
    use crate::tui::app::tests::{app_with, ids, press, three};
    use crate::tui::app::Effect;
    use crate::tui::filter::Column;

    #[test]
    fn keys_depend_on_screen_and_overlay() {
        let mut app = three();
        assert_eq!(key_action(&app, press('s'), 100), Some(Action::CycleSort));
        assert_eq!(
            key_action(&app, press('1'), 100),
            Some(Action::SortBy(Column::Id))
        );
        let mut release = press('q');
        release.kind = KeyEventKind::Release;
        assert_eq!(key_action(&app, release, 100), None);
        app.update(Action::Open);
        assert_eq!(
            key_action(&app, press('s'), 100),
            Some(Action::ToggleSmoothing)
        );
        app.update(Action::StartFilter);
        assert_eq!(key_action(&app, press('q'), 100), Some(Action::Input('q')));
    }

    #[test]
    fn digits_sort_by_the_columns_on_screen() {
        let app = three();
        let digit = |d: char, width: u16| match key_action(&app, press(d), width) {
            Some(Action::SortBy(c)) => Some(c.title()),
            _ => None,
        };
        // 80 columns: id name model status epoch best dev, last loss, img/s; batch and dim,
        // which the three runs share, after them.
        let shown: Vec<&str> = RunsTable::columns_on_screen(80, &app)
            .iter()
            .map(|c| c.title())
            .collect();
        assert_eq!(
            shown,
            [
                "id",
                "name",
                "model",
                "status",
                "epoch",
                "best dev",
                "last loss",
                "img/s"
            ]
        );
        let keys: Vec<Option<&str>> = "1234567890".chars().map(|d| digit(d, 80)).collect();
        let mut want: Vec<Option<&str>> = shown.iter().copied().map(Some).collect();
        want.extend([None, None]);
        assert_eq!(
            keys, want,
            "eight columns: 1-8 sort by them, 9 and 0 by nothing"
        );
        // 160 columns show them all: 0 is the tenth, and img/s, started and duration (the
        // 13th to 15th) are on screen but past the digits.
        assert_eq!(
            RunsTable::columns_on_screen(160, &app),
            Column::ALL.to_vec()
        );
        assert_eq!(digit('4', 160), Some("input"));
        assert_eq!(digit('6', 160), Some("dim"));
        assert_eq!(digit('8', 160), Some("lr"));
        assert_eq!(digit('9', 160), Some("status"));
        assert_eq!(digit('0', 160), Some("epoch"));
    }

    /// `D` asks to delete the run on screen, in the table and in its detail; its question takes
    /// `y` alone, and any other key (Enter, `q`, `n`) keeps the run.
    #[test]
    fn d_deletes_and_only_y_answers_its_question() {
        use ratatui::crossterm::event::{KeyCode, KeyEvent};
        let mut app = three();
        assert_eq!(key_action(&app, press('D'), 100), Some(Action::DeleteRun));
        app.update(Action::Open);
        assert_eq!(key_action(&app, press('D'), 100), Some(Action::DeleteRun));
        app.overlay = Some(Overlay::ConfirmDelete(Default::default()));
        assert_eq!(key_action(&app, press('y'), 100), Some(Action::Input('y')));
        for other in [
            press('q'),
            press('n'),
            press('Y'),
            KeyEvent::from(KeyCode::Enter),
            KeyEvent::from(KeyCode::Esc),
        ] {
            assert_eq!(
                key_action(&app, other, 100),
                Some(Action::Cancel),
                "{other:?}"
            );
        }
    }

    /// Ctrl-C in a text being edited (the filter, a note, tags, the start form) cancels the edit
    /// as Esc does, keeping the dashboard open; elsewhere it quits.
    #[test]
    fn ctrl_c_cancels_an_edit_and_quits_elsewhere() {
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        let mut app = three();
        assert_eq!(key_action(&app, ctrl_c, 80), Some(Action::Quit));
        let note = app.selected_run().map(|r| r.notes.clone());
        app.update(Action::EditNotes);
        app.type_text("half a thought");
        let cancel = key_action(&app, ctrl_c, 80);
        assert_eq!(cancel, Some(Action::Cancel));
        assert_eq!(app.update(Action::Cancel), vec![], "nothing written");
        assert!(!app.quit && app.overlay.is_none());
        assert_eq!(app.selected_run().map(|r| r.notes.clone()), note);
        app.update(Action::StartFilter);
        app.type_text("model=alexnet");
        assert_eq!(key_action(&app, ctrl_c, 80), Some(Action::Cancel));
        app.update(Action::Cancel);
        assert_eq!(
            (app.view.len(), app.quit),
            (3, false),
            "the filter of before"
        );
    }

    #[test]
    fn ctrl_u_empties_the_text_being_edited_and_other_control_keys_type_nothing() {
        let mut app = three();
        let ctrl = |c: char| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
        app.update(Action::StartFilter);
        app.type_text("model=x");
        assert_eq!(key_action(&app, ctrl('u'), 100), Some(Action::ClearInput));
        assert_eq!(key_action(&app, ctrl('w'), 100), None);
        app.update(Action::ClearInput);
        assert_eq!(app.filter_input, "");
        assert_eq!(app.filter_error, None);
        assert_eq!(ids(&app), vec![3, 2, 1]);
        app.update(Action::Cancel);
        app.update(Action::EditNotes);
        app.update(Action::Input('z'));
        app.update(Action::ClearInput);
        app.update(Action::Input('y'));
        assert_eq!(
            app.update(Action::Submit),
            vec![Effect::SetNotes(RunId(3), "y".into())]
        );
    }

    /// In compare, the table's keys (/ space enter u S 1-9, and the moving keys where its table
    /// shows every row) say that they do nothing there, with compare's keys and the way back,
    /// where they did nothing and said nothing.
    #[test]
    fn keys_that_do_nothing_in_compare_say_so() {
        use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        let mut app = app_with(vec![run(1, "a", "resnet18"), run(2, "b", "alexnet")]);
        app.update(Action::ToggleMark);
        app.update(Action::ToggleMark);
        app.update(Action::Compare);
        assert_eq!(app.screen, Screen::Compare);
        let said = |code| match key_action(&app, KeyEvent::new(code, KeyModifiers::NONE), 120) {
            Some(Action::Status(text, true)) => text,
            other => panic!("{code:?}: {other:?}"),
        };
        assert_eq!(
            said(KeyCode::Char('/')),
            "/ does nothing in compare: m metric · s smoothing · x x-axis · esc back to the table"
        );
        for (code, name) in [
            (KeyCode::Char(' '), "space"),
            (KeyCode::Enter, "enter"),
            (KeyCode::Char('u'), "u"),
            (KeyCode::Char('S'), "S"),
            (KeyCode::Char('3'), "3"),
        ] {
            assert!(said(code).starts_with(&format!("{name} does nothing in compare")));
        }
        // The moving keys, where the table shows every row, say when they scroll.
        for (code, name) in [(KeyCode::Char('G'), "G"), (KeyCode::Home, "home")] {
            assert!(said(code).starts_with(&format!(
                "{name} scrolls the compare table where it hides rows; it shows them all"
            )));
        }
        // Compare's own keys, and the run's keys that say their own reason, are left as they were.
        let key = |c| {
            key_action(
                &app,
                KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE),
                120,
            )
        };
        assert_eq!(key('m'), Some(Action::CycleCompareMetric));
        assert_eq!(key('X'), Some(Action::AskStop));
        // In a run's detail, keys it has no use for are left unsaid, as before.
        app.update(Action::Back);
        app.update(Action::Open);
        let slash = KeyEvent::new(KeyCode::Char('/'), KeyModifiers::NONE);
        assert_eq!(key_action(&app, slash, 120), None);
    }

    /// Tab (the run's tabs) and m (the compared metric) act where they show: on the compare
    /// screen Tab does not flip the next run's tab unseen, nor m the comparison from a run.
    #[test]
    fn keys_change_only_what_their_screen_shows() {
        use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        let mut app = app_with(vec![run(1, "a", "resnet18"), run(2, "b", "alexnet")]);
        let press = |c| KeyEvent::new(c, KeyModifiers::NONE);
        app.update(Action::Open);
        assert_eq!(
            key_action(&app, press(KeyCode::Tab), 120),
            Some(Action::SwitchTab)
        );
        assert_eq!(key_action(&app, press(KeyCode::Char('m')), 120), None);
        app.update(Action::Back);
        app.update(Action::ToggleMark);
        app.update(Action::ToggleMark);
        app.update(Action::Compare);
        assert_eq!(app.screen, Screen::Compare);
        // Said to do nothing there, rather than flip a tab unseen.
        assert!(matches!(
            key_action(&app, press(KeyCode::Tab), 120),
            Some(Action::Status(..))
        ));
        assert_eq!(
            key_action(&app, press(KeyCode::Char('m')), 120),
            Some(Action::CycleCompareMetric)
        );
    }
}
