//! `--www DIR`: the demo page (`DIR/demo/`) and the SDK files it imports (`DIR/src/`,
//! `DIR/pkg/`), and nothing else of the folder (not its `package.json`, not `node_modules/`).
//!
//! Files are served by tower-http's `ServeDir` (content types, ranges, conditional requests);
//! this module only decides which paths reach it, and answers every refusal in JSON.

use std::convert::Infallible;
use std::path::PathBuf;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt as _;
use tower_http::services::ServeDir;

use super::AppError;

/// Longest path segment that reaches the file system (the usual `NAME_MAX`).
const MAX_SEGMENT_BYTES: usize = 255;

/// The folder, behind a file server.
#[derive(Clone)]
pub struct Files {
    serve_dir: ServeDir,
}

impl Files {
    pub fn new(dir: PathBuf) -> Files {
        Files {
            serve_dir: ServeDir::new(dir),
        }
    }
}

/// `GET /demo/...`, `/src/...`, `/pkg/...`.
pub async fn serve(State(files): State<Files>, request: Request) -> Response {
    let path = request.uri().path();
    let not_found = || AppError::NotFound(format!("no file at {path}")).into_response();
    // Checked as the file server will read it: percent-decoded (`%2E` is a dot, `%2F` a slash).
    let Ok(decoded) = percent_encoding::percent_decode_str(path).decode_utf8() else {
        return not_found();
    };
    let acceptable = decoded.split('/').skip(1).all(|segment| {
        segment.len() <= MAX_SEGMENT_BYTES
            && !segment.starts_with('.')
            && !segment.contains(['\\', '\0'])
    });
    if !acceptable {
        return not_found();
    }
    let Ok(response) = files
        .serve_dir
        .oneshot(request)
        .await
        .map_err(|e: Infallible| e);
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        let path_text = format!("the file server answered {status}");
        return if status.is_server_error() {
            AppError::Internal(path_text).into_response()
        } else {
            AppError::NotFound("no such file".into()).into_response()
        };
    }
    response.map(axum::body::Body::new)
}
