//! The Vexil server as a library: `vexil::http::app(state)` is the whole HTTP API, so tests
//! and the benchmarks drive it in process (`tower::ServiceExt::oneshot`), as axum's own tests
//! do; the `vexil` binary (`main.rs`) is the command line around it.

pub mod alloc;
pub mod auth;
pub mod build_info;
pub mod catalog;
pub mod cli;
pub mod commands;
pub mod config;
pub mod http;
pub mod metrics;
pub mod profiling;
pub mod publish;
pub mod signing;
pub mod source;
pub mod state;
pub mod watch;
pub mod wire;
