//! Flag-file format versions, "1.0" to "1.6", and the features each one introduced.

use std::fmt;

/// A version of Flipt's flag-file format: `1.<minor>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Version {
    minor: u8,
}

impl Version {
    /// Flag `type` and boolean flags' `rollouts`.
    pub(crate) const V1_1: Version = Version { minor: 1 };
    /// Rollout `segment.keys`.
    pub(crate) const V1_2: Version = Version { minor: 2 };
    /// Variant `default` and flag `metadata`.
    pub(crate) const V1_3: Version = Version { minor: 3 };
    /// The namespace as an object `{key, name, description}`.
    pub(crate) const V1_4: Version = Version { minor: 4 };
    /// A file without `version` is read as the latest.
    pub(crate) const LATEST: Version = Version { minor: 6 };

    /// Parses `"1.0"` to `"1.6"`, exactly as written.
    pub(crate) fn parse(text: &str) -> Option<Version> {
        let minor = text.strip_prefix("1.")?;
        if minor.len() != 1 {
            return None;
        }
        let minor = minor.parse::<u8>().ok()?;
        (minor <= Version::LATEST.minor).then_some(Version { minor })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "1.{}", self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_versions_only() {
        assert_eq!(
            Version::parse("1.0").map(|v| v.to_string()).as_deref(),
            Some("1.0")
        );
        assert_eq!(Version::parse("1.6"), Some(Version::LATEST));
        for bad in ["1.7", "2.0", "1", "1.10", "1.+1", "v1.0", ""] {
            assert_eq!(Version::parse(bad), None, "{bad}");
        }
        assert!(Version::V1_1 < Version::V1_4);
    }
}
