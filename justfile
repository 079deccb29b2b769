# Every routine task. `./x <recipe>` runs one (the `x` script installs `just` first).

set shell := ["bash", "-euo", "pipefail", "-c"]

vexil := "target/debug/vexil"

# The wasm-bindgen CLI must be the version of the `wasm-bindgen` crate in Cargo.lock.
wasm_bindgen_version := `sed -n '/^name = "wasm-bindgen"$/{n;s/^version = "\(.*\)"$/\1/p;}' Cargo.lock`
wasm_bindgen := ".tools/wasm-bindgen-" + wasm_bindgen_version + "/bin/wasm-bindgen"
# npm's binaryen: Debian's (108) writes modules that fail to load.
binaryen_version := "132"
wasm_opt := ".tools/binaryen-" + binaryen_version + "/node_modules/.bin/wasm-opt"
wasm_out := "target/wasm32-unknown-unknown/wasm-release/vexil_wasm.wasm"
# Flipt's Python SDK, for the compatibility test.
flipt_python_version := "2.0.0"
flipt_python := ".tools/flipt-python-" + flipt_python_version

# List the recipes.
default:
    @just --list

# Serve the example flags on http://127.0.0.1:8080, the demo page at /demo/ (no tokens: every
# route open); Ctrl-C stops.
run: build wasm
    {{vexil}} validate examples/flags
    {{vexil}} serve --flags examples/flags --listen 127.0.0.1:8080 --www www

# Evaluate the example requests with the command line, and explain one evaluation.
demo-cli: build
    {{vexil}} evaluate --flags examples/flags --batch examples/requests.json
    {{vexil}} evaluate --flags examples/flags --flag new-checkout --entity user-7 --context plan=pro --context seats=12 --context country=NL

# Build the `vexil` binary.
build:
    cargo build -p vexil

# Every test: formatting, lints, Rust tests, the wasm build, the Node tests, the package and
# the deployment recipes.
test: setup lint release-check test-rust wasm-check wasm-smoke test-node test-consumers test-python test-openapi test-bench test-deploy

# The load harness, briefly and without a load generator (its sequential client): it must still
# run, and the seed story's result must still hold (benches/README.md, "Load").
test-bench:
    cargo build -p vexil-benches --bins
    target/debug/vexil-load --ci

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

# Node tests in www/ (Flipt agreement, SDK, demo page in Chromium, edge worker), then Deno's.
test-node: build setup-node wasm
    cd www && VEXIL_BIN="$PWD/../{{vexil}}" npm test
    cd www && VEXIL_BIN="$PWD/../{{vexil}}" DENO_NO_UPDATE_CHECK=1 npx deno test --quiet --allow-read --allow-run="$PWD/../{{vexil}}" --allow-env=VEXIL_BIN,VEXIL_SEED test/deno/
    @# The SDK benchmark, briefly: it must still run, and its clients must still agree (its timings
    @# here mean nothing and are not shown).
    BENCH_MS=50 BENCH_ROUNDS=1 VEXIL_BENCH_SIZES=10,1000 node benches/js/sdk-vs-flipt.mjs > /dev/null

# docs/openapi.yaml against the live server: the document is valid OpenAPI 3.1, names exactly
# the router's routes, and real requests to every operation validate with openapi-core.
test-openapi: build setup-openapi
    VEXIL_BIN="$PWD/{{vexil}}" .tools/openapi-venv/bin/python server/tests/openapi/validate.py

# The OpenAPI validators, pinned (server/tests/openapi/requirements.txt), in a venv of their own.
setup-openapi:
    @[ .tools/openapi-venv/.installed -nt server/tests/openapi/requirements.txt ] || { python3 -m venv .tools/openapi-venv && .tools/openapi-venv/bin/pip install --quiet --disable-pip-version-check -r server/tests/openapi/requirements.txt && touch .tools/openapi-venv/.installed; }

# Flipt's Python SDK from PyPI against `vexil serve`, in a venv of its own under .tools/.
test-python: build setup-python
    VEXIL_BIN="$PWD/{{vexil}}" {{flipt_python}}/bin/python server/tests/python/flipt_python.py

# The WebAssembly engine into www/pkg/ (vexil_wasm.js and vexil_wasm_bg.wasm), smallest build.
wasm: setup-rust setup-wasm
    cargo build -p vexil-wasm --target wasm32-unknown-unknown --profile wasm-release
    {{wasm_bindgen}} --target web --out-dir www/pkg --remove-name-section --remove-producers-section {{wasm_out}}
    @# The SDK re-instantiates the module after a trap; the glue has no way to, so one is added.
    @grep -qx 'let wasmModule, wasmInstance, wasm;' www/pkg/vexil_wasm.js || { echo "wasm-bindgen's glue changed: check crates/vexil-wasm/reinstantiate.js" >&2; exit 1; }
    cat crates/vexil-wasm/reinstantiate.js >> www/pkg/vexil_wasm.js
    {{wasm_opt}} -Oz www/pkg/vexil_wasm_bg.wasm -o www/pkg/vexil_wasm_bg.wasm
    @# Which sources this engine was built from: `npm pack` refuses a stale one.
    node www/scripts/wasm-stamp.mjs write
    @echo "www/pkg/vexil_wasm_bg.wasm: $(wc -c < www/pkg/vexil_wasm_bg.wasm) B, $(gzip -9c www/pkg/vexil_wasm_bg.wasm | wc -c) B gzip"

# The npm package as it would be published, into target/npm/ (its `prepack` refuses an engine
# built from other sources).
pack: wasm setup-node
    mkdir -p target/npm
    cd www && npm pack --silent --pack-destination ../target/npm

# @vexil/sdk installed from its tarball into an app per toolchain (Vite, webpack, esbuild, an
# import map, Node ESM and require, TypeScript's module resolutions, wrangler dev), each built
# and run where it runs against `vexil serve` (www/test/consumers/run.mjs).
test-consumers: build pack setup-browser
    cd www/test/consumers && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; }
    cd www/test/consumers && npm install --no-save --no-audit --no-fund "../../../target/npm/vexil-sdk-$(node -p 'require("../../package.json").version').tgz"
    cd www/test/consumers && VEXIL_BIN="$PWD/../../../{{vexil}}" node run.mjs

# One version everywhere (crates, npm package, CHANGELOG), the licence files, and third-party
# licence lists that name what is built in now.
release-check:
    python3 scripts/release_check.py

cargo_about_version := "0.9.3"
cargo_about := ".tools/cargo-about-" + cargo_about_version + "/bin/cargo-about"

# The third-party licence lists shipped with the binary (THIRD_PARTY_LICENSES.md) and the npm
# package (www/THIRD_PARTY_LICENSES.md), written by cargo-about (about.toml, about.hbs).
licenses:
    @[ -x {{cargo_about}} ] || cargo install cargo-about --version {{cargo_about_version}} --locked --features cli --root .tools/cargo-about-{{cargo_about_version}}
    {{cargo_about}} generate --locked -m server/Cargo.toml --target x86_64-unknown-linux-gnu about.hbs -o THIRD_PARTY_LICENSES.md
    {{cargo_about}} generate --locked -m crates/vexil-wasm/Cargo.toml --target wasm32-unknown-unknown about.hbs -o www/THIRD_PARTY_LICENSES.md

# The shipped binary (`cargo install --profile dist`, static) as the Dockerfile builds it, run
# from an otherwise empty root as the image would; the systemd unit verified
# (server/tests/deploy/check.py; chroot and namespaces need root).
test-deploy:
    @sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo; $sudo python3 server/tests/deploy/check.py

# The built engine in Node against `vexil evaluate --batch` on the example flags.
wasm-smoke: build wasm
    node crates/vexil-wasm/smoke.mjs {{vexil}} examples/flags

# The conformance corpus (crates/vexil-eval/tests/conformance/) written again from Flipt's engine.
conformance: build setup-node
    cd www && VEXIL_BIN="$PWD/../{{vexil}}" node test/conformance/generate.mjs

# Every benchmark (about 20 minutes); results are recorded in benches/README.md.
bench: bench-eval bench-publish bench-sdk bench-load

# Every benchmark briefly (about a minute): each must still run, and the load harness checks the
# seed story's result (oha where `just setup-oha` installed it, else its sequential client).
bench-quick: build setup-node wasm
    cargo build --release -p vexil-benches --bins
    target/release/vexil-load --quick --json target/bench-quick.json
    target/release/vexil-load chart target/bench-quick-charts target/bench-quick.json
    VEXIL_BENCH_SIZES=10,100 VEXIL_BENCH_ROUNDS=1 cargo bench -p vexil-benches --bench publish
    BENCH_MS=50 BENCH_ROUNDS=1 VEXIL_BENCH_SIZES=10,1000 node benches/js/sdk-vs-flipt.mjs

# Native evaluation and reading Flipt's JSON (criterion).
bench-eval:
    cargo bench -p vexil-benches --bench evaluate

# The load harness in full (release build, about 20 minutes): the seed story's experiment at
# 1000 req/s for 60 s per mode, the limit against nginx and bare hyper, evaluation under load,
# growth from 10 to 10,000 flags (and requests while a 10,000-flag namespace reloads), SSE fan-out to 1,000 and 10,000 streams; rows to benches/results/load.json, then the charts.
bench-load: setup-oha setup-nginx
    cargo build --release -p vexil-benches --bins
    target/release/vexil-load --json benches/results/load.json
    target/release/vexil-load chart benches/results benches/results/load.json

# The charts of benches/README.md from load results (SVG, into benches/results/).
bench-charts +results:
    cargo build --release -p vexil-benches --bin vexil-load
    target/release/vexil-load chart benches/results {{results}}

# Two load runs' JSON side by side (e.g. a copy of benches/results/seed.json before a change, and after).
bench-compare old new:
    cargo build --release -p vexil-benches --bin vexil-load
    target/release/vexil-load compare {{old}} {{new}}

oha_version := "1.12.0"

# Debian's nginx, for the load harness's comparison with `gzip_static` (not needed by the tests).
setup-nginx:
    @[ -x /usr/sbin/nginx ] || { sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo; $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nginx-light >/dev/null; }

# oha, the constant-rate load generator, into .tools/ (a few minutes to build, once).
setup-oha:
    @[ -x .tools/oha-{{oha_version}}/bin/oha ] || cargo install oha --version {{oha_version}} --locked --root .tools/oha-{{oha_version}}

# Publishing 10 to 10,000 flags: load, reload, publish, each encoding's size (a table).
bench-publish:
    cargo bench -p vexil-benches --bench publish

# This SDK against Flipt's JS client: evaluation, and loading 10 to 10,000 flags from one
# server (VEXIL_BENCH_SIZES picks others); BENCH_MS sets each evaluation measurement's time, BENCH_ROUNDS the warm starts.
bench-sdk: build setup-node wasm
    node benches/js/sdk-vs-flipt.mjs

# The soak test at full length on a release build: clients download, stream and evaluate while
# the flag files are rewritten every way and broken and restored; figures in docs/reliability.md.
# (`./x test` runs a short version.)
soak cycles="100" clients="40" streams="10000":
    VEXIL_SOAK_CYCLES={{cycles}} VEXIL_SOAK_CLIENTS={{clients}} VEXIL_SOAK_STREAMS={{streams}} cargo test --release -p vexil --test soak -- --nocapture

cargo_fuzz_version := "0.13.2"
cargo_fuzz := ".tools/cargo-fuzz-" + cargo_fuzz_version + "/bin/cargo-fuzz"

# Fuzz each target for `seconds` (nightly; not in CI, whose tests replay the corpora), then
# minimize what the fuzzer kept. A crash lands in fuzz/artifacts/<target>/: fix it, and keep the
# input as fuzz/seeds/<target>/crash-<what> so the replay test holds it fixed.
fuzz seconds="180":
    @[ -x {{cargo_fuzz}} ] || cargo install cargo-fuzz --version {{cargo_fuzz_version}} --root .tools/cargo-fuzz-{{cargo_fuzz_version}}
    export PATH="$PWD/.tools/cargo-fuzz-{{cargo_fuzz_version}}/bin:$PATH"; \
    for target in flag_yaml flag_json snapshot compiled evaluate; do \
        mkdir -p fuzz/corpus/$target; \
        cargo +nightly fuzz run --fuzz-dir fuzz --features libfuzzer $target fuzz/corpus/$target fuzz/seeds/$target -- -max_total_time={{seconds}} -max_len=4096; \
        cargo +nightly fuzz cmin --fuzz-dir fuzz --features libfuzzer $target fuzz/corpus/$target -- -max_len=4096; \
    done

# Install what the build needs; each step is skipped when already done.
setup: setup-rust setup-node setup-browser

setup-rust:
    @rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
    @rustup component list --installed | grep -q '^clippy' || rustup component add clippy
    @rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt

# The wasm-bindgen CLI and wasm-opt, into .tools/ (each a directory named by its version).
setup-wasm:
    @[ -x {{wasm_bindgen}} ] || cargo install wasm-bindgen-cli --version {{wasm_bindgen_version}} --root .tools/wasm-bindgen-{{wasm_bindgen_version}}
    @[ -x {{wasm_opt}} ] || npm install --prefix .tools/binaryen-{{binaryen_version}} --no-save --no-audit --no-fund binaryen@{{binaryen_version}}

setup-node:
    @cd www && { [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; }

# flipt-python, pinned (2.0.0 needs Python 3.11 or later).
setup-python:
    @[ -x {{flipt_python}}/bin/python ] || { python3 -m venv {{flipt_python}} && {{flipt_python}}/bin/pip install --quiet --disable-pip-version-check flipt=={{flipt_python_version}}; }

# Chromium for the demo page's browser test: Debian's package, only when it is missing.
setup-browser:
    @[ -x /usr/bin/chromium ] || { sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo; $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null; }
