//! Flipt's v1 read API: namespaces, flags, rules, rollouts and segments, paginated as Flipt
//! pages them (`limit`, `offset`, `pageToken`; answers carry `nextPageToken` and
//! `totalCount`). Every document was written when the revision was published
//! (`wire::resources`); a request joins the texts of its page.
//!
//! Read-only: flag files are the only source of truth, so every write answers Flipt's
//! `Unimplemented` error, saying where changes go instead.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, Uri};
use axum::response::Response;

use super::access::{header_environment, Grant, Scope};
use super::snapshot::current_revision;
use super::{AppError, JSON, REVISION_HEADER};
use crate::publish::Revision;
use crate::state::AppState;
use crate::wire::resources::Resources;

/// Items in a page when the request does not say (Flipt's default).
const DEFAULT_LIMIT: usize = 25;
/// The largest page: a larger `limit` is served in pages of this size.
const MAX_LIMIT: usize = 1000;

/// A page of a list: from `offset`, at most `limit` items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Page {
    offset: usize,
    limit: usize,
}

impl Page {
    /// The page a query asks for. Unknown parameters are ignored, and so are empty or `None`
    /// values (some clients send every optional parameter); a number that does not parse is
    /// refused. `pageToken` is the offset of the page's first item, as this server writes it.
    fn of(uri: &Uri) -> Result<Page, AppError> {
        let mut page = Page {
            offset: 0,
            limit: DEFAULT_LIMIT,
        };
        // A page token wins over an offset, wherever each is in the query.
        let mut token = None;
        let query = uri.query().unwrap_or("");
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            if value.is_empty() || value == "None" || value == "null" {
                continue;
            }
            let number = || {
                value
                    .parse::<usize>()
                    .map_err(|_| AppError::BadRequest(format!("{name} must be a whole number")))
            };
            match &*name {
                "limit" => page.limit = number()?,
                "offset" => page.offset = number()?,
                "pageToken" | "page_token" => {
                    token = Some(value.parse::<usize>().map_err(|_| {
                        AppError::BadRequest("pageToken is not one this server gave".into())
                    })?)
                }
                _ => {}
            }
        }
        page.offset = token.unwrap_or(page.offset);
        if page.limit == 0 {
            page.limit = DEFAULT_LIMIT;
        }
        page.limit = page.limit.min(MAX_LIMIT);
        Ok(page)
    }
}

/// `{"<field>": [page...], "nextPageToken": "...", "totalCount": n}` from ready JSON texts.
fn list_body(field: &str, items: &[String], page: Page) -> String {
    let total = items.len();
    let start = page.offset.min(total);
    let end = start.saturating_add(page.limit).min(total);
    let shown = &items[start..end];
    let mut body = String::with_capacity(64 + shown.iter().map(|s| s.len() + 1).sum::<usize>());
    let _ = write!(body, "{{\"{field}\":[");
    for (position, item) in shown.iter().enumerate() {
        if position > 0 {
            body.push(',');
        }
        body.push_str(item);
    }
    let next = if end < total {
        end.to_string()
    } else {
        String::new()
    };
    let _ = write!(
        body,
        "],\"nextPageToken\":\"{next}\",\"totalCount\":{total}}}"
    );
    body
}

fn json(revision: Option<&Revision>, body: String) -> Response {
    let mut response = Response::new(Body::from(body));
    response.headers_mut().insert(header::CONTENT_TYPE, JSON);
    if let Some(revision) = revision {
        response
            .headers_mut()
            .insert(REVISION_HEADER, revision.digest_header().clone());
    }
    response
}

/// `GET /api/v1/namespaces`: the namespaces being served that the caller's token covers.
pub async fn namespaces(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, AppError> {
    let (parts, _) = request.into_parts();
    let page = Page::of(&parts.uri)?;
    let scope = Scope::new(&state, Grant::of(&parts));
    let catalog = state
        .environment(header_environment(&parts.headers)?)?
        .catalog
        .load();
    let items: Vec<String> = catalog
        .namespaces
        .iter()
        .filter(|(key, _)| scope.check(key).is_ok())
        .filter_map(|(_, entry)| entry.current.as_ref())
        .map(|revision| revision.resources.namespace.clone())
        .collect();
    Ok(json(None, list_body("namespaces", &items, page)))
}

/// The revision the request's environment serves for `namespace`.
fn revision_for(
    state: &AppState,
    headers: &HeaderMap,
    namespace: &str,
) -> Result<Arc<Revision>, AppError> {
    current_revision(state.environment(header_environment(headers)?)?, namespace)
}

/// `GET /api/v1/namespaces/{namespace}`.
pub async fn namespace(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(namespace): Path<String>,
) -> Result<Response, AppError> {
    let revision = revision_for(&state, &headers, &namespace)?;
    Ok(json(Some(&revision), revision.resources.namespace.clone()))
}

/// `GET /api/v1/namespaces/{namespace}/flags`.
pub async fn flags(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(namespace): Path<String>,
    uri: Uri,
) -> Result<Response, AppError> {
    let page = Page::of(&uri)?;
    let revision = revision_for(&state, &headers, &namespace)?;
    let body = list_body("flags", &revision.resources.flags, page);
    Ok(json(Some(&revision), body))
}

/// The flag's position, or Flipt's not-found error.
fn find_flag(revision: &Revision, namespace: &str, key: &str) -> Result<usize, AppError> {
    revision
        .resources
        .flag(key)
        .ok_or_else(|| AppError::NotFound(format!("flag \"{namespace}/{key}\" not found")))
}

/// `GET /api/v1/namespaces/{namespace}/flags/{key}`.
pub async fn flag(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((namespace, key)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let revision = revision_for(&state, &headers, &namespace)?;
    let position = find_flag(&revision, &namespace, &key)?;
    let body = revision.resources.flags[position].clone();
    Ok(json(Some(&revision), body))
}

/// What a flag has a list of: its rules or its rollouts.
#[derive(Clone, Copy)]
enum FlagItems {
    Rules,
    Rollouts,
}

impl FlagItems {
    fn of(self, resources: &Resources, flag: usize) -> &[String] {
        match self {
            FlagItems::Rules => &resources.rules[flag],
            FlagItems::Rollouts => &resources.rollouts[flag],
        }
    }

    /// What comes between the flag key and the position in an item's id.
    fn id_infix(self) -> &'static str {
        match self {
            FlagItems::Rules => "/",
            FlagItems::Rollouts => "/rollouts/",
        }
    }

    fn name(self) -> &'static str {
        match self {
            FlagItems::Rules => "rule",
            FlagItems::Rollouts => "rollout",
        }
    }
}

/// A page of a flag's rules or rollouts; both lists are named `rules`, as Flipt's `RuleList`
/// and `RolloutList` name them.
fn flag_items(
    state: &AppState,
    headers: &HeaderMap,
    (namespace, key): (String, String),
    uri: &Uri,
    items: FlagItems,
) -> Result<Response, AppError> {
    let page = Page::of(uri)?;
    let revision = revision_for(state, headers, &namespace)?;
    let position = find_flag(&revision, &namespace, &key)?;
    let body = list_body("rules", items.of(&revision.resources, position), page);
    Ok(json(Some(&revision), body))
}

/// One rule or rollout, by the id the list gave it (`<flag><infix><n>`).
fn flag_item(
    state: &AppState,
    headers: &HeaderMap,
    (namespace, key, id): (String, String, String),
    items: FlagItems,
) -> Result<Response, AppError> {
    let revision = revision_for(state, headers, &namespace)?;
    let position = find_flag(&revision, &namespace, &key)?;
    let body = id
        .strip_prefix(key.as_str())
        .and_then(|rest| rest.strip_prefix(items.id_infix()))
        .and_then(|n| n.parse::<usize>().ok())
        .and_then(|n| items.of(&revision.resources, position).get(n))
        .ok_or_else(|| {
            AppError::NotFound(format!("{} \"{namespace}/{id}\" not found", items.name()))
        })?
        .clone();
    Ok(json(Some(&revision), body))
}

/// `GET /api/v1/namespaces/{namespace}/flags/{key}/rules`.
pub async fn rules(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(path): Path<(String, String)>,
    uri: Uri,
) -> Result<Response, AppError> {
    flag_items(&state, &headers, path, &uri, FlagItems::Rules)
}

/// `GET /api/v1/namespaces/{namespace}/flags/{key}/rollouts`.
pub async fn rollouts(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(path): Path<(String, String)>,
    uri: Uri,
) -> Result<Response, AppError> {
    flag_items(&state, &headers, path, &uri, FlagItems::Rollouts)
}

/// `GET /api/v1/namespaces/{namespace}/flags/{key}/rules/{id}`.
pub async fn rule(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(path): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    flag_item(&state, &headers, path, FlagItems::Rules)
}

/// `GET /api/v1/namespaces/{namespace}/flags/{key}/rollouts/{id}`.
pub async fn rollout(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(path): Path<(String, String, String)>,
) -> Result<Response, AppError> {
    flag_item(&state, &headers, path, FlagItems::Rollouts)
}

/// `GET /api/v1/namespaces/{namespace}/segments`.
pub async fn segments(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(namespace): Path<String>,
    uri: Uri,
) -> Result<Response, AppError> {
    let page = Page::of(&uri)?;
    let revision = revision_for(&state, &headers, &namespace)?;
    let body = list_body("segments", &revision.resources.segments, page);
    Ok(json(Some(&revision), body))
}

/// `GET /api/v1/namespaces/{namespace}/segments/{key}`.
pub async fn segment(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((namespace, key)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let revision = revision_for(&state, &headers, &namespace)?;
    let body = revision
        .resources
        .segment(&key)
        .map(|position| revision.resources.segments[position].clone())
        .ok_or_else(|| AppError::NotFound(format!("segment \"{namespace}/{key}\" not found")))?;
    Ok(json(Some(&revision), body))
}

/// Any write to the read API.
pub async fn read_only(request: Request) -> AppError {
    AppError::Unimplemented(format!(
        "{} {}: Vexil serves flags from flag files and its API is read-only; change the files \
         instead",
        request.method(),
        request.uri().path()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(query: &str) -> Result<Page, String> {
        let uri: Uri = format!("/x?{query}").parse().unwrap();
        Page::of(&uri).map_err(|e| e.message().to_owned())
    }

    #[test]
    fn a_page_is_read_as_flipt_clients_send_it() {
        let at = |offset, limit| Ok(Page { offset, limit });
        assert_eq!(page(""), at(0, 25));
        assert_eq!(page("limit=10&offset=20"), at(20, 10));
        assert_eq!(page("limit=2&pageToken=4"), at(4, 2));
        assert_eq!(page("pageToken=4&offset=0"), at(4, 25));
        // Unknown parameters and empty or None values are ignored; limit 0 is the default.
        assert_eq!(page("limit=None&offset=&reference=x&limit=0"), at(0, 25));
        assert_eq!(page("limit=5000"), at(0, MAX_LIMIT));
        assert_eq!(page("limit=-1"), Err("limit must be a whole number".into()));
        assert_eq!(
            page("pageToken=abc"),
            Err("pageToken is not one this server gave".into())
        );
    }

    #[test]
    fn a_list_names_the_next_page_and_the_total() {
        let items: Vec<String> = (1..=5).map(|n| n.to_string()).collect();
        let body = |offset, limit| list_body("flags", &items, Page { offset, limit });
        assert_eq!(
            body(0, 2),
            r#"{"flags":[1,2],"nextPageToken":"2","totalCount":5}"#
        );
        assert_eq!(
            body(4, 2),
            r#"{"flags":[5],"nextPageToken":"","totalCount":5}"#
        );
        assert_eq!(
            body(9, 2),
            r#"{"flags":[],"nextPageToken":"","totalCount":5}"#
        );
    }
}
