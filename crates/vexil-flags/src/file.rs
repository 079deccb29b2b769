//! Reading one file's text, never more than the size limit.

use std::io::Read as _;
use std::path::Path;

use crate::diagnostic::{Diagnostic, DiagnosticKind};

/// What reading a file gave.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FileText {
    /// The whole text, unchanged while it was read, and when the file was last modified.
    Text(String, Option<std::time::SystemTime>),
    /// The file changed under every one of [`READ_ATTEMPTS`] reads: a writer is at work.
    Changing,
}

/// How often a file that changes while it is read is read again.
const READ_ATTEMPTS: usize = 3;

/// The file's text; a file over `max_bytes` is refused once that many bytes were read, so a
/// runaway file (or `/dev/zero` behind a symbolic link) costs no more than the limit.
///
/// A file whose size, modification time or identity changed while it was read (a writer that
/// truncates and writes in place, or renames over it) is read again, so a half-written version
/// is never taken for the file.
pub(crate) fn read_text(file: &Path, max_bytes: u64) -> Result<FileText, Diagnostic> {
    let cannot_read = |error: std::io::Error| {
        Diagnostic::for_file(DiagnosticKind::Io, file, format!("cannot read: {error}"))
    };
    for _ in 0..READ_ATTEMPTS {
        let before = Stamp::of(&std::fs::metadata(file).map_err(cannot_read)?);
        let opened = std::fs::File::open(file).map_err(cannot_read)?;
        let mut bytes = Vec::new();
        (&opened)
            .take(max_bytes.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(cannot_read)?;
        if bytes.len() as u64 > max_bytes {
            let message =
                format!("the file is larger than {max_bytes} bytes (the file-size limit)");
            return Err(Diagnostic::for_file(DiagnosticKind::Limit, file, message));
        }
        let read = Stamp::of(&opened.metadata().map_err(cannot_read)?);
        let after = std::fs::metadata(file).map(|metadata| Stamp::of(&metadata));
        let steady = before == read && after.is_ok_and(|after| after == read)
            // Special files (`/dev/zero`) report no length.
            && (read.len == bytes.len() as u64 || !read.is_file);
        if !steady {
            continue;
        }
        let modified = read.modified;
        return String::from_utf8(bytes)
            .map(|text| FileText::Text(text, modified))
            .map_err(|error| {
                let at = error.utf8_error().valid_up_to();
                let message = format!(
                    "cannot read: not UTF-8 text (byte {at} is not part of a UTF-8 character)"
                );
                Diagnostic::for_file(DiagnosticKind::Io, file, message)
            });
    }
    Ok(FileText::Changing)
}

/// What tells one version of a file from another without reading it.
#[derive(Debug, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    #[cfg(unix)]
    inode: (u64, u64),
    is_file: bool,
}

impl Stamp {
    fn of(metadata: &std::fs::Metadata) -> Stamp {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt as _;
        Stamp {
            len: metadata.len(),
            modified: metadata.modified().ok(),
            #[cfg(unix)]
            inode: (metadata.dev(), metadata.ino()),
            is_file: metadata.is_file(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_over_the_limit_is_refused_after_reading_only_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("features.yml");
        std::fs::write(&file, "x".repeat(101)).unwrap();
        let modified = std::fs::metadata(&file).unwrap().modified().ok();
        assert_eq!(
            read_text(&file, 101).unwrap(),
            FileText::Text("x".repeat(101), modified)
        );
        let error = read_text(&file, 100).unwrap_err();
        assert_eq!(error.kind(), DiagnosticKind::Limit);
        assert!(
            error
                .to_string()
                .ends_with("the file is larger than 100 bytes (the file-size limit)"),
            "{error}"
        );
        // An endless file is read only up to the limit.
        let error = read_text(Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert_eq!(error.kind(), DiagnosticKind::Limit);
    }

    #[test]
    fn text_that_is_not_utf8_is_an_io_error_with_the_offset() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("features.yml");
        std::fs::write(&file, b"key: \xff\n").unwrap();
        let error = read_text(&file, 100).unwrap_err();
        assert_eq!(error.kind(), DiagnosticKind::Io);
        assert!(error.message().contains("byte 5"), "{error}");
    }

    #[test]
    fn a_file_that_keeps_changing_while_it_is_read_is_not_taken() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("features.yml");
        std::fs::write(&file, "flags: []\n").unwrap();
        // A writer appending as fast as it can (starting over at 1 MiB): reads see the file
        // change under them.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (file, stop) = (file.clone(), stop.clone());
            std::thread::spawn(move || {
                use std::io::Write as _;
                let mut out = std::fs::OpenOptions::new()
                    .append(true)
                    .open(&file)
                    .unwrap();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    out.write_all(&[b'#'; 4096]).unwrap();
                    if out.metadata().unwrap().len() > 1 << 20 {
                        out.set_len(0).unwrap();
                    }
                }
            })
        };
        let mut seen_changing = false;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !seen_changing && std::time::Instant::now() < deadline {
            seen_changing = read_text(&file, 1 << 30).unwrap() == FileText::Changing;
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        writer.join().unwrap();
        assert!(seen_changing);
        // Once the writer is done, the file reads whole.
        assert!(matches!(
            read_text(&file, 1 << 30).unwrap(),
            FileText::Text(..)
        ));
    }
}
