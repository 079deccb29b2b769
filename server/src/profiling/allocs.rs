//! The allocation profile: the sampled stacks ([`super::sampler`]) as a pprof profile, with
//! `alloc_objects` and `alloc_space` as Go's `allocs` profile has them (`alloc_space` the
//! default), symbolized here so `go tool pprof` needs no binary.

use std::collections::HashMap;
use std::ffi::c_void;

use pprof::protos::{Function, Line, Location, Mapping, Profile, Sample, ValueType};

use super::sampler::{self, StackTotals};

/// Frames of the allocation machinery: the global allocator, the sampler, and `alloc`'s own
/// functions (`Vec`, `Box`, `String` growing). They are cut from the top of every stack, so a
/// stack's leaf is the code that asked for the memory, as in Go's profiles.
fn is_machinery(name: &str) -> bool {
    const PREFIXES: [&str; 12] = [
        "alloc::",
        "core::alloc::",
        "std::alloc::",
        "std::thread::local::",
        "__rustc::",
        "__rust_",
        "__rdl_",
        "__rg_",
        "vexil::alloc::",
        "vexil::profiling::sampler::",
        "backtrace::",
        "hashbrown::raw::",
    ];
    let name = name.strip_prefix('<').unwrap_or(name);
    PREFIXES.iter().any(|prefix| name.starts_with(prefix))
        || [" as alloc::", " as core::alloc::"]
            .iter()
            .any(|part| name.contains(part))
}

/// Strings of a profile: index 0 is the empty string, as the format requires.
#[derive(Default)]
struct Strings {
    table: Vec<String>,
    positions: HashMap<String, i64>,
}

impl Strings {
    fn new() -> Strings {
        let mut strings = Strings::default();
        strings.get("");
        strings
    }

    fn get(&mut self, text: &str) -> i64 {
        if let Some(&at) = self.positions.get(text) {
            return at;
        }
        let at = self.table.len() as i64;
        self.table.push(text.to_owned());
        self.positions.insert(text.to_owned(), at);
        at
    }
}

/// One resolved frame: function name, file, line (inlined frames give several, innermost first).
struct Resolved {
    name: String,
    file: String,
    line: i64,
}

fn resolve(address: usize) -> Vec<Resolved> {
    let mut found = Vec::new();
    backtrace::resolve(address as *mut c_void, |symbol| {
        let name = symbol
            .name()
            .map(|name| format!("{name:#}"))
            .unwrap_or_else(|| format!("{address:#x}"));
        let file = symbol
            .filename()
            .map(|file| file.display().to_string())
            .unwrap_or_default();
        found.push(Resolved {
            name,
            file,
            line: symbol.lineno().map_or(0, i64::from),
        });
    });
    if found.is_empty() {
        found.push(Resolved {
            name: format!("{address:#x}"),
            file: String::new(),
            line: 0,
        });
    }
    found
}

/// The profile of every allocation sampled since the process started.
pub fn profile() -> Profile {
    let (stacks, lost) = sampler::snapshot();
    let mut strings = Strings::new();
    let mut locations: Vec<Location> = Vec::new();
    let mut location_of: HashMap<usize, (u64, bool)> = HashMap::new();
    let mut functions: Vec<Function> = Vec::new();
    let mut function_of: HashMap<(String, String), u64> = HashMap::new();
    let mut samples = Vec::with_capacity(stacks.len());
    for stack in &stacks {
        let ids = location_ids(
            stack,
            &mut strings,
            &mut locations,
            &mut location_of,
            &mut functions,
            &mut function_of,
        );
        samples.push(Sample {
            location_id: ids,
            value: vec![stack.objects.round() as i64, stack.bytes.round() as i64],
            ..Sample::default()
        });
    }
    // The debug info read to name the frames is dropped again: a profile is rare, memory not.
    backtrace::clear_symbol_cache();
    let executable = std::env::current_exe()
        .map(|path| path.display().to_string())
        .unwrap_or_default();
    let value_type = |strings: &mut Strings, ty: &str, unit: &str| ValueType {
        ty: strings.get(ty),
        unit: strings.get(unit),
    };
    let sample_type = vec![
        value_type(&mut strings, "alloc_objects", "count"),
        value_type(&mut strings, "alloc_space", "bytes"),
    ];
    let period_type = Some(value_type(&mut strings, "space", "bytes"));
    let rate = sampler::sample_bytes();
    let comment = strings.get(&format!(
        "sampled every {rate} bytes allocated on average (0: sampling is off); {lost} samples lost to a full or busy table"
    ));
    let mapping = Mapping {
        id: 1,
        memory_start: 0,
        memory_limit: u64::MAX,
        filename: strings.get(&executable),
        has_functions: true,
        has_filenames: true,
        has_line_numbers: true,
        ..Mapping::default()
    };
    Profile {
        sample_type,
        sample: samples,
        mapping: vec![mapping],
        location: locations,
        function: functions,
        default_sample_type: strings.get("alloc_space"),
        string_table: strings.table,
        time_nanos: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos() as i64),
        period_type,
        period: rate as i64,
        comment: vec![comment],
        ..Profile::default()
    }
}

/// The location ids of one stack, leaf first, the allocation machinery's frames left out.
fn location_ids(
    stack: &StackTotals,
    strings: &mut Strings,
    locations: &mut Vec<Location>,
    location_of: &mut HashMap<usize, (u64, bool)>,
    functions: &mut Vec<Function>,
    function_of: &mut HashMap<(String, String), u64>,
) -> Vec<u64> {
    let mut ids = Vec::with_capacity(stack.depth);
    for (position, &address) in stack.frames[..stack.depth].iter().enumerate() {
        // A return address points after its call: resolve the call itself (the leaf is exact).
        let lookup = if position == 0 {
            address
        } else {
            address.saturating_sub(1)
        };
        let id = *location_of.entry(address).or_insert_with(|| {
            let resolved = resolve(lookup);
            let machinery = resolved.iter().all(|frame| is_machinery(&frame.name));
            let lines = resolved
                .into_iter()
                .map(|frame| {
                    let key = (frame.name, frame.file);
                    let function_id = match function_of.get(&key) {
                        Some(&id) => id,
                        None => {
                            let id = functions.len() as u64 + 1;
                            functions.push(Function {
                                id,
                                name: strings.get(&key.0),
                                system_name: strings.get(&key.0),
                                filename: strings.get(&key.1),
                                ..Function::default()
                            });
                            function_of.insert(key, id);
                            id
                        }
                    };
                    Line {
                        function_id,
                        line: frame.line,
                    }
                })
                .collect();
            let id = locations.len() as u64 + 1;
            locations.push(Location {
                id,
                mapping_id: 1,
                address: address as u64,
                line: lines,
                ..Location::default()
            });
            (id, machinery)
        });
        ids.push(id);
    }
    // Cut the machinery above the first frame of the code that allocated (all of it, for a
    // stack that is machinery only: nothing would be left to name).
    let first_caller = ids
        .iter()
        .position(|&(_, machinery)| !machinery)
        .unwrap_or(0);
    ids[first_caller..].iter().map(|&(id, _)| id).collect()
}
