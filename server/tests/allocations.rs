//! The founding profile, as a regression test: what serving a compressed response allocates.
//!
//! Flipt's compression middleware made a new deflate writer for every response and allocated
//! ~19 GB a minute under load. Vexil compresses a snapshot once per revision, and compresses
//! evaluation responses with a per-thread compressor. This test measures the real server's heap
//! allocation per response (its counting allocator, read from `/metrics`), next to two servers in
//! this process measured the same way: a naive one that makes a compressor per response, and a
//! bare axum handler returning ready bytes on hyper's defaults (which allocate an 8 KB read
//! buffer per keep-alive request: see `server/src/http/listener.rs`).

mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

use support::Server;

const SNAPSHOT: &str = "/internal/v1/evaluation/snapshot/namespace/default";
const REQUESTS: u64 = 10_000;

/// Counts allocations made on threads that opted in (the naive server's thread), so the test's
/// own client work is not charged to the server it measures.
struct ThreadCountingAllocator;

static COUNTED_BYTES: AtomicU64 = AtomicU64::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

fn charge(bytes: usize) {
    if COUNTING.try_with(Cell::get).unwrap_or(false) {
        COUNTED_BYTES.fetch_add(bytes as u64, Ordering::Relaxed);
    }
}

unsafe impl GlobalAlloc for ThreadCountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        charge(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        charge(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        charge(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: ThreadCountingAllocator = ThreadCountingAllocator;

/// A counter of the server's `/metrics`, by its whole name with labels.
async fn server_counter(client: &reqwest::Client, server: &Server, name: &str) -> u64 {
    let text = client
        .get(server.url("/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

/// The server's allocated bytes so far, from its `/metrics`.
async fn server_allocated_bytes(client: &reqwest::Client, server: &Server) -> u64 {
    server_counter(client, server, "vexil_heap_allocated_bytes_total").await
}

/// Sends `count` requests built by `request` (on a client with one keep-alive connection),
/// checking each.
async fn send_all(count: u64, request: impl Fn() -> reqwest::RequestBuilder) {
    for _ in 0..count {
        let response = request().send().await.expect("request");
        assert!(response.status().is_success(), "{}", response.status());
        response.bytes().await.expect("body");
    }
}

/// Bytes the server allocated per response over `count` requests, after a warm-up.
async fn server_bytes_per_response(
    server: &Server,
    count: u64,
    request: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
) -> u64 {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    send_all(200, || request(&client)).await;
    let before = server_allocated_bytes(&client, server).await;
    send_all(count, || request(&client)).await;
    let after = server_allocated_bytes(&client, server).await;
    (after - before) / count
}

/// A server in this process, on a counted thread, whose one route answers with
/// `respond(body)`. Returns its address.
fn start_local_server(
    body: &'static [u8],
    respond: fn(&'static [u8]) -> axum::response::Response,
) -> std::net::SocketAddr {
    let (address_tx, address_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        COUNTING.with(|counting| counting.set(true));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            address_tx.send(listener.local_addr().unwrap()).unwrap();
            let app = axum::Router::new().route(
                "/snapshot/{namespace}",
                axum::routing::get(
                    move |_: axum::extract::Path<String>| async move { respond(body) },
                ),
            );
            axum::serve(listener, app).await.unwrap();
        });
    });
    address_rx.recv().unwrap()
}

/// What a per-response compression middleware does: a new compressor each time.
fn compress_per_response(body: &'static [u8]) -> axum::response::Response {
    let compressed = miniz_oxide::deflate::compress_to_vec(body, 6);
    axum::response::IntoResponse::into_response(([("content-encoding", "gzip")], compressed))
}

/// The least a handler can do: hand back bytes made earlier.
fn ready_bytes(body: &'static [u8]) -> axum::response::Response {
    let body = axum::body::Body::from(bytes::Bytes::from_static(body));
    axum::response::IntoResponse::into_response(([("content-encoding", "gzip")], body))
}

/// Bytes allocated per response by a local server over `count` requests, after a warm-up.
async fn local_bytes_per_response(address: std::net::SocketAddr, count: u64) -> u64 {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    let url = format!("http://{address}/snapshot/default");
    send_all(100, || client.get(&url)).await;
    let before = COUNTED_BYTES.load(Ordering::Relaxed);
    send_all(count, || client.get(&url)).await;
    (COUNTED_BYTES.load(Ordering::Relaxed) - before) / count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compressed_snapshot_allocates_no_compressor_state() {
    let server = Server::start(&[]);
    let vexil = server_bytes_per_response(&server, REQUESTS, |client| {
        client
            .get(server.url(SNAPSHOT))
            .header("accept-encoding", "gzip")
    })
    .await;

    let snapshot = reqwest::get(server.url(SNAPSHOT))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let body: &'static [u8] = Box::leak(snapshot.to_vec().into_boxed_slice());
    let floor = local_bytes_per_response(start_local_server(body, ready_bytes), 2_000).await;
    let naive =
        local_bytes_per_response(start_local_server(body, compress_per_response), 500).await;

    println!(
        "bytes allocated per gzip snapshot response: vexil {vexil}, bare axum handler {floor}, \
         compressor per response {naive}"
    );
    assert!(
        naive >= 100 * 1024,
        "the naive handler allocated only {naive} bytes per response"
    );
    // No compressor, no serialization, no copy of the snapshot: the header map, axum's boxed
    // futures and hyper's timer, about 3 KB. Above 6 KB, something per request came back (as
    // hyper's 8 KB read buffer does per request without `half_close`: `listener.rs`).
    assert!(
        vexil <= 6 * 1024,
        "vexil allocated {vexil} bytes per response (bare handler {floor})"
    );
    assert!(
        vexil * 20 <= naive,
        "vexil {vexil} is not twenty times below {naive}"
    );

    // The handler's own share, as the server reports it per route: axum's boxed future and the
    // response's header map, nothing that grows with the snapshot.
    let client = reqwest::Client::new();
    let route = r#"{route="/internal/v1/evaluation/snapshot/namespace/{namespace}"}"#;
    let bytes = server_counter(
        &client,
        &server,
        &format!("vexil_handler_allocated_bytes_total{route}"),
    )
    .await;
    let ok = concat!(
        "vexil_http_requests_total",
        r#"{route="/internal/v1/evaluation/snapshot/namespace/{namespace}",status="200"}"#
    );
    let responses = server_counter(&client, &server, ok).await;
    let handler = bytes / responses;
    println!("the snapshot handler itself allocated {handler} bytes per response");
    assert!(
        handler <= 3 * 1024,
        "the snapshot handler allocated {handler} bytes per response"
    );
}

/// What one deflate compressor's state weighs, measured on a counted thread.
fn compressor_state_bytes() -> u64 {
    std::thread::spawn(|| {
        COUNTING.with(|counting| counting.set(true));
        let before = COUNTED_BYTES.load(Ordering::Relaxed);
        let compressor = Box::<miniz_oxide::deflate::core::CompressorOxide>::default();
        let bytes = COUNTED_BYTES.load(Ordering::Relaxed) - before;
        drop(compressor);
        bytes
    })
    .join()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_compressed_evaluation_allocates_far_less_than_a_compressor() {
    let server = Server::start(&[]);
    let requests: Vec<serde_json::Value> = (0..100)
        .map(|n| {
            serde_json::json!({
                "flagKey": if n % 2 == 0 { "new-checkout" } else { "free-shipping" },
                "entityId": format!("user-{n}"),
                "context": {"plan": "pro", "seats": "3", "country": "NL"},
            })
        })
        .collect();
    let batch = serde_json::json!({ "requests": requests }).to_string();
    let url = server.url("/evaluate/v1/batch");
    let mut per_response = Vec::new();
    for encoding in ["identity", "gzip"] {
        let sample = reqwest::Client::new()
            .post(&url)
            .header("accept-encoding", encoding)
            .body(batch.clone())
            .send()
            .await
            .unwrap();
        let sent = sample
            .headers()
            .get("content-encoding")
            .map(|value| value.to_str().unwrap().to_owned());
        assert_eq!(sent.as_deref(), (encoding == "gzip").then_some("gzip"));
        let length = sample.bytes().await.unwrap().len();
        let bytes = server_bytes_per_response(&server, 300, |client| {
            client
                .post(&url)
                .header("accept-encoding", encoding)
                .body(batch.clone())
        })
        .await;
        println!("batch of 100 as {encoding} ({length} B): {bytes} B allocated per response");
        per_response.push(bytes);
    }
    let (plain, compressed) = (per_response[0], per_response[1]);
    let compressor = compressor_state_bytes();
    println!("one compressor's state: {compressor} B");
    assert!(
        compressor >= 100 * 1024,
        "a compressor weighs {compressor} B?"
    );
    // What compressing costs: the output buffer, not a compressor.
    let compressing = compressed.saturating_sub(plain);
    assert!(
        compressing * 8 <= compressor,
        "compressing allocated {compressing} B per response; a compressor is {compressor} B"
    );
    // The whole request, parsing 100 requests included, stays under one compressor's state.
    assert!(compressed < compressor, "{compressed} B per response");
}
