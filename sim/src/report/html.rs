//! `index.html`: the page, with its script, its styles and the data it opens
//! with: the summary (without the partitions' logs and the groups' commits),
//! the overview of the trace, the first chunk of the trace and whichever
//! partition and group details are small. The rest it loads from the files
//! beside it when it needs them (see `chunks`).
//!
//! The data go into `<script type="application/json">` elements, which the
//! browser never runs; every `<` in them is written `\u003c`, so no text in a
//! record value can close the element early.

use super::Summary;
use std::io::{self, Write};

const TEMPLATE: &str = include_str!("template.html");
const STYLE: &str = include_str!("report.css");
const SCRIPT: &str = include_str!("report.js");

/// The ids of the data elements, as the page's script reads them.
pub const SUMMARY_ID: &str = "kafkasim-summary";
pub const OVERVIEW_ID: &str = "kafkasim-overview";

/// The class of the elements holding data the page would otherwise load from
/// a file (the first chunk of the trace, small partition and group details);
/// each names its file in `data-key`.
pub const INLINE_CLASS: &str = "kafkasim-inline";

/// Escapes JSON text for a `<script type="application/json">` element.
pub fn embed(json: &str, out: &mut String) {
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            _ => out.push(c),
        }
    }
}

/// `embed`, written straight to `out`.
fn embed_to(json: &str, out: &mut impl Write) -> io::Result<()> {
    let mut rest = json;
    while let Some(at) = rest.find('<') {
        out.write_all(&rest.as_bytes()[..at])?;
        out.write_all(b"\\u003c")?;
        rest = &rest[at + 1..];
    }
    out.write_all(rest.as_bytes())
}

fn escape_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// What the page embeds.
pub struct Page<'a> {
    pub summary: &'a Summary,
    /// The summary as the page reads it (`write_details` took the bulky parts out).
    pub summary_json: &'a str,
    pub overview_json: &'a str,
    /// `(key, JSON)` of each file's data the page finds inside itself.
    pub inline: &'a [(String, String)],
}

/// Writes the whole page to `out`, piece by piece: a long run's page is never
/// held in memory at once.
pub fn write_page(out: &mut impl Write, page: &Page) -> io::Result<()> {
    let summary = page.summary;
    let title = escape_text(&format!(
        "kafkasim: {} seed {} ({})",
        summary.scenario, summary.seed, summary.verdict.kind
    ));
    let mut rest = TEMPLATE;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else {
            break;
        };
        out.write_all(&rest.as_bytes()[..start])?;
        match &rest[start + 2..start + len] {
            "TITLE" => out.write_all(title.as_bytes())?,
            "STYLE" => out.write_all(STYLE.as_bytes())?,
            "SCRIPT" => out.write_all(SCRIPT.as_bytes())?,
            "SUMMARY" => embed_to(page.summary_json, out)?,
            "OVERVIEW" => embed_to(page.overview_json, out)?,
            "INLINE" => write_inline(out, page.inline)?,
            other => unreachable!("the report template has no placeholder {other}"),
        }
        rest = &rest[start + len + 2..];
    }
    out.write_all(rest.as_bytes())
}

fn write_inline(out: &mut impl Write, inline: &[(String, String)]) -> io::Result<()> {
    for (key, json) in inline {
        let key = escape_text(key);
        write!(
            out,
            "<script type=\"application/json\" class=\"{INLINE_CLASS}\" data-key=\"{key}\">"
        )?;
        embed_to(json, out)?;
        out.write_all(b"</script>\n")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_json_never_closes_its_script_element() {
        let json = r#"{"value":"</script><b>é"}"#;
        let mut out = String::new();
        embed(json, &mut out);
        let mut written = Vec::new();
        embed_to(json, &mut written).expect("a Vec takes every byte");
        assert_eq!(out.as_bytes(), written, "both ways escape alike");
        assert!(!out.contains('<'));
        let back: serde_json::Value = serde_json::from_str(&out).expect("still JSON");
        assert_eq!(back["value"], "</script><b>é");
    }

    #[test]
    fn the_template_names_each_data_element_once() {
        for id in [SUMMARY_ID, OVERVIEW_ID] {
            assert_eq!(TEMPLATE.matches(&format!("id=\"{id}\"")).count(), 1, "{id}");
        }
    }
}
