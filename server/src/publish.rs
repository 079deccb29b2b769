//! A namespace's revision, built once: the index, the snapshot in every encoding, the push event.
//!
//! This is where the per-request work of serving a snapshot is paid, once per revision: requests
//! only pick one of these shared buffers.

use std::io::Write as _;
use std::sync::Arc;

use axum::http::HeaderValue;
use bytes::Bytes;
use miniz_oxide::deflate::{compress_to_vec, compress_to_vec_zlib};
use vexil_eval::model::Namespace;
use vexil_eval::{CompileError, Index, Snapshot};

use crate::http::negotiate::{precompressed_order, Encoding};
use crate::signing::Signing;
use crate::wire::resources::Resources;

/// The compression level for snapshots: the best ratio, since it is paid once per revision.
const SNAPSHOT_LEVEL: u8 = 9;
/// Brotli's quality and window for snapshots: quality 5 gets within 2% of quality 9 on a
/// 17 MB snapshot at half the time, and quality 11 takes 18 s there (benches/README.md,
/// "Snapshot encodings"); a 4 MiB window covers the repetition in large namespaces.
const BROTLI_QUALITY: u32 = 5;
const BROTLI_WINDOW_BITS: u32 = 22;
/// Zstandard's level: level 9 is the best ratio measured (level 19 is larger on snapshots, and
/// 300 times slower).
const ZSTD_LEVEL: i32 = 9;

/// One published state of one namespace, named by its digest.
#[derive(Debug)]
pub struct Revision {
    /// The snapshots and the names they are served by; shared with the namespace's history.
    pub documents: Arc<Documents>,
    pub index: Index,
    /// `id: <digest>` / `data: {"type":"refetchEvaluation",...}`: one SSE event for all subscribers.
    pub sse_event: Bytes,
    /// How many flags the namespace has.
    pub flag_count: usize,
    /// When this revision was published.
    pub published_at: std::time::SystemTime,
    /// Flipt's v1 read API documents of the namespace.
    pub resources: Resources,
}

/// A revision's snapshots in every encoding, and the digests and headers that name them: what
/// its immutable URLs serve. A namespace keeps these for its last few revisions
/// (`catalog::KEPT_REVISIONS`) but the index and read API documents only for the current one:
/// they are more than half of a revision (26 of 47 MB at 10,000 flags).
#[derive(Debug)]
pub struct Documents {
    /// Lowercase hex SHA-256 of the snapshot without its digest field.
    pub digest: String,
    /// The strong ETag: the digest, quoted; made once, cloned into every response.
    pub etag: HeaderValue,
    /// The digest as a header value, for `X-Vexil-Revision`.
    pub digest_header: HeaderValue,
    pub snapshot: EncodedBody,
    /// The compiled snapshot (`vexil_eval::write_compiled`), in its signed envelope when the
    /// server has a signing key, in every encoding.
    pub compiled: EncodedBody,
    /// The compiled document's own digest: its ETag and its immutable URL.
    pub compiled_digest: String,
    /// The compiled digest, quoted, as an ETag.
    pub compiled_etag: HeaderValue,
}

impl Revision {
    /// The snapshot's digest, which names the revision.
    pub fn digest(&self) -> &str {
        &self.documents.digest
    }

    /// The digest as a header value, for `X-Vexil-Revision`.
    pub fn digest_header(&self) -> &HeaderValue {
        &self.documents.digest_header
    }
}

/// One body in every encoding a client may ask for.
#[derive(Clone, Debug)]
pub struct EncodedBody {
    pub identity: Bytes,
    pub gzip: Bytes,
    /// HTTP's `deflate`: the zlib format (RFC 1950), not raw deflate.
    pub deflate: Bytes,
    /// Brotli, when it is smaller than gzip (it is, on all but the smallest documents).
    pub brotli: Option<Bytes>,
    /// Zstandard, when it is smaller than gzip.
    pub zstd: Option<Bytes>,
    /// The codings above in the order they are offered (`negotiate::precompressed_order`),
    /// decided once here rather than per request.
    pub order: Vec<Encoding>,
}

impl EncodedBody {
    /// Compresses `identity` every way, keeping brotli and zstd only where they beat gzip.
    /// Brotli and zstd run on threads of their own beside gzip and zlib: a 10,000-flag
    /// snapshot takes a third of a second of compression, paid once per revision.
    pub fn new(identity: Bytes, level: u8) -> EncodedBody {
        let (gzip, deflate, brotli, zstd) = std::thread::scope(|scope| {
            let data = &identity[..];
            let brotli = scope.spawn(move || brotli(data));
            let zstd = scope.spawn(move || zstd(data));
            let gzip = exact(gzip(data, level));
            let deflate = exact(compress_to_vec_zlib(data, level));
            // A compressor that panicked is a bug; the document is still served without it.
            let brotli = brotli.join().ok();
            let zstd = zstd.join().ok().flatten();
            (gzip, deflate, brotli, zstd)
        });
        let smaller = |body: Vec<u8>| (body.len() < gzip.len()).then(|| exact(body));
        let brotli = brotli.and_then(smaller);
        let zstd = zstd.and_then(smaller);
        let mut body = EncodedBody {
            identity,
            gzip,
            deflate,
            brotli,
            zstd,
            order: Vec::new(),
        };
        let available: Vec<(Encoding, usize)> = Encoding::ALL
            .into_iter()
            .filter_map(|encoding| Some((encoding, body.get(encoding)?.len())))
            .collect();
        body.order = precompressed_order(&available);
        body
    }

    /// The body in `encoding`, if it is kept in it.
    pub fn get(&self, encoding: Encoding) -> Option<&Bytes> {
        match encoding {
            Encoding::Identity => Some(&self.identity),
            Encoding::Gzip => Some(&self.gzip),
            Encoding::Deflate => Some(&self.deflate),
            Encoding::Brotli => self.brotli.as_ref(),
            Encoding::Zstd => self.zstd.as_ref(),
        }
    }
}

/// Bytes to keep for the revision's life, without the spare capacity their builder reserved (a
/// compressor sizes its output for the worst case: zstd's bound is larger than the input).
pub fn exact(mut body: Vec<u8>) -> Bytes {
    body.shrink_to_fit();
    Bytes::from(body)
}

/// Brotli at the snapshot quality (RFC 7932).
fn brotli(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 8 + 64);
    let params = brotli::enc::BrotliEncoderParams {
        quality: BROTLI_QUALITY as i32,
        lgwin: BROTLI_WINDOW_BITS as i32,
        size_hint: data.len(),
        ..Default::default()
    };
    // Writing into a Vec cannot fail.
    let _ = brotli::BrotliCompress(&mut &data[..], &mut out, &params);
    out
}

/// Zstandard at the snapshot level (RFC 8878); `None` if the library refuses (it does not on
/// memory it was given).
fn zstd(data: &[u8]) -> Option<Vec<u8>> {
    zstd::bulk::compress(data, ZSTD_LEVEL).ok()
}

/// A gzip member (RFC 1952) around raw deflate: header, data, CRC-32 and length.
pub fn gzip(data: &[u8], level: u8) -> Vec<u8> {
    let deflated = compress_to_vec(data, level);
    let mut out = Vec::with_capacity(deflated.len() + 18);
    // Magic, CM=deflate, no flags, no mtime (deterministic), XFL=0, OS=unknown.
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
    out.extend_from_slice(&deflated);
    out.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    // ISIZE is the length modulo 2^32, by definition.
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

impl Revision {
    /// A namespace's revision from its snapshot (serialized and hashed by the caller, who
    /// compares digests first): compile, compress, encode the push events.
    pub fn build(
        namespace: &Namespace,
        snapshot: Snapshot,
        published_at: std::time::SystemTime,
        signing: Option<Signing<'_>>,
    ) -> Result<Revision, CompileError> {
        let published = crate::wire::rfc3339(published_at);
        // The read API's documents are built beside the rest: for 10,000 flags they take as
        // long as compiling and compressing.
        std::thread::scope(|scope| {
            let resources = scope.spawn(|| Resources::build(namespace, &published));
            let revision = Revision::build_documents(namespace, snapshot, published_at, signing)?;
            let resources = match resources.join() {
                Ok(resources) => resources,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            Ok(Revision {
                resources,
                ..revision
            })
        })
    }

    /// Everything of the revision but the read API's documents (left empty).
    fn build_documents(
        namespace: &Namespace,
        snapshot: Snapshot,
        published_at: std::time::SystemTime,
        signing: Option<Signing<'_>>,
    ) -> Result<Revision, CompileError> {
        let index = Index::compile(namespace)?;
        let compiled = vexil_eval::write_compiled(&index);
        // Signed once, issued at the time of publishing: clients refuse an older issue.
        let issued_at = published_at
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let document = match signing {
            Some(signing) => signing
                .signer
                .sign(&compiled.bytes, issued_at, signing.environment),
            None => compiled.bytes,
        };
        // The digest of the bytes served (the envelope, when signed): one URL, one document.
        let compiled_digest = vexil_eval::sha256_hex(&document);
        // `compiled` is an extra field: Flipt's clients read `type` and `etag` only.
        let mut sse_event = Vec::with_capacity(200);
        let _ = write!(
            sse_event,
            "id: {digest}\ndata: {{\"type\":\"refetchEvaluation\",\"etag\":\"{digest}\",\"compiled\":\"{compiled}\"}}\n\n",
            digest = snapshot.digest,
            compiled = compiled_digest,
        );
        let etag = HeaderValue::try_from(format!("\"{}\"", snapshot.digest))
            .expect("a quoted hex digest is a valid header value");
        let digest_header = HeaderValue::try_from(snapshot.digest.as_str())
            .expect("a hex digest is a valid header value");
        let compiled_etag = HeaderValue::try_from(format!("\"{compiled_digest}\""))
            .expect("a quoted hex digest is a valid header value");
        let documents = Documents {
            compiled: EncodedBody::new(exact(document), SNAPSHOT_LEVEL),
            compiled_digest,
            compiled_etag,
            etag,
            digest_header,
            digest: snapshot.digest,
            snapshot: EncodedBody::new(exact(snapshot.json.into_bytes()), SNAPSHOT_LEVEL),
        };
        Ok(Revision {
            documents: Arc::new(documents),
            flag_count: namespace.flags.len(),
            index,
            sse_event: Bytes::from(sse_event),
            resources: Resources::default(),
            published_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use miniz_oxide::inflate::{decompress_to_vec, decompress_to_vec_zlib};

    #[test]
    fn every_encoding_decodes_to_the_identity_body() {
        let identity = Bytes::from("{\"flags\":[]}".repeat(50));
        let body = EncodedBody::new(identity.clone(), 6);
        assert!(body.gzip.len() < identity.len());
        assert_eq!(decompress_to_vec_zlib(&body.deflate).unwrap(), identity);
        let gzip = &body.gzip;
        assert_eq!(&gzip[..3], &[0x1f, 0x8b, 8]);
        let (member, trailer) = gzip[10..].split_at(gzip.len() - 18);
        assert_eq!(decompress_to_vec(member).unwrap(), identity);
        assert_eq!(trailer[..4], crc32fast::hash(&identity).to_le_bytes());
        assert_eq!(trailer[4..], (identity.len() as u32).to_le_bytes());
    }
}
