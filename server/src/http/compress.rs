//! Compressing evaluation responses, with one compressor per worker thread, reused.
//!
//! A deflate compressor carries a few hundred kilobytes of tables. Creating one per response is
//! the allocation storm this project was founded on; here each thread keeps one and resets it.

use std::cell::RefCell;

use miniz_oxide::deflate::core::{compress_to_output, CompressorOxide, TDEFLFlush, TDEFLStatus};
use miniz_oxide::DataFormat;

use super::negotiate::Encoding;

/// Fast: a response is compressed once per request, so speed beats the last few percent.
const LEVEL: u8 = 3;

thread_local! {
    static COMPRESSOR: RefCell<Option<Box<CompressorOxide>>> = const { RefCell::new(None) };
}

/// `data` compressed for `encoding` (gzip or deflate); `None` for identity, and for the codings
/// only precompressed documents use (`choose_encoding` never picks them).
pub fn compress(data: &[u8], encoding: Encoding) -> Option<Vec<u8>> {
    let (format, gzip) = match encoding {
        Encoding::Identity | Encoding::Brotli | Encoding::Zstd => return None,
        Encoding::Gzip => (DataFormat::Raw, true),
        Encoding::Deflate => (DataFormat::Zlib, false),
    };
    // Compressed JSON is rarely above a third of its size; one growth at most after that.
    let mut out = Vec::with_capacity(data.len() / 3 + 32);
    if gzip {
        out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
    }
    let finished = COMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let compressor = slot.get_or_insert_with(|| Box::new(CompressorOxide::default()));
        compressor.reset();
        compressor.set_format_and_level(format, LEVEL);
        let (status, _) = compress_to_output(compressor, data, TDEFLFlush::Finish, |chunk| {
            out.extend_from_slice(chunk);
            true
        });
        status == TDEFLStatus::Done
    });
    if !finished {
        return None;
    }
    if gzip {
        out.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use miniz_oxide::inflate::{decompress_to_vec, decompress_to_vec_zlib};

    #[test]
    fn both_formats_round_trip_and_the_compressor_is_reused() {
        let data = "{\"flagKey\":\"checkout\",\"match\":true}".repeat(100);
        for _ in 0..3 {
            let deflate = compress(data.as_bytes(), Encoding::Deflate).unwrap();
            assert_eq!(decompress_to_vec_zlib(&deflate).unwrap(), data.as_bytes());
            let gzip = compress(data.as_bytes(), Encoding::Gzip).unwrap();
            assert_eq!(gzip, crate::publish::gzip(data.as_bytes(), LEVEL));
            assert_eq!(
                decompress_to_vec(&gzip[10..gzip.len() - 8]).unwrap(),
                data.as_bytes()
            );
        }
        assert_eq!(compress(b"x", Encoding::Identity), None);
    }
}
