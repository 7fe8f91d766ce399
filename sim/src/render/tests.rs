//! The timeline's colours follow each line's tone, and colour is all they add.

use super::*;
use crate::run::run_seed;
use crate::scenario;

fn leader_crash() -> RunReport {
    let scenario = scenario::builtin("leader-crash-acks-all").expect("built in");
    run_seed(1, &scenario)
}

/// The styled line of the timeline that holds `text`.
fn styled_line<'a>(styled: &'a str, text: &str) -> &'a str {
    (styled.lines())
        .find(|l| l.contains(text))
        .unwrap_or_else(|| panic!("no line holds {text:?}"))
}

#[test]
fn faults_are_red_their_ends_cyan_and_what_they_led_to_yellow() {
    let report = leader_crash();
    let styled = render_styled(&report, Style::Color);
    let crashed = styled_line(&styled, "crashed (a process crash (page cache kept))");
    assert!(crashed.contains("\x1b[1;31mcrashed"), "{crashed:?}");
    let restarted = styled_line(&styled, "restarted after a process crash (page cache kept)");
    assert!(restarted.contains("\x1b[36mrestarted"), "{restarted:?}");
    let fenced = styled_line(&styled, "fenced: no heartbeat within the session timeout");
    assert!(fenced.contains("\x1b[33mbroker-1 fenced"), "{fenced:?}");
    let registered = styled_line(&styled, "broker-2 registered (broker epoch 1)");
    assert!(!registered.contains("\x1b[33m"), "{registered:?}");
}

#[test]
fn the_plain_text_is_the_styled_text_without_its_colours() {
    let report = leader_crash();
    let styled = render_styled(&report, Style::Color);
    assert!(styled.contains('\x1b'));
    let mut stripped = String::new();
    let mut rest = styled.as_str();
    while let Some(start) = rest.find('\x1b') {
        stripped.push_str(&rest[..start]);
        let end = start
            + rest[start..]
                .find('m')
                .expect("an SGR sequence ends with m");
        rest = &rest[end + 1..];
    }
    stripped.push_str(rest);
    assert_eq!(stripped, render(&report));
}

#[test]
fn colours_only_on_a_terminal_without_no_color() {
    use std::ffi::OsStr;
    assert_eq!(Style::choose(true, None), Style::Color);
    assert_eq!(Style::choose(true, Some(OsStr::new(""))), Style::Color);
    assert_eq!(Style::choose(true, Some(OsStr::new("1"))), Style::Plain);
    assert_eq!(Style::choose(false, None), Style::Plain);
}

#[test]
fn plain_paint_is_the_text_itself() {
    assert_eq!(Style::Plain.paint(RED, "crashed"), "crashed");
    assert_eq!(
        Style::Color.paint(RED, "crashed"),
        "\x1b[1;31mcrashed\x1b[0m"
    );
}
