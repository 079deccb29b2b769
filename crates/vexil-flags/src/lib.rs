//! Flag files (in progress).
