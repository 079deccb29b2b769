//! Errors as Flipt's gateway sends them: `{"code": <gRPC code>, "message": "...", "details": []}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

/// Every error an HTTP handler returns.
#[derive(Debug)]
pub enum AppError {
    /// 400: the request is malformed.
    BadRequest(String),
    /// 401: no valid credentials.
    Unauthenticated(String),
    /// 403: credentials that do not cover this resource.
    Forbidden(String),
    /// 404.
    NotFound(String),
    /// 406: no acceptable representation.
    NotAcceptable(String),
    /// 413: over a configured size limit.
    TooLarge(String),
    /// 503: nothing valid to serve yet.
    Unavailable(String),
    /// 500: a bug; the detail is logged, not sent.
    Internal(String),
}

impl AppError {
    fn parts(&self) -> (StatusCode, u8, &str) {
        // gRPC codes, as Flipt's grpc-gateway maps them.
        match self {
            AppError::BadRequest(message) => (StatusCode::BAD_REQUEST, 3, message),
            AppError::Unauthenticated(message) => (StatusCode::UNAUTHORIZED, 16, message),
            AppError::Forbidden(message) => (StatusCode::FORBIDDEN, 7, message),
            AppError::NotFound(message) => (StatusCode::NOT_FOUND, 5, message),
            AppError::NotAcceptable(message) => (StatusCode::NOT_ACCEPTABLE, 3, message),
            AppError::TooLarge(message) => (StatusCode::PAYLOAD_TOO_LARGE, 8, message),
            AppError::Unavailable(message) => (StatusCode::SERVICE_UNAVAILABLE, 14, message),
            AppError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                13,
                "something went wrong",
            ),
        }
    }
}

impl AppError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        self.parts().0
    }

    /// The message sent to the client.
    pub fn message(&self) -> &str {
        self.parts().2
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        let (status, code, message) = self.parts();
        let body = serde_json::json!({ "code": code, "message": message, "details": [] });
        (status, Json(body)).into_response()
    }
}
