//! Writing a user's files: never through a link, never over a file without leave.
//!
//! Every file kafkasim writes (a report's files, `shrink --out`) goes through
//! `create`: an entry already at the path is replaced only with the user's
//! leave (`--force`), and then it is *removed* before a new file is created in
//! its place with `O_CREAT | O_EXCL` (`OpenOptions::create_new`). So a symbolic
//! link planted at the path is replaced by a file, and what it pointed to is
//! never opened: `File::create` would follow the link and truncate its target.
//! A directory at the path is never removed.
//!
//! `check_output` looks at a path before any work starts, so a command that
//! runs for minutes does not find at its end that it may not write its result.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

/// What is at a path, without following a link there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    Missing,
    File,
    Link,
    Directory,
    /// A FIFO, a device or a socket.
    Special,
}

/// What is at `path`, the link itself when it is a link.
pub fn entry(path: &Path) -> io::Result<Entry> {
    match std::fs::symlink_metadata(path) {
        Ok(found) => {
            let kind = found.file_type();
            Ok(if kind.is_symlink() {
                Entry::Link
            } else if kind.is_dir() {
                Entry::Directory
            } else if kind.is_file() {
                Entry::File
            } else {
                Entry::Special
            })
        }
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(Entry::Missing),
        Err(error) => Err(error),
    }
}

/// Whether `path` may be written: nothing is there, or (with `force`) a file
/// or a link is. Says why not in words that complete "cannot write PATH: …".
pub fn check_output(path: &Path, force: bool) -> Result<(), String> {
    let found = entry(path).map_err(|error| error.to_string())?;
    match found {
        Entry::Missing => {}
        Entry::File | Entry::Link if force => {}
        Entry::File => return Err("it exists; pass --force to replace it".into()),
        Entry::Link => {
            return Err("it is a symbolic link; pass --force to replace the link itself".into())
        }
        Entry::Directory => return Err("it is a directory".into()),
        Entry::Special => return Err("it is not a regular file".into()),
    }
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    match std::fs::metadata(parent) {
        Ok(found) if found.is_dir() => Ok(()),
        Ok(_) => Err(format!("{} is not a directory", parent.display())),
        Err(error) => Err(format!("{}: {error}", parent.display())),
    }
}

/// Creates a new file at `path`, replacing a file or a link there when
/// `replace` is given (the link itself goes; its target is left alone).
pub fn create(path: &Path, replace: bool) -> io::Result<File> {
    match entry(path)? {
        Entry::Missing => {}
        Entry::File | Entry::Link if replace => std::fs::remove_file(path)?,
        Entry::File | Entry::Link => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "it exists; pass --force to replace it",
            ))
        }
        Entry::Directory => return Err(io::Error::other("it is a directory")),
        Entry::Special => return Err(io::Error::other("it is not a regular file")),
    }
    OpenOptions::new().write(true).create_new(true).open(path)
}

/// `create`, then all of `bytes`.
pub fn write(path: &Path, bytes: &[u8], replace: bool) -> io::Result<()> {
    use io::Write as _;
    let mut file = create(path, replace)?;
    file.write_all(bytes)?;
    file.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("kafkasim-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[cfg(unix)]
    #[test]
    fn replacing_a_link_leaves_its_target_alone() {
        let dir = scratch("link");
        let target = dir.join("precious.txt");
        std::fs::write(&target, "keep me").unwrap();
        let link = dir.join("trace.jsonl");
        std::os::unix::fs::symlink(&target, &link).unwrap();

        assert!(create(&link, false).is_err(), "no leave, no write");
        write(&link, b"new", true).unwrap();

        assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
        assert_eq!(entry(&link).unwrap(), Entry::File);
        assert_eq!(std::fs::read_to_string(&link).unwrap(), "new");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_file_is_replaced_only_with_leave_and_a_directory_never() {
        let dir = scratch("file");
        let file = dir.join("out.toml");
        std::fs::write(&file, "old").unwrap();
        assert_eq!(
            check_output(&file, false),
            Err("it exists; pass --force to replace it".into())
        );
        assert_eq!(check_output(&file, true), Ok(()));
        assert!(write(&file, b"x", false).is_err());
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "old");
        write(&file, b"new", true).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "new");

        assert_eq!(check_output(&dir, true), Err("it is a directory".into()));
        assert!(create(&dir, true).is_err());
        assert!(dir.is_dir());
        let nowhere = dir.join("missing").join("out.toml");
        assert!(check_output(&nowhere, false).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
