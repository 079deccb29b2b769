//! `vexil serve` as the seed story's experiment needs it: the real server (its state, router,
//! listener and counting allocator) with one bench-only layer around the router, so a request can
//! ask for its response to be compressed the two ways the story compared:
//!
//! - `X-Bench-Compression: naive`: a new compressor for every response, as Flipt's middleware did
//!   (`flate.NewWriter` per response, 19 GB a minute).
//! - `X-Bench-Compression: pooled`: one compressor per thread, reset for each response, as the
//!   story's fix pooled them.
//!
//! Either way the request reaches Vexil asking for identity, and the layer compresses what Vexil
//! sends; without the header the request is Vexil's own (a precompressed snapshot, or an
//! evaluation answer compressed by Vexil's per-thread compressor). Not a mode of the product.
//!
//! Takes `vexil serve`'s arguments.

use std::cell::RefCell;
use std::convert::Infallible;
use std::process::ExitCode;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use clap::Parser;
use futures_util::future::{BoxFuture, Either};
use http_body_util::BodyExt as _;
use miniz_oxide::deflate::core::{compress_to_output, CompressorOxide, TDEFLFlush};
use miniz_oxide::DataFormat;
use tower::{Layer, Service};

#[global_allocator]
static ALLOCATOR: vexil::alloc::CountingAllocator = vexil::alloc::CountingAllocator;

/// The compression level of both bench modes: the one Vexil compresses evaluation answers with.
const LEVEL: u8 = 3;

#[derive(Parser)]
#[command(about = "vexil serve with the seed story's per-response compressors, for benchmarks")]
struct Args {
    #[command(flatten)]
    serve: vexil::cli::ServeArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match vexil::commands::serve::run_with(&args.serve, |app| app.layer(CompressionLayer)) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Naive,
    Pooled,
}

#[derive(Clone)]
struct CompressionLayer;

impl<S> Layer<S> for CompressionLayer {
    type Service = Compression<S>;

    fn layer(&self, inner: S) -> Compression<S> {
        Compression { inner }
    }
}

#[derive(Clone)]
struct Compression<S> {
    inner: S,
}

impl<S> Service<Request> for Compression<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<S::Future, BoxFuture<'static, Result<Response, Infallible>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let mode = match request
            .headers()
            .get("x-bench-compression")
            .map(HeaderValue::as_bytes)
        {
            Some(b"naive") => Mode::Naive,
            Some(b"pooled") => Mode::Pooled,
            // Vexil's own path, untouched: not even this layer's boxing.
            _ => return Either::Left(self.inner.call(request)),
        };
        request.headers_mut().remove(header::ACCEPT_ENCODING);
        let response = self.inner.call(request);
        Either::Right(Box::pin(async move {
            let response = response.await?;
            let (mut parts, body) = response.into_parts();
            let Ok(collected) = body.collect().await else {
                return Ok(Response::from_parts(parts, Body::empty()));
            };
            let identity = collected.to_bytes();
            let compressed = match mode {
                Mode::Naive => vexil::publish::gzip(&identity, LEVEL),
                Mode::Pooled => pooled_gzip(&identity),
            };
            parts
                .headers
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            parts
                .headers
                .insert(header::CONTENT_LENGTH, HeaderValue::from(compressed.len()));
            Ok(Response::from_parts(parts, Body::from(compressed)))
        }))
    }
}

thread_local! {
    /// The pooled mode's compressor: made once per thread, reset for each response.
    static COMPRESSOR: RefCell<Box<CompressorOxide>> = RefCell::new(Box::default());
}

/// A gzip member compressed with this thread's compressor, as Vexil compresses its answers.
fn pooled_gzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 3 + 32);
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
    COMPRESSOR.with(|compressor| {
        let mut compressor = compressor.borrow_mut();
        compressor.reset();
        compressor.set_format_and_level(DataFormat::Raw, LEVEL);
        compress_to_output(&mut compressor, data, TDEFLFlush::Finish, |chunk| {
            out.extend_from_slice(chunk);
            true
        });
    });
    out.extend_from_slice(&crc32fast::hash(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}
