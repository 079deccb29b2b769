//! The floor: a bare hyper server returning one body, made before it starts, for every request
//! (`vexil-bare-server ADDR FILE CONTENT-ENCODING`). The same hyper settings as Vexil's listener
//! (keep-alive, `half_close`), the same counting allocator, and `GET /metrics` with the same two
//! counters, so the load harness measures it as it measures Vexil.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_ENCODING, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

#[global_allocator]
static ALLOCATOR: vexil::alloc::CountingAllocator = vexil::alloc::CountingAllocator;

fn usage() -> ! {
    eprintln!("usage: vexil-bare-server ADDR BODY-FILE CONTENT-ENCODING");
    std::process::exit(2)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(address), Some(file), Some(coding)) = (args.next(), args.next(), args.next()) else {
        usage()
    };
    let address: SocketAddr = address.parse().unwrap_or_else(|_| usage());
    let body = Bytes::from(std::fs::read(file)?);
    let coding = HeaderValue::try_from(coding).unwrap_or_else(|_| usage());
    let listener = TcpListener::bind(address).await?;
    println!("listening on http://{}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        let (body, coding) = (body.clone(), coding.clone());
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<hyper::body::Incoming>| {
                let response = respond(&request, body.clone(), &coding);
                async move { Ok::<_, Infallible>(response) }
            });
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .keep_alive(true)
                .half_close(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn respond(
    request: &Request<hyper::body::Incoming>,
    body: Bytes,
    coding: &HeaderValue,
) -> Response<Full<Bytes>> {
    if request.uri().path() == "/metrics" {
        let (allocations, bytes) = vexil::alloc::totals();
        let text = format!(
            "vexil_heap_allocations_total {allocations}\nvexil_heap_allocated_bytes_total {bytes}\n"
        );
        return Response::new(Full::new(Bytes::from(text)));
    }
    let mut response = Response::new(Full::new(body));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CONTENT_ENCODING, coding.clone());
    response
}
