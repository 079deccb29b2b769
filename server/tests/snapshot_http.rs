//! Snapshot endpoints against the real server: encodings, ETags, 304s, paths, CORS.

mod support;

use miniz_oxide::inflate::{decompress_to_vec, decompress_to_vec_zlib};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::StatusCode;
use support::Server;

const V1: &str = "/internal/v1/evaluation/snapshot/namespace/default";
const V2: &str = "/client/v2/environments/default/namespaces/default/snapshot";

async fn get(server: &Server, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        map.insert(
            reqwest::header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    reqwest::Client::new()
        .get(server.url(path))
        .headers(map)
        .send()
        .await
        .expect("request")
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().unwrap())
        .unwrap_or("")
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    assert_eq!(&data[..3], &[0x1f, 0x8b, 8], "gzip magic");
    let body = decompress_to_vec(&data[10..data.len() - 8]).expect("deflate data");
    let trailer = &data[data.len() - 8..];
    assert_eq!(
        trailer[..4],
        crc32fast_hash(&body).to_le_bytes(),
        "gzip CRC"
    );
    assert_eq!(trailer[4..], (body.len() as u32).to_le_bytes(), "gzip size");
    body
}

/// CRC-32 (IEEE), bit by bit: slow and obviously right, to check the server's gzip trailer.
fn crc32fast_hash(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[tokio::test]
async fn every_encoding_decodes_to_the_identity_body_and_the_etag_is_the_digest() {
    let server = Server::start(&[]);
    let identity = get(&server, V1, &[]).await;
    assert_eq!(identity.status(), StatusCode::OK);
    assert_eq!(header(&identity, "content-encoding"), "");
    assert_eq!(header(&identity, "content-type"), "application/json");
    assert_eq!(header(&identity, "cache-control"), "no-cache");
    // The document depends on Accept (JSON or compiled), its coding on Accept-Encoding.
    assert_eq!(header(&identity, "vary"), "Accept, Accept-Encoding");
    let etag = header(&identity, "etag").to_owned();
    let revision = header(&identity, "x-vexil-revision").to_owned();
    let length: usize = header(&identity, "content-length").parse().unwrap();
    let body = identity.bytes().await.unwrap();
    assert_eq!(body.len(), length);
    let snapshot: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let digest = snapshot["digest"].as_str().unwrap();
    assert_eq!(etag, format!("\"{digest}\""));
    assert_eq!(revision, digest);

    // The digest is what `vexil snapshot` prints for the same files.
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_vexil"))
        .args(["snapshot", "--flags"])
        .arg(server.flags.path())
        .output()
        .unwrap();
    assert_eq!(cli.stdout.strip_suffix(b"\n").unwrap(), &body[..]);

    for (accept, encoding) in [
        ("gzip", "gzip"),
        ("deflate", "deflate"),
        ("gzip;q=0.2, deflate", "deflate"),
    ] {
        let response = get(&server, V1, &[("accept-encoding", accept)]).await;
        assert_eq!(header(&response, "content-encoding"), encoding);
        assert_eq!(header(&response, "etag"), etag);
        let length: usize = header(&response, "content-length").parse().unwrap();
        let compressed = response.bytes().await.unwrap();
        assert_eq!(compressed.len(), length);
        assert!(compressed.len() < body.len() / 2, "{encoding} compresses");
        let decoded = match encoding {
            "gzip" => gunzip(&compressed),
            _ => decompress_to_vec_zlib(&compressed).unwrap(),
        };
        assert_eq!(decoded, body, "{encoding}");
    }
    let refused = get(&server, V1, &[("accept-encoding", "compress, *;q=0")]).await;
    assert_eq!(refused.status(), StatusCode::NOT_ACCEPTABLE);
    let error: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(error["code"], 3);
}

/// Brotli and zstd are served where they beat gzip, for either document, and decode to it; a
/// client that asks for them where they do not gets gzip.
#[tokio::test]
async fn brotli_and_zstd_where_they_beat_gzip() {
    let server = Server::start(&[]);
    for accept in ["application/json", "application/vnd.vexil.snapshot"] {
        let plain = get(&server, V1, &[("accept", accept)]).await;
        let body = plain.bytes().await.unwrap();
        let gzip = get(
            &server,
            V1,
            &[("accept", accept), ("accept-encoding", "gzip")],
        )
        .await;
        let gzip_length = gzip.bytes().await.unwrap().len();
        let brotli_length = {
            let mut out = Vec::new();
            let params = brotli::enc::BrotliEncoderParams {
                quality: 5,
                lgwin: 22,
                ..Default::default()
            };
            brotli::BrotliCompress(&mut &body[..], &mut out, &params).unwrap();
            out.len()
        };
        let zstd_length = zstd::bulk::compress(&body, 9).unwrap().len();
        for (coding, length) in [("br", brotli_length), ("zstd", zstd_length)] {
            let asked = format!("{coding}, gzip;q=0.5");
            let response = get(
                &server,
                V1,
                &[("accept", accept), ("accept-encoding", &asked)],
            )
            .await;
            let served = header(&response, "content-encoding").to_owned();
            let sent = response.bytes().await.unwrap();
            if length < gzip_length {
                assert_eq!(
                    served, coding,
                    "{accept}: {coding} {length} B beats gzip {gzip_length} B"
                );
                let decoded = match coding {
                    "br" => {
                        let mut out = Vec::new();
                        brotli::BrotliDecompress(&mut &sent[..], &mut out).unwrap();
                        out
                    }
                    _ => zstd::decode_all(&sent[..]).unwrap(),
                };
                assert_eq!(decoded, body, "{accept} {coding}");
            } else {
                assert_eq!(
                    served, "gzip",
                    "{accept}: {coding} {length} B does not beat gzip {gzip_length} B"
                );
            }
        }
        // Offered both, the client gets the smaller.
        let both = get(
            &server,
            V1,
            &[
                ("accept", accept),
                ("accept-encoding", "gzip, deflate, br, zstd"),
            ],
        )
        .await;
        let expected = match (brotli_length < gzip_length, zstd_length < gzip_length) {
            (true, true) if zstd_length < brotli_length => "zstd",
            (true, _) => "br",
            (false, true) => "zstd",
            (false, false) => "gzip",
        };
        assert_eq!(header(&both, "content-encoding"), expected, "{accept}");
    }
}

#[tokio::test]
async fn if_none_match_answers_304_in_every_form() {
    let server = Server::start(&[]);
    let first = get(&server, V2, &[]).await;
    let etag = header(&first, "etag").to_owned();
    let digest = etag.trim_matches('"').to_owned();
    let weak = format!("W/{etag}");
    let listed = format!("\"stale\", {etag}");
    for value in [
        etag.as_str(),
        digest.as_str(),
        weak.as_str(),
        listed.as_str(),
        "*",
    ] {
        for path in [V1, V2] {
            let response = get(
                &server,
                path,
                &[("if-none-match", value), ("accept-encoding", "gzip")],
            )
            .await;
            assert_eq!(
                response.status(),
                StatusCode::NOT_MODIFIED,
                "{value} on {path}"
            );
            assert_eq!(header(&response, "etag"), etag);
            assert_eq!(header(&response, "x-vexil-revision"), digest);
            assert!(response.bytes().await.unwrap().is_empty());
        }
    }
    let stale = get(&server, V1, &[("if-none-match", "\"stale\"")]).await;
    assert_eq!(stale.status(), StatusCode::OK);
}

#[tokio::test]
async fn environments_namespaces_and_immutable_revisions() {
    let server = Server::start(&[]);
    let missing_env = get(
        &server,
        "/client/v2/environments/prod/namespaces/default/snapshot",
        &[],
    )
    .await;
    assert_eq!(missing_env.status(), StatusCode::NOT_FOUND);
    let header_env = get(&server, V1, &[("x-flipt-environment", "staging")]).await;
    assert_eq!(header_env.status(), StatusCode::NOT_FOUND);
    let with_reference = get(
        &server,
        &format!("{V1}?reference=main"),
        &[("x-flipt-environment", "default")],
    )
    .await;
    assert_eq!(with_reference.status(), StatusCode::OK);
    let unknown = get(
        &server,
        "/internal/v1/evaluation/snapshot/namespace/nope",
        &[],
    )
    .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let error: serde_json::Value = unknown.json().await.unwrap();
    assert_eq!(
        error,
        serde_json::json!({"code": 5, "message": "namespace nope not found", "details": []})
    );

    let current = get(&server, V1, &[]).await;
    let digest = header(&current, "x-vexil-revision").to_owned();
    let body = current.bytes().await.unwrap();
    let immutable = get(&server, &format!("/api/v1/snapshots/default/{digest}"), &[]).await;
    assert_eq!(immutable.status(), StatusCode::OK);
    assert_eq!(
        header(&immutable, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(immutable.bytes().await.unwrap(), body);
    let gone = get(&server, "/api/v1/snapshots/default/0000", &[]).await;
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn cors_allows_the_flipt_headers_and_exposes_the_etag() {
    let server = Server::start(&[]);
    let preflight = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, server.url(V1))
        .header("origin", "https://shop.example")
        .header("access-control-request-method", "GET")
        .header(
            "access-control-request-headers",
            "if-none-match, x-flipt-environment, authorization",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(header(&preflight, "access-control-allow-origin"), "*");
    let allowed = header(&preflight, "access-control-allow-headers").to_ascii_lowercase();
    for name in [
        "if-none-match",
        "authorization",
        "content-type",
        "x-flipt-environment",
        "x-flipt-namespace",
        "x-flipt-accept-server-version",
    ] {
        assert!(allowed.contains(name), "{name} in {allowed}");
    }
    let response = get(&server, V1, &[("origin", "https://shop.example")]).await;
    let exposed = header(&response, "access-control-expose-headers").to_ascii_lowercase();
    assert!(
        exposed.contains("etag") && exposed.contains("x-vexil-revision"),
        "{exposed}"
    );
}
