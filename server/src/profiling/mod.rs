//! Profiles as Go's `net/http/pprof` serves them, so `go tool pprof` reads them unchanged: CPU
//! over a span of seconds (`cpu`), and every allocation since start, sampled (`allocs`, written
//! from `sampler`'s table, which the counting allocator fills).

pub mod allocs;
pub mod cpu;
pub mod sampler;

use pprof::protos::Message as _;

/// A profile as `go tool pprof` fetches it: the protobuf, gzipped.
pub fn encode(profile: &pprof::protos::Profile) -> Vec<u8> {
    crate::publish::gzip(&profile.encode_to_vec(), 6)
}
