//! Every failure the API reports: a status code and a message naming what was wrong.
//! The body is always `{"error": "<message>"}` so the UI can show it as is.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is malformed or a parameter is outside its range.
    #[error("{0}")]
    BadRequest(String),
    /// 401: a token is required and was missing or wrong.
    #[error("{0}")]
    Unauthorized(String),
    /// 404: the named project, run, table, column, projection, job or file does not exist.
    #[error("{0}")]
    NotFound(String),
    /// 409: the resource exists but is not in a state that allows this (e.g. coords of a running job).
    #[error("{0}")]
    Conflict(String),
    /// 413: the body is larger than the server accepts.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 501: the algorithm exists in the API but its implementation has not landed.
    #[error("{0}")]
    NotImplemented(String),
    /// 500: a failure inside the server or the store; the message says where.
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::BadRequest(msg.into())
    }
    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::NotFound(msg.into())
    }
    pub fn internal(msg: impl Into<String>) -> Self {
        Self::Internal(msg.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The JSON error body with `status`.
pub fn error_response(status: StatusCode, message: &str) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if matches!(self, Self::Internal(_)) {
            eprintln!("flatspace-server: internal error: {self}");
        }
        error_response(self.status(), &self.to_string())
    }
}

pub type ApiResult<T> = std::result::Result<T, ApiError>;
