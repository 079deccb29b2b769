//! Snapshot bytes as clients receive them: JSON, gzip or zlib, told apart by their first bytes.
//!
//! Inflating happens here, in wasm, so a client can hand over what it downloaded whatever the
//! `Content-Encoding` (or a cached compressed copy) without a JS decompressor.

use std::borrow::Cow;
use std::fmt;

use miniz_oxide::inflate::{self, TINFLStatus};

/// The most bytes a compressed snapshot may inflate to; more is refused as a decompression bomb.
pub const MAX_INFLATED_BYTES: usize = 64 * 1024 * 1024;

/// How snapshot bytes are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// Plain JSON text.
    Json,
    /// A gzip member (RFC 1952), as `Content-Encoding: gzip`.
    Gzip,
    /// A zlib stream (RFC 1950), as HTTP's `Content-Encoding: deflate`.
    Zlib,
}

/// Why snapshot bytes could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputError {
    /// The compressed data inflates to more than the limit.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The compressed data is damaged or cut short.
    Corrupt {
        /// What the data claimed to be.
        encoding: Encoding,
    },
}

impl std::error::Error for InputError {}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::TooLarge { limit } => {
                write!(f, "snapshot inflates to more than {limit} bytes")
            }
            InputError::Corrupt { encoding } => {
                let name = match encoding {
                    Encoding::Json => "JSON",
                    Encoding::Gzip => "gzip",
                    Encoding::Zlib => "zlib",
                };
                write!(f, "snapshot is not valid {name} data")
            }
        }
    }
}

/// Tells the encoding from the first bytes: gzip's magic `1f 8b`; a zlib header (deflate method,
/// any window up to 32 KiB, no preset dictionary, valid check bits); anything else is JSON text.
/// (A snapshot's JSON starts with `{` or whitespace, which no zlib header does.)
pub fn sniff(bytes: &[u8]) -> Encoding {
    match bytes {
        [0x1f, 0x8b, ..] => Encoding::Gzip,
        [cmf, flg, ..] if is_zlib_header(*cmf, *flg) => Encoding::Zlib,
        _ => Encoding::Json,
    }
}

fn is_zlib_header(cmf: u8, flg: u8) -> bool {
    let deflate = cmf & 0x0f == 8;
    // Encoders pick smaller windows for small inputs (miniz_oxide's level 0 writes `08 1d`).
    let window_at_most_32k = cmf >> 4 <= 7;
    let preset_dictionary = flg & 0x20 != 0;
    let check_bits_valid = (u16::from(cmf) << 8 | u16::from(flg)) % 31 == 0;
    deflate && window_at_most_32k && !preset_dictionary && check_bits_valid
}

/// The snapshot's JSON bytes: borrowed when they already are JSON, inflated otherwise.
pub fn snapshot_json(bytes: &[u8], limit: usize) -> Result<Cow<'_, [u8]>, InputError> {
    match sniff(bytes) {
        Encoding::Json => Ok(Cow::Borrowed(bytes)),
        Encoding::Zlib => {
            let result = inflate::decompress_to_vec_zlib_with_limit(bytes, limit);
            inflated(result, Encoding::Zlib, limit).map(Cow::Owned)
        }
        Encoding::Gzip => {
            let corrupt = InputError::Corrupt {
                encoding: Encoding::Gzip,
            };
            let member = gzip_member(bytes).ok_or(corrupt.clone())?;
            let result = inflate::decompress_to_vec_with_limit(member.deflate, limit);
            let json = inflated(result, Encoding::Gzip, limit)?;
            // The trailer catches damage that still inflates (a stored block, a spliced stream).
            if json.len() as u32 != member.size || vexil_eval::crc32(&json) != member.crc {
                return Err(corrupt);
            }
            Ok(Cow::Owned(json))
        }
    }
}

fn inflated(
    result: Result<Vec<u8>, inflate::DecompressError>,
    encoding: Encoding,
    limit: usize,
) -> Result<Vec<u8>, InputError> {
    result.map_err(|error| match error.status {
        TINFLStatus::HasMoreOutput => InputError::TooLarge { limit },
        _ => InputError::Corrupt { encoding },
    })
}

/// A gzip member (RFC 1952) taken apart: its deflate data and its trailer.
struct GzipMember<'a> {
    deflate: &'a [u8],
    /// CRC-32 of the uncompressed data.
    crc: u32,
    /// Size of the uncompressed data, mod 2^32.
    size: u32,
}

fn gzip_member(bytes: &[u8]) -> Option<GzipMember<'_>> {
    const FHCRC: u8 = 0x02;
    const FEXTRA: u8 = 0x04;
    const FNAME: u8 = 0x08;
    const FCOMMENT: u8 = 0x10;
    let header = bytes.get(..10)?;
    if header[2] != 8 {
        return None; // Only the deflate method exists.
    }
    let flags = header[3];
    let mut rest = &bytes[10..];
    if flags & FEXTRA != 0 {
        let length = usize::from(u16::from_le_bytes([*rest.first()?, *rest.get(1)?]));
        rest = rest.get(2 + length..)?;
    }
    for field in [FNAME, FCOMMENT] {
        if flags & field != 0 {
            let end = rest.iter().position(|&byte| byte == 0)?;
            rest = &rest[end + 1..];
        }
    }
    if flags & FHCRC != 0 {
        rest = rest.get(2..)?;
    }
    let trailer_start = rest.len().checked_sub(8)?;
    let (deflate, trailer) = rest.split_at(trailer_start);
    let crc = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    let size = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
    Some(GzipMember { deflate, crc, size })
}

#[cfg(test)]
mod tests {
    use super::*;
    use miniz_oxide::deflate::{compress_to_vec, compress_to_vec_zlib};

    const JSON: &[u8] = br#"{"namespace":{"key":"default"},"flags":[]}"#;

    fn gzip(data: &[u8]) -> Vec<u8> {
        gzip_at_level(data, 6)
    }

    fn gzip_at_level(data: &[u8], level: u8) -> Vec<u8> {
        let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        out.extend(compress_to_vec(data, level));
        out.extend(vexil_eval::crc32(data).to_le_bytes());
        out.extend((data.len() as u32).to_le_bytes());
        out
    }

    #[track_caller]
    fn check(bytes: &[u8], encoding: Encoding, expected: Result<&[u8], InputError>) {
        assert_eq!(sniff(bytes), encoding);
        let decoded = snapshot_json(bytes, MAX_INFLATED_BYTES);
        assert_eq!(decoded.as_deref().map_err(Clone::clone), expected);
    }

    #[test]
    fn json_passes_through_borrowed() {
        check(JSON, Encoding::Json, Ok(JSON));
        assert!(matches!(snapshot_json(JSON, 0), Ok(Cow::Borrowed(_))));
        check(b"", Encoding::Json, Ok(b""));
        // 0x78 followed by a byte that fails the header check is not zlib.
        check(b"x{", Encoding::Json, Ok(b"x{"));
        // Valid check bits, but a 64 KiB window (CINFO 8), which zlib does not allow.
        check(b"\x88\x1c", Encoding::Json, Ok(b"\x88\x1c"));
    }

    #[test]
    fn zlib_and_gzip_inflate() {
        for level in [0, 1, 6, 9] {
            check(&compress_to_vec_zlib(JSON, level), Encoding::Zlib, Ok(JSON));
        }
        // A 1 KiB window (CINFO 2), as a small-memory encoder writes: `28 15` passes the check.
        let mut small_window = compress_to_vec_zlib(JSON, 0);
        small_window[..2].copy_from_slice(&[0x28, 0x15]);
        check(&small_window, Encoding::Zlib, Ok(JSON));
        check(&gzip(JSON), Encoding::Gzip, Ok(JSON));
    }

    #[test]
    fn gzip_optional_header_fields_are_skipped() {
        let plain = gzip(JSON);
        let mut with_fields = plain[..10].to_vec();
        with_fields[3] = 0x04 | 0x08 | 0x10 | 0x02;
        with_fields.extend([3, 0, b'a', b'b', b'c']); // FEXTRA
        with_fields.extend(b"snapshot.json\0"); // FNAME
        with_fields.extend(b"a comment\0"); // FCOMMENT
        with_fields.extend([0, 0]); // FHCRC
        with_fields.extend(&plain[10..]);
        check(&with_fields, Encoding::Gzip, Ok(JSON));
    }

    #[test]
    fn damaged_data_is_an_error() {
        let corrupt = |encoding| Err(InputError::Corrupt { encoding });
        let zlib = compress_to_vec_zlib(JSON, 9);
        check(
            &zlib[..zlib.len() - 6],
            Encoding::Zlib,
            corrupt(Encoding::Zlib),
        );
        let gzip = gzip(JSON);
        check(
            &gzip[..gzip.len() - 1],
            Encoding::Gzip,
            corrupt(Encoding::Gzip),
        );
        check(&gzip[..5], Encoding::Gzip, corrupt(Encoding::Gzip));
        let mut wrong_crc = gzip.clone();
        let crc_start = wrong_crc.len() - 8;
        wrong_crc[crc_start] ^= 1;
        check(&wrong_crc, Encoding::Gzip, corrupt(Encoding::Gzip));
        check(&[0x1f, 0x8b], Encoding::Gzip, corrupt(Encoding::Gzip));
    }

    #[test]
    fn gzip_damage_that_still_inflates_fails_the_crc() {
        // Level 0 stores the data as is, so a flipped byte inflates to different JSON.
        let mut stored = gzip_at_level(JSON, 0);
        let position = stored.windows(7).position(|w| w == b"default").unwrap();
        stored[position] = b'D';
        check(
            &stored,
            Encoding::Gzip,
            Err(InputError::Corrupt {
                encoding: Encoding::Gzip,
            }),
        );
    }

    #[test]
    fn zlib_damage_that_still_inflates_fails_the_adler32() {
        let mut stored = compress_to_vec_zlib(JSON, 0);
        let position = stored.windows(7).position(|w| w == b"default").unwrap();
        stored[position] = b'D';
        let corrupt = Err(InputError::Corrupt {
            encoding: Encoding::Zlib,
        });
        check(&stored, Encoding::Zlib, corrupt);
    }

    #[test]
    fn bombs_are_refused_at_the_limit() {
        let bomb = compress_to_vec_zlib(&vec![b' '; 1 << 20], 9);
        assert!(bomb.len() < 2048);
        assert_eq!(
            snapshot_json(&bomb, 1 << 16),
            Err(InputError::TooLarge { limit: 1 << 16 })
        );
        let gzip_bomb = gzip(&vec![b' '; 1 << 20]);
        assert_eq!(
            snapshot_json(&gzip_bomb, 1 << 16),
            Err(InputError::TooLarge { limit: 1 << 16 })
        );
        assert!(snapshot_json(&bomb, 1 << 20).is_ok());
        assert_eq!(
            InputError::TooLarge { limit: 64 }.to_string(),
            "snapshot inflates to more than 64 bytes"
        );
    }
}
