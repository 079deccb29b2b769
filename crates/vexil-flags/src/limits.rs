//! How much a flag file may make the loader read, build and copy.
//!
//! Flag files come from operators, but a careless one (or a hostile commit) can still write a
//! 20 KB file nested ten thousand levels deep, or eight levels of nine aliases that expand to
//! forty million nodes. Every limit here is checked while the file is read or parsed, before the
//! memory or the stack it guards is spent.

/// The deepest nesting [`Limits::max_depth`] may allow.
///
/// Attachments travel in snapshots as JSON text, which clients parse with readers that refuse
/// more than 128 levels (serde_json's limit, in the server and in the WebAssembly engine); a
/// flag file deeper than that would publish snapshots no client could load.
pub const MAX_DEPTH: usize = 128;

/// Limits on one flag file, each checked while the file is read or parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// The largest file, in bytes; a longer file is refused once this many bytes were read.
    pub max_file_bytes: u64,
    /// The deepest nesting of lists and mappings, counting the document's own mapping as the
    /// first level; at most [`MAX_DEPTH`] (a larger value counts as that).
    pub max_depth: usize,
    /// The most nodes that anchors and aliases may copy in one file: a YAML "billion laughs"
    /// stops here instead of filling memory.
    pub max_alias_nodes: usize,
}

impl Limits {
    /// 32 MiB: ten times a 10,000-flag namespace.
    pub const DEFAULT_MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;
    /// A flag document needs 7 levels; an attachment may use the rest of 64.
    pub const DEFAULT_MAX_DEPTH: usize = 64;
    /// Enough to share every segment of a large namespace by alias many times over.
    pub const DEFAULT_MAX_ALIAS_NODES: usize = 100_000;
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_file_bytes: Limits::DEFAULT_MAX_FILE_BYTES,
            max_depth: Limits::DEFAULT_MAX_DEPTH,
            max_alias_nodes: Limits::DEFAULT_MAX_ALIAS_NODES,
        }
    }
}
