//! A YAML tree that remembers where each node was written.
//!
//! Built from `saphyr-parser` events rather than from `saphyr`'s own loaded tree: events carry the
//! scalar text exactly as written (so `value: 42` stays `"42"` and `version: 1.10` is not read as
//! 1.1), and a mapping here keeps every entry, so a field written twice can be reported instead of
//! one copy silently winning. JSON files go through the same parser, since YAML 1.2 is a superset
//! of JSON, so a JSON mistake gets a line and column too.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span};

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

/// A YAML (or JSON) syntax error.
#[derive(Debug, PartialEq)]
pub(crate) struct SyntaxError {
    pub(crate) position: Position,
    pub(crate) message: String,
}

/// Parses every document of `text`; stops at the first syntax error, keeping the documents
/// completed before it (their namespaces tell which namespace a broken file belongs to).
pub(crate) fn parse_stream(text: &str) -> Stream {
    let mut builder = TreeBuilder::default();
    let mut documents = Vec::new();
    for event in Parser::new_from_str(text) {
        match event {
            Ok((event, span)) => {
                if let Some(root) = builder.push(event, span) {
                    documents.push(Document { root });
                }
            }
            Err(error) => {
                return Stream {
                    documents,
                    syntax_error: Some(syntax_error(&error)),
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
    }
}

/// Turns the event stream into trees, one per document.
#[derive(Default)]
struct TreeBuilder {
    /// Collections being filled, innermost last.
    open: Vec<OpenCollection>,
    /// Anchored nodes, cloned where an alias names them.
    anchors: HashMap<usize, Node>,
}

struct OpenCollection {
    position: Position,
    anchor: usize,
    items: Vec<Node>,
    is_mapping: bool,
}

impl TreeBuilder {
    /// Takes one event; returns a document's root when the event completes one.
    fn push(&mut self, event: Event<'_>, span: Span) -> Option<Node> {
        let position = Position {
            line: span.start.line(),
            column: span.start.col() + 1,
        };
        let node = match event {
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
                self.remember(anchor, &node);
                node
            }
            Event::Alias(anchor) => self.anchors.get(&anchor).cloned().unwrap_or(Node {
                position,
                value: Value::Scalar(Scalar {
                    text: String::new(),
                    kind: ScalarKind::Null,
                }),
            }),
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                let is_mapping = matches!(event, Event::MappingStart(..));
                self.open.push(OpenCollection {
                    position,
                    anchor,
                    items: Vec::new(),
                    is_mapping,
                });
                return None;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let collection = self.open.pop()?;
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
                self.remember(collection.anchor, &node);
                node
            }
            _ => return None,
        };
        match self.open.last_mut() {
            Some(parent) => {
                parent.items.push(node);
                None
            }
            None => Some(node),
        }
    }

    fn remember(&mut self, anchor: usize, node: &Node) {
        // The parser numbers anchors from 1; 0 means none.
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
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
        let stream = parse_stream(text);
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
        assert_eq!(parse_stream("a: 1\n---\nb: 2\n").documents.len(), 2);
        let node = root("{\"a\": [1, \"x\", null]}");
        assert_eq!(
            entries(&node)[0].0.as_scalar().map(|s| s.text.as_str()),
            Some("a")
        );
    }

    #[test]
    fn syntax_errors_keep_earlier_documents() {
        let stream = parse_stream("a: 1\n---\nb: [1\n");
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
