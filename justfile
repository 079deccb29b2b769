# Every routine task. `./x <recipe>` runs one (the `x` script installs `just` first).

set shell := ["bash", "-euo", "pipefail", "-c"]

vexil := "target/debug/vexil"

# List the recipes.
default:
    @just --list

# Serve the example flags on http://127.0.0.1:8080 (no tokens: every route open); Ctrl-C stops.
run: build
    {{vexil}} validate examples/flags
    {{vexil}} serve --flags examples/flags --listen 127.0.0.1:8080

# Evaluate the example requests with the command line, and explain one evaluation.
demo-cli: build
    {{vexil}} evaluate --flags examples/flags --batch examples/requests.json
    {{vexil}} evaluate --flags examples/flags --flag new-checkout --entity user-7 --context plan=pro --context seats=12 --context country=NL

# Build the `vexil` binary.
build:
    cargo build -p vexil

# Every test: formatting, lints, Rust tests, the wasm build, the Node tests.
test: setup lint test-rust wasm-check test-node

# Rust tests of every crate.
test-rust:
    cargo test --workspace

# Formatting and clippy, warnings as errors.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# The evaluation crate must build for WebAssembly: no I/O, no threads.
wasm-check:
    cargo build -p vexil-eval --target wasm32-unknown-unknown

# Node tests in www/, against the `vexil` binary (agreement with Flipt's own client).
test-node: build setup-node
    cd www && VEXIL_BIN="$PWD/../{{vexil}}" npm test

# Benchmarks; results are recorded by hand in benches/README.md.
bench:
    cargo bench -p vexil-benches --bench evaluate

# Install what the build needs; each step is skipped when already done.
setup: setup-rust setup-node

setup-rust:
    @rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
    @rustup component list --installed | grep -q '^clippy' || rustup component add clippy
    @rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt

setup-node:
    @cd www && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; }
