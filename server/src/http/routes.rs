//! Every route the server answers, with what a caller needs to be let in: one table, read by the
//! router (`mod.rs`), the access layer (`access.rs`) and the metrics labels (`observe.rs`).

/// What a request to a route needs when tokens are on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone: liveness, readiness, the demo page.
    Open,
    /// A token that covers the `{namespace}` of the path.
    PathNamespace,
    /// A token that covers the namespace of `X-Flipt-Namespace` (OFREP; `default` without it).
    HeaderNamespace,
    /// A valid token at once; each namespace the body names is checked as the body is parsed
    /// (or, for listings, each namespace listed).
    BodyNamespaces,
    /// Any valid token (who the caller is).
    AnyToken,
    /// An admin token for every namespace (`namespaces: "*"`): metrics show them all.
    Admin,
}

/// One route: its path pattern, as the router writes it, and its access rule.
#[derive(Clone, Copy, Debug)]
pub struct Route {
    pub path: &'static str,
    pub access: Access,
}

const fn route(path: &'static str, access: Access) -> Route {
    Route { path, access }
}

pub const SNAPSHOT_V1: &str = "/internal/v1/evaluation/snapshot/namespace/{namespace}";
pub const SNAPSHOT_V2: &str =
    "/client/v2/environments/{environment}/namespaces/{namespace}/snapshot";
pub const SNAPSHOT_IMMUTABLE: &str = "/api/v1/snapshots/{namespace}/{digest}";
pub const SNAPSHOT_IMMUTABLE_IN: &str =
    "/api/v1/environments/{environment}/snapshots/{namespace}/{digest}";
pub const STREAM: &str = "/client/v2/environments/{environment}/namespaces/{namespace}/stream";
pub const EVALUATE_VARIANT: &str = "/evaluate/v1/variant";
pub const EVALUATE_BOOLEAN: &str = "/evaluate/v1/boolean";
pub const EVALUATE_BATCH: &str = "/evaluate/v1/batch";
pub const OFREP_SINGLE: &str = "/ofrep/v1/evaluate/flags/{key}";
pub const OFREP_BULK: &str = "/ofrep/v1/evaluate/flags";
pub const STATUS: &str = "/api/v1/namespaces/{namespace}/status";
pub const NAMESPACES: &str = "/api/v1/namespaces";
pub const NAMESPACE: &str = "/api/v1/namespaces/{namespace}";
pub const FLAGS: &str = "/api/v1/namespaces/{namespace}/flags";
pub const FLAG: &str = "/api/v1/namespaces/{namespace}/flags/{key}";
pub const RULES: &str = "/api/v1/namespaces/{namespace}/flags/{key}/rules";
pub const RULE: &str = "/api/v1/namespaces/{namespace}/flags/{key}/rules/{*id}";
pub const ROLLOUTS: &str = "/api/v1/namespaces/{namespace}/flags/{key}/rollouts";
pub const ROLLOUT: &str = "/api/v1/namespaces/{namespace}/flags/{key}/rollouts/{*id}";
pub const SEGMENTS: &str = "/api/v1/namespaces/{namespace}/segments";
pub const SEGMENT: &str = "/api/v1/namespaces/{namespace}/segments/{key}";
pub const EVALUATE_V1: &str = "/api/v1/evaluate";
pub const EVALUATE_V1_NAMESPACED: &str = "/api/v1/namespaces/{namespace}/evaluate";
pub const BATCH_EVALUATE_V1: &str = "/api/v1/batch-evaluate";
pub const BATCH_EVALUATE_V1_NAMESPACED: &str = "/api/v1/namespaces/{namespace}/batch-evaluate";
pub const META_INFO: &str = "/meta/info";
pub const AUTH_SELF: &str = "/auth/v1/self";
pub const AUTH_METHODS: &str = "/auth/v1/method";
pub const HEALTH: &str = "/health";
pub const READY: &str = "/ready";
pub const METRICS: &str = "/metrics";
pub const PPROF_PROFILE: &str = "/debug/pprof/profile";
pub const PPROF_ALLOCS: &str = "/debug/pprof/allocs";
/// The demo page and the SDK files it imports, with `--www`.
pub const WWW: [&str; 5] = [
    "/demo",
    "/demo/",
    "/demo/{*file}",
    "/src/{*file}",
    "/pkg/{*file}",
];

/// Every route, in the order the router lists them.
pub const ROUTES: &[Route] = &[
    route(SNAPSHOT_V1, Access::PathNamespace),
    route(SNAPSHOT_V2, Access::PathNamespace),
    route(SNAPSHOT_IMMUTABLE, Access::PathNamespace),
    route(SNAPSHOT_IMMUTABLE_IN, Access::PathNamespace),
    route(STREAM, Access::PathNamespace),
    route(EVALUATE_VARIANT, Access::BodyNamespaces),
    route(EVALUATE_BOOLEAN, Access::BodyNamespaces),
    route(EVALUATE_BATCH, Access::BodyNamespaces),
    route(OFREP_SINGLE, Access::HeaderNamespace),
    route(OFREP_BULK, Access::HeaderNamespace),
    route(STATUS, Access::PathNamespace),
    route(NAMESPACES, Access::BodyNamespaces),
    route(NAMESPACE, Access::PathNamespace),
    route(FLAGS, Access::PathNamespace),
    route(FLAG, Access::PathNamespace),
    route(RULES, Access::PathNamespace),
    route(RULE, Access::PathNamespace),
    route(ROLLOUTS, Access::PathNamespace),
    route(ROLLOUT, Access::PathNamespace),
    route(SEGMENTS, Access::PathNamespace),
    route(SEGMENT, Access::PathNamespace),
    route(EVALUATE_V1, Access::BodyNamespaces),
    route(EVALUATE_V1_NAMESPACED, Access::PathNamespace),
    route(BATCH_EVALUATE_V1, Access::BodyNamespaces),
    route(BATCH_EVALUATE_V1_NAMESPACED, Access::PathNamespace),
    route(META_INFO, Access::AnyToken),
    route(AUTH_SELF, Access::AnyToken),
    route(AUTH_METHODS, Access::Open),
    route(HEALTH, Access::Open),
    route(READY, Access::Open),
    route(METRICS, Access::Admin),
    route(PPROF_PROFILE, Access::Admin),
    route(PPROF_ALLOCS, Access::Admin),
    route(WWW[0], Access::Open),
    route(WWW[1], Access::Open),
    route(WWW[2], Access::Open),
    route(WWW[3], Access::Open),
    route(WWW[4], Access::Open),
];

/// The route a matched path pattern names.
pub fn find(pattern: &str) -> Option<&'static Route> {
    ROUTES.iter().find(|route| route.path == pattern)
}

/// The `{name}` segment of `path`, read at its place in `pattern` (undecoded).
pub fn segment<'p>(pattern: &str, path: &'p str, name: &str) -> Option<&'p str> {
    let at = pattern
        .split('/')
        .position(|part| part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) == Some(name))?;
    path.split('/').nth(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_parameter_is_read_at_its_place() {
        let path = "/client/v2/environments/default/namespaces/shop/stream";
        assert_eq!(segment(STREAM, path, "namespace"), Some("shop"));
        assert_eq!(segment(STREAM, path, "environment"), Some("default"));
        assert_eq!(segment(STREAM, path, "nothing"), None);
        assert_eq!(
            segment(
                SNAPSHOT_V1,
                "/internal/v1/evaluation/snapshot/namespace/a%2Fb",
                "namespace"
            ),
            Some("a%2Fb")
        );
    }
}
