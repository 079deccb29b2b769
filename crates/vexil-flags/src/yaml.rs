//! A YAML tree that remembers where each node was written.
//!
//! Built from `saphyr-parser` events rather than from `saphyr`'s own loaded tree: events carry the
//! scalar text exactly as written (so `value: 42` stays `"42"` and `version: 1.10` is not read as
//! 1.1), and a mapping here keeps every entry, so a field written twice can be reported instead of
//! one copy silently winning. JSON files go through the same parser, since YAML 1.2 is a superset
//! of JSON, so a JSON mistake gets a line and column too.

use std::collections::HashMap;
use std::path::Path;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span};

use crate::diagnostic::{Diagnostic, DiagnosticKind};
use crate::limits::{Limits, MAX_DEPTH};

/// A 1-based line and column in the source text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Position {
    pub(crate) line: usize,
    pub(crate) column: usize,
}

/// A YAML node and where it starts.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Node {
    pub(crate) position: Position,
    pub(crate) value: Value,
}

/// The content of a node.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Scalar(Scalar),
    Sequence(Vec<Node>),
    /// Entries in the order written, duplicates included.
    Mapping(Vec<(Node, Node)>),
}

/// A scalar's text and the type YAML 1.2's core schema resolves it to.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Scalar {
    pub(crate) text: String,
    pub(crate) kind: ScalarKind,
}

/// Core-schema types; quoted and block scalars are always strings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum ScalarKind {
    Null,
    Bool(bool),
    Int,
    Float,
    String,
}

/// One `---` document of a stream.
#[derive(Debug)]
pub(crate) struct Document {
    pub(crate) root: Node,
}

/// The documents of a stream up to the first syntax error, and that error.
#[derive(Debug)]
pub(crate) struct Stream {
    pub(crate) documents: Vec<Document>,
    pub(crate) syntax_error: Option<SyntaxError>,
}

/// A YAML (or JSON) syntax error, or a limit the text went past.
#[derive(Debug, PartialEq)]
pub(crate) struct SyntaxError {
    pub(crate) position: Position,
    pub(crate) message: String,
    /// [`DiagnosticKind::Syntax`] or [`DiagnosticKind::Limit`].
    pub(crate) kind: DiagnosticKind,
}

impl SyntaxError {
    /// The error as a diagnostic of `file`.
    pub(crate) fn diagnostic(self, file: &Path) -> Diagnostic {
        Diagnostic::new(
            self.kind,
            file,
            self.position.line,
            self.position.column,
            String::new(),
            self.message,
        )
    }
}

/// Parses every document of `text`; stops at the first syntax error or limit, keeping the
/// documents completed before it (their namespaces tell which namespace a broken file belongs
/// to).
pub(crate) fn parse_stream(text: &str, limits: &Limits) -> Stream {
    let mut builder = TreeBuilder::new(limits);
    let mut documents = Vec::new();
    for event in Parser::new_from_str(text) {
        let pushed = match event {
            Ok((event, span)) => builder.push(event, span),
            Err(error) => Err(syntax_error(&error)),
        };
        match pushed {
            Ok(Some(root)) => documents.push(Document { root }),
            Ok(None) => {}
            Err(error) => {
                return Stream {
                    documents,
                    syntax_error: Some(error),
                };
            }
        }
    }
    Stream {
        documents,
        syntax_error: None,
    }
}

fn syntax_error(error: &ScanError) -> SyntaxError {
    let marker = error.marker();
    SyntaxError {
        position: Position {
            line: marker.line(),
            column: marker.col() + 1,
        },
        message: format!("YAML syntax error: {}", error.info()),
        kind: DiagnosticKind::Syntax,
    }
}

/// Turns the event stream into trees, one per document, within the [`Limits`].
///
/// Nothing here recurses: collections are filled on an explicit stack. Each node's height is
/// tracked so an alias, which copies a whole anchored subtree, is refused when the copy would
/// reach below the depth limit or past the alias budget; so every tree it returns is at most
/// `max_depth` deep, and the recursive code that reads trees later (drop, clone, conversion to
/// JSON) is bounded by the limit, not by the input.
struct TreeBuilder {
    /// Collections being filled, innermost last.
    open: Vec<OpenCollection>,
    /// Anchored nodes, cloned where an alias names them.
    anchors: HashMap<usize, Anchored>,
    max_depth: usize,
    /// What aliases (and the anchors they copy from) may still copy, in nodes.
    alias_budget: usize,
    max_alias_nodes: usize,
}

/// A node an anchor names, with its size in nodes and its height in collection levels (0 for a
/// scalar).
struct Anchored {
    node: Node,
    size: usize,
    height: usize,
}

struct OpenCollection {
    position: Position,
    anchor: usize,
    items: Vec<Node>,
    is_mapping: bool,
    /// Nodes in the collection so far, itself included.
    size: usize,
    /// Collection levels from this one down to its deepest, itself included.
    height: usize,
}

impl TreeBuilder {
    fn new(limits: &Limits) -> TreeBuilder {
        TreeBuilder {
            open: Vec::new(),
            anchors: HashMap::new(),
            max_depth: limits.max_depth.clamp(1, MAX_DEPTH),
            alias_budget: limits.max_alias_nodes,
            max_alias_nodes: limits.max_alias_nodes,
        }
    }

    /// Takes one event; returns a document's root when the event completes one.
    fn push(&mut self, event: Event<'_>, span: Span) -> Result<Option<Node>, SyntaxError> {
        let position = Position {
            line: span.start.line(),
            column: span.start.col() + 1,
        };
        let (node, size, height) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let is_plain = style == ScalarStyle::Plain;
                let is_str_tagged = tag.is_some_and(|tag| tag.suffix == "str");
                let kind = if is_plain && !is_str_tagged {
                    resolve_plain(&text)
                } else {
                    ScalarKind::String
                };
                let node = Node {
                    position,
                    value: Value::Scalar(Scalar {
                        text: text.into_owned(),
                        kind,
                    }),
                };
                self.remember(anchor, &node, 1, 0, position)?;
                (node, 1, 0)
            }
            Event::Alias(anchor) => match self.anchors.get(&anchor) {
                Some(anchored) => {
                    let (size, height) = (anchored.size, anchored.height);
                    self.check_depth(self.open.len() + height, position)?;
                    self.spend_alias_budget(size, position)?;
                    let node = self.anchors.get(&anchor).map(|a| a.node.clone());
                    (node.unwrap_or_else(|| null_at(position)), size, height)
                }
                None => (null_at(position), 1, 0),
            },
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                self.check_depth(self.open.len() + 1, position)?;
                let is_mapping = matches!(event, Event::MappingStart(..));
                self.open.push(OpenCollection {
                    position,
                    anchor,
                    items: Vec::new(),
                    is_mapping,
                    size: 1,
                    height: 1,
                });
                return Ok(None);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(collection) = self.open.pop() else {
                    return Ok(None);
                };
                let value = if collection.is_mapping {
                    let mut entries = Vec::with_capacity(collection.items.len() / 2);
                    let mut items = collection.items.into_iter();
                    while let (Some(key), Some(value)) = (items.next(), items.next()) {
                        entries.push((key, value));
                    }
                    Value::Mapping(entries)
                } else {
                    Value::Sequence(collection.items)
                };
                let node = Node {
                    position: collection.position,
                    value,
                };
                let (size, height) = (collection.size, collection.height);
                self.remember(collection.anchor, &node, size, height, position)?;
                (node, size, height)
            }
            _ => return Ok(None),
        };
        match self.open.last_mut() {
            Some(parent) => {
                parent.items.push(node);
                parent.size = parent.size.saturating_add(size);
                parent.height = parent.height.max(height + 1);
                Ok(None)
            }
            None => Ok(Some(node)),
        }
    }

    fn check_depth(&self, depth: usize, position: Position) -> Result<(), SyntaxError> {
        if depth <= self.max_depth {
            return Ok(());
        }
        Err(SyntaxError {
            position,
            message: format!(
                "lists and mappings are nested more than {} levels deep (the depth limit)",
                self.max_depth
            ),
            kind: DiagnosticKind::Limit,
        })
    }

    fn spend_alias_budget(&mut self, nodes: usize, position: Position) -> Result<(), SyntaxError> {
        match self.alias_budget.checked_sub(nodes) {
            Some(left) => {
                self.alias_budget = left;
                Ok(())
            }
            None => Err(SyntaxError {
                position,
                message: format!(
                    "anchors and aliases copy more than {} nodes (the alias-expansion limit)",
                    self.max_alias_nodes
                ),
                kind: DiagnosticKind::Limit,
            }),
        }
    }

    /// Keeps a copy of an anchored node; the copy is paid from the alias budget, since nested
    /// anchors would otherwise copy a subtree once per level.
    fn remember(
        &mut self,
        anchor: usize,
        node: &Node,
        size: usize,
        height: usize,
        position: Position,
    ) -> Result<(), SyntaxError> {
        // The parser numbers anchors from 1; 0 means none.
        if anchor != 0 {
            self.spend_alias_budget(size, position)?;
            let node = node.clone();
            self.anchors.insert(anchor, Anchored { node, size, height });
        }
        Ok(())
    }
}

fn null_at(position: Position) -> Node {
    Node {
        position,
        value: Value::Scalar(Scalar {
            text: String::new(),
            kind: ScalarKind::Null,
        }),
    }
}

/// Resolves a plain scalar by YAML 1.2's core schema.
fn resolve_plain(text: &str) -> ScalarKind {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => ScalarKind::Null,
        "true" | "True" | "TRUE" => ScalarKind::Bool(true),
        "false" | "False" | "FALSE" => ScalarKind::Bool(false),
        _ if is_core_int(text) => ScalarKind::Int,
        _ if is_core_float(text) => ScalarKind::Float,
        _ => ScalarKind::String,
    }
}

fn is_core_int(text: &str) -> bool {
    let all =
        |digits: &str, ok: fn(&u8) -> bool| !digits.is_empty() && digits.bytes().all(|b| ok(&b));
    if let Some(octal) = text.strip_prefix("0o") {
        return all(octal, |b| (b'0'..=b'7').contains(b));
    }
    if let Some(hex) = text.strip_prefix("0x") {
        return all(hex, u8::is_ascii_hexdigit);
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    all(unsigned, u8::is_ascii_digit)
}

fn is_core_float(text: &str) -> bool {
    if matches!(text, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
    if matches!(unsigned, ".inf" | ".Inf" | ".INF") {
        return true;
    }
    // [0-9]*(\.[0-9]*)?([eE][-+]?[0-9]+)? with at least one mantissa digit.
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok =
        digits(whole) && digits(fraction) && !(whole.is_empty() && fraction.is_empty());
    let exponent_ok = exponent.is_none_or(|exponent| {
        let exponent = exponent.strip_prefix(['-', '+']).unwrap_or(exponent);
        !exponent.is_empty() && digits(exponent)
    });
    mantissa_ok && exponent_ok
}

impl Scalar {
    /// The number a core-schema int or float scalar stands for.
    pub(crate) fn as_number(&self) -> Option<f64> {
        match self.kind {
            ScalarKind::Int => {
                let text = self.text.as_str();
                if let Some(octal) = text.strip_prefix("0o") {
                    return u64::from_str_radix(octal, 8).ok().map(|n| n as f64);
                }
                if let Some(hex) = text.strip_prefix("0x") {
                    return u64::from_str_radix(hex, 16).ok().map(|n| n as f64);
                }
                text.parse().ok()
            }
            ScalarKind::Float => {
                let unsigned = self.text.trim_start_matches(['-', '+']);
                let negative = self.text.starts_with('-');
                let magnitude = match unsigned {
                    ".inf" | ".Inf" | ".INF" => f64::INFINITY,
                    ".nan" | ".NaN" | ".NAN" => f64::NAN,
                    _ => unsigned.parse().ok()?,
                };
                Some(if negative { -magnitude } else { magnitude })
            }
            _ => None,
        }
    }
}

impl Value {
    /// What this node is, for messages like "expected a string, found a mapping".
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            Value::Scalar(scalar) => match scalar.kind {
                ScalarKind::Null => "null",
                ScalarKind::Bool(_) => "a boolean",
                ScalarKind::Int | ScalarKind::Float => "a number",
                ScalarKind::String => "a string",
            },
            Value::Sequence(_) => "a list",
            Value::Mapping(_) => "a mapping",
        }
    }
}

impl Node {
    /// The node as a scalar, if it is one.
    pub(crate) fn as_scalar(&self) -> Option<&Scalar> {
        match &self.value {
            Value::Scalar(scalar) => Some(scalar),
            _ => None,
        }
    }

    /// Whether the node is an explicit or implicit null (`key:` with nothing after it).
    pub(crate) fn is_null(&self) -> bool {
        matches!(
            &self.value,
            Value::Scalar(Scalar {
                kind: ScalarKind::Null,
                ..
            })
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(text: &str) -> Node {
        let stream = parse_stream(text, &Limits::default());
        assert_eq!(stream.syntax_error, None);
        assert_eq!(stream.documents.len(), 1);
        stream
            .documents
            .into_iter()
            .next()
            .map(|d| d.root)
            .unwrap_or_else(|| panic!("no document"))
    }

    fn entries(node: &Node) -> &[(Node, Node)] {
        match &node.value {
            Value::Mapping(entries) => entries,
            other => panic!("not a mapping: {other:?}"),
        }
    }

    #[test]
    fn positions_are_one_based_and_point_at_the_node() {
        let node = root("a: 1\nb:\n  - x\n  - {c: 'd'}\n");
        let entries = entries(&node);
        assert_eq!(entries[0].1.position, Position { line: 1, column: 4 });
        let Value::Sequence(items) = &entries[1].1.value else {
            panic!("expected a sequence");
        };
        assert_eq!(items[0].position, Position { line: 3, column: 5 });
        assert_eq!(items[1].position, Position { line: 4, column: 5 });
        let inner = self::entries(&items[1]);
        assert_eq!(
            inner[0].1.as_scalar().map(|s| s.kind),
            Some(ScalarKind::String)
        );
    }

    #[test]
    fn scalars_resolve_by_the_core_schema_and_keep_their_text() {
        let node = root("[1.10, 0x1F, -3, .inf, 'true', true, ~, 1e3, 1.2.3, yes]");
        let Value::Sequence(items) = &node.value else {
            panic!("expected a sequence");
        };
        let kinds: Vec<ScalarKind> = items
            .iter()
            .filter_map(|n| n.as_scalar())
            .map(|s| s.kind)
            .collect();
        use ScalarKind::*;
        assert_eq!(
            kinds,
            [
                Float,
                Int,
                Int,
                Float,
                String,
                Bool(true),
                Null,
                Float,
                String,
                String
            ]
        );
        let texts: Vec<&str> = items
            .iter()
            .filter_map(|n| n.as_scalar())
            .map(|s| s.text.as_str())
            .collect();
        assert_eq!(texts[0], "1.10");
        assert_eq!(items[1].as_scalar().and_then(Scalar::as_number), Some(31.0));
        assert_eq!(
            items[7].as_scalar().and_then(Scalar::as_number),
            Some(1000.0)
        );
    }

    #[test]
    fn duplicate_mapping_keys_are_kept() {
        let node = root("a: 1\na: 2\n");
        assert_eq!(entries(&node).len(), 2);
    }

    #[test]
    fn aliases_copy_the_anchored_node() {
        let node = root("a: &x [1, 2]\nb: *x\n");
        let entries = entries(&node);
        assert_eq!(entries[0].1.value, entries[1].1.value);
    }

    #[test]
    fn several_documents_and_json() {
        assert_eq!(
            parse_stream("a: 1\n---\nb: 2\n", &Limits::default())
                .documents
                .len(),
            2
        );
        let node = root("{\"a\": [1, \"x\", null]}");
        assert_eq!(
            entries(&node)[0].0.as_scalar().map(|s| s.text.as_str()),
            Some("a")
        );
    }

    fn limited(max_depth: usize, max_alias_nodes: usize) -> Limits {
        Limits {
            max_depth,
            max_alias_nodes,
            ..Limits::default()
        }
    }

    /// The limit error of `text`, as `(line, column, message)`.
    fn limit_error(text: &str, limits: &Limits) -> (usize, usize, String) {
        let stream = parse_stream(text, limits);
        let error = stream
            .syntax_error
            .unwrap_or_else(|| panic!("no error for {text:.60}"));
        assert_eq!(error.kind, DiagnosticKind::Limit, "{}", error.message);
        (error.position.line, error.position.column, error.message)
    }

    #[test]
    fn nesting_deeper_than_the_limit_is_refused_where_it_goes_too_deep() {
        // Block, flow and compact block nesting: each level one `[`, `- ` or `k:`.
        assert!(parse_stream(&"[".repeat(4), &limited(4, 0))
            .syntax_error
            .is_some_and(|e| e.kind == DiagnosticKind::Syntax));
        let (line, column, message) = limit_error(&"[".repeat(5), &limited(4, 0));
        assert_eq!((line, column), (1, 5));
        assert_eq!(
            message,
            "lists and mappings are nested more than 4 levels deep (the depth limit)"
        );
        let compact = format!("attachment:\n{}x\n", "- ".repeat(10_000));
        assert_eq!(limit_error(&compact, &Limits::default()).0, 2);
        let mut indented = String::new();
        for level in 0..200 {
            indented.push_str(&format!("{}k{level}:\n", "  ".repeat(level)));
        }
        // The 65th mapping starts at the key on line 65.
        assert_eq!(limit_error(&indented, &Limits::default()).0, 65);
        // Exactly at the limit is fine.
        let at_limit = format!("{}{}", "[".repeat(64), "]".repeat(64));
        assert_eq!(
            parse_stream(&at_limit, &Limits::default()).syntax_error,
            None
        );
    }

    #[test]
    fn an_alias_may_not_copy_a_subtree_below_the_depth_limit() {
        // Three levels anchored, then copied at depth three: six levels in all.
        let text = "a: &x [[[1]]]\nb: [[*x]]\n";
        assert_eq!(parse_stream(text, &limited(6, 100)).syntax_error, None);
        let (line, column, _) = limit_error(text, &limited(5, 100));
        assert_eq!((line, column), (2, 6));
    }

    #[test]
    fn an_alias_bomb_stops_at_the_alias_budget() {
        // Eight levels of nine aliases: 9^8 = 43 million copies of `lol`.
        let mut bomb = String::from("a0: &a0 [lol]\n");
        for level in 1..=8 {
            let previous = format!("*a{}", level - 1);
            let list = [previous.as_str(); 9].join(", ");
            bomb.push_str(&format!("a{level}: &a{level} [{list}]\n"));
        }
        assert!(bomb.len() < 700, "{}", bomb.len());
        let started = std::time::Instant::now();
        let (line, _, message) = limit_error(&bomb, &Limits::default());
        assert_eq!(
            message,
            "anchors and aliases copy more than 100000 nodes (the alias-expansion limit)"
        );
        assert!((5..=8).contains(&line), "{line}");
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        // Ordinary sharing stays well within it.
        let shared = "s: &s {key: beta, name: Beta}\nt: [*s, *s, *s]\n";
        assert_eq!(parse_stream(shared, &limited(64, 20)).syntax_error, None);
        assert_eq!(limit_error(shared, &limited(64, 19)).0, 2);
    }

    #[test]
    fn syntax_errors_keep_earlier_documents() {
        let stream = parse_stream("a: 1\n---\nb: [1\n", &Limits::default());
        assert_eq!(stream.documents.len(), 1);
        let error = stream
            .syntax_error
            .unwrap_or_else(|| panic!("expected an error"));
        assert_eq!(error.position.line, 4);
        assert!(
            error.message.starts_with("YAML syntax error: "),
            "{}",
            error.message
        );
    }
}
