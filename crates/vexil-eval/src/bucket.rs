//! Bucketing: which share of entities a hash puts where, computed exactly as Flipt does.
//!
//! The hash is CRC-32 (IEEE) over UTF-8 bytes with no salt. Hashing the two parts in turn gives
//! the hash of their concatenation without building it, so bucketing allocates nothing.

/// How many buckets a variant rule distributes over.
pub const VARIANT_BUCKETS: u32 = 1000;

/// A variant rule's bucket: `crc32(flag_key ++ entity_id) % 1000`.
pub fn variant_bucket(flag_key: &str, entity_id: &str) -> u32 {
    crc32_of(flag_key.as_bytes(), entity_id.as_bytes()) % VARIANT_BUCKETS
}

/// A threshold rollout's bucket: `crc32(entity_id ++ flag_key) % 100` (note the order).
pub fn threshold_bucket(entity_id: &str, flag_key: &str) -> u32 {
    crc32_of(entity_id.as_bytes(), flag_key.as_bytes()) % 100
}

/// CRC-32 (IEEE) of `bytes`: the bucketing hash, which is also the checksum in gzip's trailer.
pub fn crc32(bytes: &[u8]) -> u32 {
    crc32_of(bytes, &[])
}

/// Whether a threshold rollout of `percentage` takes an entity in `bucket`.
pub fn threshold_matches(bucket: u32, percentage: f32) -> bool {
    (bucket as f32) < percentage
}

/// Natively, crc32fast: SIMD or slice-by-16, several times faster than one byte at a time.
#[cfg(not(target_arch = "wasm32"))]
fn crc32_of(first: &[u8], second: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(first);
    hasher.update(second);
    hasher.finalize()
}

/// In WebAssembly, one 1 KiB table instead of crc32fast's 16 KiB: keys are short, size matters.
#[cfg(target_arch = "wasm32")]
fn crc32_of(first: &[u8], second: &[u8]) -> u32 {
    compact_crc32::finish(compact_crc32::update(
        compact_crc32::update(compact_crc32::START, first),
        second,
    ))
}

/// CRC-32 (IEEE, reflected polynomial 0xEDB88320), a byte at a time.
#[cfg(any(test, target_arch = "wasm32"))]
mod compact_crc32 {
    pub const START: u32 = !0;

    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut byte = 0;
        while byte < 256 {
            let mut crc = byte as u32;
            let mut bit = 0;
            while bit < 8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
                bit += 1;
            }
            table[byte] = crc;
            byte += 1;
        }
        table
    };

    pub fn update(mut crc: u32, bytes: &[u8]) -> u32 {
        for &byte in bytes {
            crc = TABLE[usize::from(crc as u8 ^ byte)] ^ (crc >> 8);
        }
        crc
    }

    pub fn finish(crc: u32) -> u32 {
        !crc
    }
}

/// The upper bucket boundary of each usable distribution, as `(boundary, distribution position)`.
///
/// Distributions with a rollout of 0 or less are dropped. The rest share the 1000 buckets in
/// proportion to their rollouts, so rollouts summing under 100 still cover every bucket. The
/// arithmetic is in `f32`, as in Flipt's engine, so that boundaries round identically: 33.33,
/// 33.33, 33.34 give 333, 667, 1000. The last boundary is always 1000.
pub fn distribution_boundaries(
    rollouts: impl Iterator<Item = f32> + Clone,
) -> impl Iterator<Item = (u32, usize)> {
    let usable = rollouts.enumerate().filter(|&(_, rollout)| rollout > 0.0);
    let total: f32 = usable.clone().map(|(_, rollout)| rollout).sum();
    let last = usable.clone().last().map(|(position, _)| position);
    let mut cumulative = 0.0f32;
    usable.map(move |(position, rollout)| {
        cumulative += rollout / total * 100.0;
        let boundary = if Some(position) == last {
            VARIANT_BUCKETS
        } else {
            (cumulative * 10.0).round() as u32
        };
        (boundary, position)
    })
}

/// Which distribution takes `bucket`, given `(boundary, distribution)` in ascending boundary order.
///
/// Normally the first whose boundary is above the bucket. Flipt's engine finds it by a binary
/// search for `bucket + 1`, which, where boundaries repeat (a share too small to own a bucket
/// after rounding, such as 0.01 next to 50), lands on the last of the equal ones: that share then
/// takes bucket `boundary - 1` from the share before it. Reproduced exactly.
pub fn pick_distribution<T: Copy>(buckets: &[(u32, T)], bucket: u32) -> Option<T> {
    let target = bucket + 1;
    let above = buckets.partition_point(|&(boundary, _)| boundary <= target);
    let index = match above.checked_sub(1) {
        Some(last) if buckets[last].0 == target => last,
        _ => above,
    };
    buckets.get(index).map(|&(_, distribution)| distribution)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_variant_buckets() {
        assert_eq!(variant_bucket("foo", "1"), 244);
        assert_eq!(variant_bucket("foo", "2"), 934);
        assert_eq!(variant_bucket("foo", "10"), 54);
        assert_eq!(variant_bucket("foo", "01"), 785);
    }

    #[test]
    fn crc32_is_ieee() {
        // The standard check value of CRC-32/ISO-HDLC, the variant zlib and gzip use.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn compact_crc32_agrees_with_crc32fast() {
        let inputs: [&[u8]; 4] = [b"", b"a", b"foo1", &[0xff; 300]];
        for input in inputs {
            let compact = compact_crc32::finish(compact_crc32::update(compact_crc32::START, input));
            assert_eq!(compact, crc32fast::hash(input));
        }
    }

    #[test]
    fn known_threshold_bucket() {
        assert_eq!(threshold_bucket("test-entity", "test-flag"), 65);
        assert!(threshold_matches(65, 65.5));
        assert!(!threshold_matches(65, 65.0));
    }

    fn boundaries(rollouts: &[f32]) -> Vec<(u32, usize)> {
        distribution_boundaries(rollouts.iter().copied()).collect()
    }

    #[test]
    fn thirds_round_like_flipt() {
        assert_eq!(
            boundaries(&[33.33, 33.33, 33.34]),
            [(333, 0), (667, 1), (1000, 2)]
        );
    }

    fn pick(rollouts: &[f32], bucket: u32) -> Option<usize> {
        pick_distribution(&boundaries(rollouts), bucket)
    }

    #[test]
    fn the_first_boundary_above_the_bucket_wins() {
        let thirds = [33.33, 33.33, 33.34];
        let picks: Vec<_> = [0, 332, 333, 666, 667, 999]
            .into_iter()
            .map(|bucket| pick(&thirds, bucket))
            .collect();
        assert_eq!(picks, [0, 0, 1, 1, 2, 2].map(Some));
    }

    /// Flipt's engine gives a share that rounds to nothing the bucket just below its boundary.
    #[test]
    fn a_share_too_small_to_round_takes_one_bucket_from_its_neighbour() {
        let tiny_middle = [50.0, 0.01, 49.99];
        assert_eq!(boundaries(&tiny_middle), [(500, 0), (500, 1), (1000, 2)]);
        assert_eq!(pick(&tiny_middle, 498), Some(0));
        assert_eq!(pick(&tiny_middle, 499), Some(1));
        assert_eq!(pick(&tiny_middle, 500), Some(2));
        // Of several equal boundaries, the last share takes the bucket.
        assert_eq!(pick(&[50.0, 0.01, 0.01, 49.98], 499), Some(2));
        assert_eq!(pick(&[99.99, 0.01], 998), Some(0));
        assert_eq!(pick(&[99.99, 0.01], 999), Some(1));
    }

    #[test]
    fn zero_rollouts_are_dropped_and_the_rest_normalised() {
        assert_eq!(boundaries(&[0.0, 25.0, 25.0]), [(500, 1), (1000, 2)]);
        assert_eq!(boundaries(&[10.0]), [(1000, 0)]);
        assert_eq!(boundaries(&[0.0, 0.0]), []);
    }
}
