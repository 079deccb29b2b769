//! Reading one file's text, never more than the size limit.

use std::io::Read as _;
use std::path::Path;

use crate::diagnostic::{Diagnostic, DiagnosticKind};

/// The file's text; a file over `max_bytes` is refused once that many bytes were read, so a
/// runaway file (or `/dev/zero` behind a symbolic link) costs no more than the limit.
pub(crate) fn read_text(file: &Path, max_bytes: u64) -> Result<String, Diagnostic> {
    let cannot_read = |error: std::io::Error| {
        Diagnostic::for_file(DiagnosticKind::Io, file, format!("cannot read: {error}"))
    };
    let opened = std::fs::File::open(file).map_err(cannot_read)?;
    let mut bytes = Vec::new();
    opened
        .take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(cannot_read)?;
    if bytes.len() as u64 > max_bytes {
        let message = format!("the file is larger than {max_bytes} bytes (the file-size limit)");
        return Err(Diagnostic::for_file(DiagnosticKind::Limit, file, message));
    }
    String::from_utf8(bytes).map_err(|error| {
        let at = error.utf8_error().valid_up_to();
        let message =
            format!("cannot read: not UTF-8 text (byte {at} is not part of a UTF-8 character)");
        Diagnostic::for_file(DiagnosticKind::Io, file, message)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_over_the_limit_is_refused_after_reading_only_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("features.yml");
        std::fs::write(&file, "x".repeat(101)).unwrap();
        assert_eq!(read_text(&file, 101).unwrap().len(), 101);
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
}
