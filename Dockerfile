# The Vexil server as a container image: one static binary, the example flags, nothing else.
#
#   docker build -t vexil .
#   docker run -p 8080:8080 -v "$PWD/flags:/flags:ro" vexil
#
# No container runtime is needed to check it: `./x test-deploy` makes the same build and runs
# it from an otherwise empty root as the user below, with this file's ENV, CMD and HEALTHCHECK
# (server/tests/deploy/check.py). docs/deploy.md has the rest.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# glibc linked statically: the allocator the benchmarks measured and the server tunes, and CPU
# profiles that unwind through signal frames (musl's carry no unwind information, so its
# /debug/pprof/profile comes back empty). The dist profile keeps symbols, not debug info.
# Random bytes from the getrandom system call: a static binary cannot look the libc function up,
# and would fall back to /dev/urandom, which an empty root does not have.
ENV RUSTFLAGS="-C target-feature=+crt-static --cfg getrandom_backend=\"linux_getrandom\""
RUN cargo install --locked --path server --profile dist --target "$(uname -m)-unknown-linux-gnu" --root /out \
    && mkdir -m 1777 /out/tmp

FROM scratch
COPY --from=build /out/bin/vexil /vexil
# The CPU profiler writes a scratch file; with a read-only root, mount a tmpfs here.
COPY --from=build /out/tmp /tmp
COPY examples/flags /flags
COPY LICENSE-MIT LICENSE-APACHE THIRD_PARTY_LICENSES.md /licenses/
USER 65532:65532
ENV VEXIL_FLAGS=/flags VEXIL_LISTEN=0.0.0.0:8080 VEXIL_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["/vexil", "probe", "http://127.0.0.1:8080/health"]
ENTRYPOINT ["/vexil"]
CMD ["serve"]
