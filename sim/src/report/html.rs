//! `index.html`: the page, with its script, its styles and the data inside it.
//!
//! The data go into `<script type="application/json">` elements, which the
//! browser never runs; every `<` in them is written `\u003c`, so no text in a
//! record value can close the element early.

use super::Summary;

const TEMPLATE: &str = include_str!("template.html");
const STYLE: &str = include_str!("report.css");
const SCRIPT: &str = include_str!("report.js");

/// The ids of the data elements, as the page's script reads them.
pub const SUMMARY_ID: &str = "kafkasim-summary";
pub const TRACE_ID: &str = "kafkasim-trace";
pub const HISTORY_ID: &str = "kafkasim-history";

/// Escapes JSON text for a `<script type="application/json">` element.
fn embed(json: &str, out: &mut String) {
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            _ => out.push(c),
        }
    }
}

/// Lines of JSON as one JSON array, escaped.
fn embed_lines(lines: &[String], out: &mut String) {
    out.push('[');
    for (i, line) in lines.iter().enumerate() {
        if i > 0 {
            out.push_str(",\n");
        }
        embed(line, out);
    }
    out.push(']');
}

fn escape_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The whole page.
pub fn page(summary: &Summary, summary_json: &str, trace: &[String], history: &[String]) -> String {
    let title = escape_text(&format!(
        "kafkasim: {} seed {} ({})",
        summary.scenario, summary.seed, summary.verdict.kind
    ));
    let size = trace.iter().map(String::len).sum::<usize>()
        + history.iter().map(String::len).sum::<usize>()
        + summary_json.len()
        + TEMPLATE.len()
        + STYLE.len()
        + SCRIPT.len();
    let mut out = String::with_capacity(size + size / 8);
    let mut rest = TEMPLATE;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        out.push_str(&rest[..start]);
        match &rest[start + 2..start + len] {
            "TITLE" => out.push_str(&title),
            "STYLE" => out.push_str(STYLE),
            "SCRIPT" => out.push_str(SCRIPT),
            "SUMMARY" => embed(summary_json, &mut out),
            "TRACE" => embed_lines(trace, &mut out),
            "HISTORY" => embed_lines(history, &mut out),
            other => panic!("the report template has no placeholder {other}"),
        }
        rest = &rest[start + len + 2..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_json_never_closes_its_script_element() {
        let mut out = String::new();
        embed(r#"{"value":"</script><b>"}"#, &mut out);
        assert!(!out.contains('<'));
        let back: serde_json::Value = serde_json::from_str(&out).expect("still JSON");
        assert_eq!(back["value"], "</script><b>");
    }

    #[test]
    fn the_template_names_each_data_element_once() {
        for id in [SUMMARY_ID, TRACE_ID, HISTORY_ID] {
            assert_eq!(TEMPLATE.matches(&format!("id=\"{id}\"")).count(), 1, "{id}");
        }
    }
}
