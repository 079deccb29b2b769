//! Content negotiation: which encoding a client accepts, and whether its cached copy is current.

/// A body encoding Vexil can send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
    Deflate,
    /// Brotli: snapshots only, precompressed.
    Brotli,
    /// Zstandard: snapshots only, precompressed.
    Zstd,
}

impl Encoding {
    /// Every coding, in no particular order.
    pub const ALL: [Encoding; 5] = [
        Encoding::Identity,
        Encoding::Gzip,
        Encoding::Deflate,
        Encoding::Brotli,
        Encoding::Zstd,
    ];

    /// The `Content-Encoding` value, `None` for identity.
    pub fn header_value(self) -> Option<&'static str> {
        match self {
            Encoding::Identity => None,
            Encoding::Gzip => Some("gzip"),
            Encoding::Deflate => Some("deflate"),
            Encoding::Brotli => Some("br"),
            Encoding::Zstd => Some("zstd"),
        }
    }
}

/// What an `Accept-Encoding` header allows: a q-value (in thousandths) per coding Vexil knows.
#[derive(Clone, Copy, Debug, Default)]
struct Accepted {
    gzip: Option<u16>,
    deflate: Option<u16>,
    brotli: Option<u16>,
    zstd: Option<u16>,
    identity: Option<u16>,
    star: Option<u16>,
}

impl Accepted {
    /// The q-value of `encoding`: named, else `*`'s, else 0 (identity: 1 unless `*;q=0`).
    fn q(&self, encoding: Encoding) -> u16 {
        let named = match encoding {
            Encoding::Identity => {
                let default = if self.star == Some(0) { 0 } else { 1 };
                return self.identity.unwrap_or(default);
            }
            Encoding::Gzip => self.gzip,
            Encoding::Deflate => self.deflate,
            Encoding::Brotli => self.brotli,
            Encoding::Zstd => self.zstd,
        };
        named.or(self.star).unwrap_or(0)
    }
}

/// Picks the encoding for an `Accept-Encoding` header (RFC 9110 §12.5.3), among the codings a
/// response compressed per request uses: gzip, deflate, identity.
///
/// The highest q-value wins; at equal q, gzip, then deflate, then identity (smaller first). `*`
/// stands for every coding the header does not name; `q=0` excludes. Identity is acceptable
/// unless excluded, by name or by `*;q=0`. `None` means nothing acceptable is left: 406.
pub fn choose_encoding(header: Option<&str>) -> Option<Encoding> {
    choose_among(
        header,
        &[Encoding::Gzip, Encoding::Deflate, Encoding::Identity],
    )
}

/// The order in which a precompressed document offers its codings, made once per document:
/// `available` lists the codings it has, with their sizes. Smallest first, deflate last (some
/// clients still confuse deflate's two formats, as `choose_encoding` has it).
pub fn precompressed_order(available: &[(Encoding, usize)]) -> Vec<Encoding> {
    let mut order: Vec<(Encoding, usize)> = available.to_vec();
    order.sort_by_key(|&(encoding, size)| (encoding == Encoding::Deflate, size));
    order.into_iter().map(|(encoding, _)| encoding).collect()
}

/// Picks the encoding of a precompressed document whose codings are in `order`
/// ([`precompressed_order`]): the highest q-value wins, at equal q the first in `order`.
pub fn choose_precompressed(header: Option<&str>, order: &[Encoding]) -> Option<Encoding> {
    choose_among(header, order)
}

/// The first of `order` with the highest q-value above 0.
fn choose_among(header: Option<&str>, order: &[Encoding]) -> Option<Encoding> {
    let Some(header) = header else {
        return Some(Encoding::Identity);
    };
    let accepted = accepted(header);
    order
        .iter()
        .map(|&encoding| (encoding, accepted.q(encoding)))
        .filter(|&(_, q)| q > 0)
        // max_by_key keeps the last of equals; reverse so the first listed wins ties.
        .rev()
        .max_by_key(|&(_, q)| q)
        .map(|(encoding, _)| encoding)
}

/// The header's q-values.
fn accepted(header: &str) -> Accepted {
    let mut accepted = Accepted::default();
    for item in header.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim();
        if coding.is_empty() {
            continue;
        }
        let q = parts
            .filter_map(|param| {
                let (name, value) = param.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("q")
                    .then(|| parse_q(value.trim()))
            })
            .next()
            .unwrap_or(Some(1000));
        // A malformed q-value makes the item unusable; ignore it rather than guess.
        let Some(q) = q else { continue };
        let slot = if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            &mut accepted.gzip
        } else if coding.eq_ignore_ascii_case("deflate") {
            &mut accepted.deflate
        } else if coding.eq_ignore_ascii_case("br") {
            &mut accepted.brotli
        } else if coding.eq_ignore_ascii_case("zstd") {
            &mut accepted.zstd
        } else if coding.eq_ignore_ascii_case("identity") {
            &mut accepted.identity
        } else if coding == "*" {
            &mut accepted.star
        } else {
            continue;
        };
        // Of repeated mentions, the most favourable counts.
        *slot = Some(slot.map_or(q, |old: u16| old.max(q)));
    }
    accepted
}

/// A q-value in thousandths: `0` to `1` with at most three decimals.
pub(super) fn parse_q(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u16, |acc, digit| acc * 10 + u16::from(digit - b'0'));
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// Whether an `If-None-Match` header names the current entity tag (RFC 9110 §13.1.2).
///
/// Accepts `*`, lists, weak tags (`W/"…"`, compared weakly as the RFC says for this header) and,
/// leniently, tags without quotes as some clients send the bare digest.
pub fn etag_matches(if_none_match: &str, digest: &str) -> bool {
    if_none_match.split(',').any(|tag| {
        let tag = tag.trim();
        if tag == "*" {
            return true;
        }
        let tag = tag.strip_prefix("W/").unwrap_or(tag);
        let tag = tag
            .strip_prefix('"')
            .and_then(|rest| rest.strip_suffix('"'))
            .unwrap_or(tag);
        tag == digest
    })
}

#[cfg(test)]
mod tests {
    use super::Encoding::*;
    use super::*;

    #[test]
    fn encodings_by_preference() {
        for (header, expected) in [
            (None, Some(Identity)),
            (Some(""), Some(Identity)),
            (Some("gzip"), Some(Gzip)),
            (Some("deflate"), Some(Deflate)),
            (Some("gzip, deflate, br"), Some(Gzip)),
            (Some("deflate, gzip"), Some(Gzip)),
            (Some("br"), Some(Identity)),
            (Some("gzip;q=0.5, deflate;q=0.8"), Some(Deflate)),
            (Some("gzip;q=0, deflate;q=0"), Some(Identity)),
            (Some("*"), Some(Gzip)),
            (Some("*;q=0.3, gzip;q=0"), Some(Deflate)),
            (Some("identity;q=0, gzip;q=0"), None),
            (Some("*;q=0"), None),
            (Some("identity;q=0"), None),
            (Some("identity, gzip;q=0.9"), Some(Identity)),
            (Some("GZIP;Q=1.0"), Some(Gzip)),
            (Some("x-gzip"), Some(Gzip)),
            (Some("gzip;q=2"), Some(Identity)),
            (Some("gzip;q=0.1234"), Some(Identity)),
            (Some("gzip;q=0.001"), Some(Gzip)),
        ] {
            assert_eq!(choose_encoding(header), expected, "{header:?}");
        }
    }

    #[test]
    fn precompressed_documents_go_smallest_first_among_the_best_accepted() {
        let all = [
            (Identity, 1000),
            (Gzip, 300),
            (Deflate, 290),
            (Brotli, 120),
            (Zstd, 100),
        ];
        // No brotli or zstd where they did not beat gzip.
        let small = [(Identity, 1000), (Gzip, 300), (Deflate, 290)];
        for (header, available, expected) in [
            (None, &all[..], Some(Identity)),
            (Some("gzip, deflate, br, zstd"), &all[..], Some(Zstd)),
            (Some("gzip, deflate, br"), &all[..], Some(Brotli)),
            (Some("br;q=0.5, gzip"), &all[..], Some(Gzip)),
            (Some("gzip, deflate"), &all[..], Some(Gzip)),
            (Some("deflate"), &all[..], Some(Deflate)),
            (Some("*"), &all[..], Some(Zstd)),
            (
                Some("ZSTD;q=0.9, BR;q=0.9, gzip;q=0.8"),
                &all[..],
                Some(Zstd),
            ),
            (Some("zstd, br, gzip"), &small[..], Some(Gzip)),
            (Some("zstd, br"), &small[..], Some(Identity)),
            (Some("zstd, identity;q=0"), &small[..], None),
        ] {
            assert_eq!(
                choose_precompressed(header, &precompressed_order(available)),
                expected,
                "{header:?} of {available:?}"
            );
        }
        // Brotli smaller than zstd: brotli.
        let brotli_smaller = [(Identity, 1000), (Gzip, 300), (Brotli, 90), (Zstd, 100)];
        assert_eq!(
            choose_precompressed(
                Some("gzip, br, zstd"),
                &precompressed_order(&brotli_smaller)
            ),
            Some(Brotli)
        );
        // Per-request compression offers neither.
        assert_eq!(choose_encoding(Some("br, zstd")), Some(Identity));
    }

    #[test]
    fn if_none_match_forms() {
        let digest = "abc123";
        for (header, expected) in [
            ("\"abc123\"", true),
            ("abc123", true),
            ("W/\"abc123\"", true),
            ("\"old\", \"abc123\"", true),
            ("*", true),
            ("\"old\"", false),
            ("\"abc1234\"", false),
            ("", false),
        ] {
            assert_eq!(etag_matches(header, digest), expected, "{header:?}");
        }
    }
}
