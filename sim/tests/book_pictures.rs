//! The book's pictures, kept whole.
//!
//! The concept pictures in `book/src/images/` are SVG files written by hand. mdbook
//! copies them as they are and a browser shows a broken one as nothing at all, so
//! this test checks what neither would: every picture a chapter shows exists, has an
//! alt text and, for a drawing, a one-line caption under it; every file in
//! `images/` is shown by some chapter; and every SVG parses as XML and stands
//! alone (a `viewBox`, a `<title>`, a light card behind it so that it reads in the
//! dark themes too, and nothing loaded from outside the file).

use std::path::{Path, PathBuf};

fn book_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src")
}

/// Every chapter of the book: its file name and its text.
fn chapters() -> Vec<(String, String)> {
    let mut chapters: Vec<(String, String)> = std::fs::read_dir(book_src())
        .expect("book/src exists")
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .map(|path| {
            let name = path.file_name().expect("a file name").to_string_lossy();
            let text = std::fs::read_to_string(&path).expect("a chapter is readable");
            (name.into_owned(), text)
        })
        .collect();
    chapters.sort();
    chapters
}

/// A picture a chapter shows: `![alt](images/FILE)`.
struct Shown {
    chapter: String,
    alt: String,
    file: String,
    /// The first non-empty line after the picture's own.
    next_line: String,
}

/// Every `![alt](images/…)` of every chapter. Each stands on a line of its own.
fn shown_pictures() -> Vec<Shown> {
    let mut shown = Vec::new();
    for (chapter, text) in chapters() {
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let Some(rest) = line.trim().strip_prefix("![") else {
                continue;
            };
            let (alt, target) = rest
                .split_once("](")
                .unwrap_or_else(|| panic!("{chapter}: a picture without a target: {line}"));
            let Some(file) = target
                .strip_suffix(')')
                .and_then(|t| t.strip_prefix("images/"))
            else {
                panic!(
                    "{chapter}: a picture must be `![alt](images/FILE)` on its own line: {line}"
                );
            };
            let next_line = lines[i + 1..]
                .iter()
                .find(|l| !l.trim().is_empty())
                .map(|l| l.trim().to_string())
                .unwrap_or_default();
            shown.push(Shown {
                chapter: chapter.clone(),
                alt: alt.to_string(),
                file: file.to_string(),
                next_line,
            });
        }
    }
    shown
}

/// The file names in `book/src/images/`.
fn image_files() -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(book_src().join("images"))
        .expect("book/src/images exists")
        .map(|entry| {
            let entry = entry.expect("a directory entry");
            entry.file_name().to_string_lossy().into_owned()
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_picture_a_chapter_shows_exists_and_has_an_alt_text() {
    let shown = shown_pictures();
    assert!(!shown.is_empty(), "the book shows no pictures");
    for picture in &shown {
        let path = book_src().join("images").join(&picture.file);
        assert!(
            path.is_file(),
            "{} shows images/{}, which does not exist",
            picture.chapter,
            picture.file
        );
        assert!(
            picture.alt.trim().len() >= 20,
            "{} shows images/{} with no real alt text: say what the picture shows",
            picture.chapter,
            picture.file
        );
    }
}

/// A drawing is followed by its caption: one line in italics, `*…*`.
#[test]
fn every_drawing_has_a_one_line_caption() {
    for picture in shown_pictures().iter().filter(|p| p.file.ends_with(".svg")) {
        let caption = &picture.next_line;
        assert!(
            caption.len() > 2 && caption.starts_with('*') && caption.ends_with('*'),
            "{} shows images/{} without a caption: put one line in italics under it \
             (found {caption:?})",
            picture.chapter,
            picture.file
        );
    }
}

#[test]
fn every_file_in_images_is_shown_by_a_chapter() {
    let shown = shown_pictures();
    for file in image_files() {
        assert!(
            shown.iter().any(|picture| picture.file == file),
            "book/src/images/{file} is shown by no chapter: show it or delete it"
        );
    }
}

/// Whether `value` reaches outside the file: anything but a fragment (`#id`).
fn is_external(value: &str) -> bool {
    let value = value.trim();
    !value.is_empty() && !value.starts_with('#')
}

/// Parses one SVG and checks that it stands alone; returns what is wrong, if anything.
fn svg_problems(file: &str, text: &str) -> Vec<String> {
    let document = match roxmltree::Document::parse(text) {
        Ok(document) => document,
        Err(error) => return vec![format!("{file} is not well-formed XML: {error}")],
    };
    let mut problems = Vec::new();
    let root = document.root_element();
    if root.tag_name().name() != "svg"
        || root.tag_name().namespace() != Some("http://www.w3.org/2000/svg")
    {
        problems.push(format!("{file}: the root element is not an SVG <svg>"));
    }
    let view_box: Vec<f64> = (root.attribute("viewBox").unwrap_or_default())
        .split_whitespace()
        .filter_map(|n| n.parse().ok())
        .collect();
    if view_box.len() != 4 || view_box[2] <= 0.0 || view_box[3] <= 0.0 {
        problems.push(format!("{file}: no usable viewBox"));
    }
    let has_title = root
        .children()
        .any(|n| n.has_tag_name("title") && n.text().is_some_and(|t| !t.trim().is_empty()));
    if !has_title {
        problems.push(format!("{file}: no <title> naming the picture"));
    }
    // The card behind the drawing: the first shape drawn is a rectangle of the
    // whole picture, filled white, so dark themes show dark text on light.
    let first_shape = root
        .children()
        .filter(|n| n.is_element())
        .find(|n| !matches!(n.tag_name().name(), "title" | "desc" | "defs"));
    let card = first_shape.is_some_and(|n| {
        n.has_tag_name("rect")
            && n.attribute("fill")
                .is_some_and(|f| matches!(f, "#ffffff" | "#fff" | "white"))
    });
    if !card {
        problems.push(format!(
            "{file}: the first shape is not a white rectangle behind the drawing"
        ));
    }
    for node in document.descendants().filter(|n| n.is_element()) {
        let name = node.tag_name().name();
        if matches!(name, "image" | "foreignObject" | "script") {
            problems.push(format!(
                "{file}: a <{name}> element; draw with shapes and text"
            ));
        }
        for attribute in node.attributes() {
            if attribute.name() == "href" && is_external(attribute.value()) {
                problems.push(format!(
                    "{file}: <{name}> refers to {:?} outside the file",
                    attribute.value()
                ));
            }
        }
        if name == "text" && node.text().is_none_or(|t| t.trim().is_empty()) {
            let has_span_text = node
                .descendants()
                .any(|d| d.is_text() && d.text().is_some_and(|t| !t.trim().is_empty()));
            if !has_span_text {
                problems.push(format!("{file}: an empty <text>"));
            }
        }
        if name == "style" {
            let css = node.text().unwrap_or_default();
            if css.contains("@import") || css.contains("@font-face") || css.contains("url(http") {
                problems.push(format!("{file}: its style loads something from outside"));
            }
        }
    }
    problems
}

#[test]
fn every_svg_parses_and_stands_alone() {
    let mut svgs = 0;
    let mut problems = Vec::new();
    for file in image_files().into_iter().filter(|f| f.ends_with(".svg")) {
        let text = std::fs::read_to_string(book_src().join("images").join(&file))
            .expect("an SVG is readable text");
        problems.extend(svg_problems(&file, &text));
        svgs += 1;
    }
    assert!(
        svgs >= 7,
        "the book has {svgs} SVG pictures; it teaches with at least seven"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_svg_check_catches_a_broken_picture() {
    let broken = r#"<svg xmlns="http://www.w3.org/2000/svg"><rect></svg>"#;
    assert!(svg_problems("broken.svg", broken)[0].contains("not well-formed"));
    let outside = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">
        <title>t</title><rect fill="#ffffff" width="10" height="10"/>
        <image href="https://example.org/x.png"/><text> </text></svg>"##;
    let problems = svg_problems("outside.svg", outside);
    assert!(
        problems.iter().any(|p| p.contains("<image>")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("outside the file")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("empty <text>")),
        "{problems:?}"
    );
}
