//! The flatspace HTTP server: the versioned JSON API over a store (see `docs/api.md`), table pages
//! as Arrow IPC streams, coordinates and category codes as raw typed-array bodies, the job runner
//! that computes projections on its own rayon pool, the progress WebSocket, and the embedded UI.
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! let store = flatspace_store::Store::open("./flatspace-data")?;
//! let config = flatspace_server::ServerConfig::default();
//! flatspace_server::serve(store, config, |url| println!("{url}")).await?;
//! # Ok(()) }
//! ```

mod algorithms;
mod api;
mod assets;
pub mod auth;
mod columns;
pub mod demo;
mod demo_data;
mod error;
mod explore;
pub mod guard;
pub mod jobs;
mod png;
mod projections;
mod ws;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;

pub use error::ApiError;
use flatspace_store::Store;

/// Largest request body accepted (projection requests are small JSON documents).
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub host: IpAddr,
    /// 0 picks a free port (the bound address is passed to `on_listening`).
    pub port: u16,
    /// Required on every API request when set. `serve` refuses a non-loopback host without one.
    pub token: Option<String>,
    pub body_limit: usize,
    /// Compute threads for projections (0: one per core).
    pub compute_threads: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 8790,
            token: None,
            body_limit: DEFAULT_BODY_LIMIT,
            compute_threads: 0,
        }
    }
}

/// What every handler shares.
pub struct AppState {
    pub store: Arc<Store>,
    pub jobs: jobs::JobRunner,
    pub body_limit: usize,
    caches: api::Caches,
}

impl AppState {
    pub fn new(store: Store, config: &ServerConfig) -> anyhow::Result<Arc<Self>> {
        Ok(Arc::new(Self {
            store: Arc::new(store),
            jobs: jobs::JobRunner::new(config.compute_threads)?,
            body_limit: config.body_limit,
            caches: api::Caches::default(),
        }))
    }
}

/// The whole application: API under `/api/v1`, the UI everywhere else.
pub fn router(state: Arc<AppState>, config: &ServerConfig) -> Router {
    let token = Arc::new(config.token.clone());
    api::routes()
        .merge(projections::routes())
        .merge(explore::routes())
        .merge(ws::routes())
        .fallback(api::fallback)
        .layer(middleware::map_response(api::json_errors))
        .layer(DefaultBodyLimit::max(config.body_limit))
        .layer(middleware::from_fn_with_state(token, auth::require_token))
        .layer(middleware::from_fn_with_state(
            Arc::new(config.token.is_some()),
            guard::guard_requests,
        ))
        .with_state(state)
}

/// Binds, calls `on_listening` with the URL to open (with `?token=` when one is set), and serves
/// until Ctrl-C. Refuses to bind beyond loopback without a token.
pub async fn serve(
    store: Store,
    config: ServerConfig,
    on_listening: impl FnOnce(&str),
) -> anyhow::Result<()> {
    use anyhow::Context;
    if !config.host.is_loopback() && config.token.is_none() {
        anyhow::bail!(
            "binding to {} exposes the store beyond this machine: give a --token (or let \
             `flatspace serve` generate one)",
            config.host
        );
    }
    let state = AppState::new(store, &config)?;
    let app = router(state, &config);
    let addr = SocketAddr::new(config.host, config.port);
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!(
            "could not listen on {addr}; is another server using the port? Pick one with --port"
        )
    })?;
    let bound = listener.local_addr()?;
    let shown_host = if bound.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        match bound.ip() {
            IpAddr::V6(ip) => format!("[{ip}]"),
            IpAddr::V4(ip) => ip.to_string(),
        }
    };
    let mut url = format!("http://{shown_host}:{}/", bound.port());
    if let Some(token) = &config.token {
        url.push_str(&format!("?token={token}"));
    }
    on_listening(&url);
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .context("the server stopped with an error")
}

/// Whether this binary embeds the built web UI.
pub fn ui_is_built() -> bool {
    assets::ui_is_built()
}
