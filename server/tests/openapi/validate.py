"""Checks docs/openapi.yaml against the real server.

Three checks, each of which fails the run:
1. the document is valid OpenAPI 3.1 (openapi-spec-validator, through openapi-core);
2. its paths are exactly the routes of `server/src/http/routes.rs`, each with the access rule
   the route table gives it (`x-vexil-access`);
3. a catalogue of real requests to `vexil serve`, covering every operation of the document and
   its error answers, validates request by request and response by response with openapi-core.
   Every method a path does not document is sent too: the server must refuse it with 405.

Run with the pinned validators (requirements.txt beside this file) and the binary in VEXIL_BIN
(default target/debug/vexil). Only 127.0.0.1 is used.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import yaml
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.deserializing.media_types import plain_loads
from openapi_core.templating.paths.finders import APICallPathFinder
from openapi_core.validation.schemas import oas31_schema_validators_factory
from werkzeug.datastructures import Headers, ImmutableMultiDict

ROOT = Path(__file__).resolve().parents[3]
DOCUMENT = ROOT / "docs" / "openapi.yaml"
ROUTE_TABLE = ROOT / "server" / "src" / "http" / "routes.rs"
METHODS = ("get", "post", "put", "patch", "delete")

# The route table's access rules, as the document names them in `x-vexil-access`.
ACCESS_NAMES = {
    "Open": "open",
    "PathNamespace": "path-namespace",
    "HeaderNamespace": "header-namespace",
    "BodyNamespaces": "body-namespaces",
    "AnyToken": "any-token",
    "Admin": "admin",
}

DEFAULT_CLIENT = "default-client-token-0001"
ADMIN = "admin-token-00000000000002"
UNKNOWN_TOKEN = "not-a-token-of-this-server"
TOKENS_FILE = f"""\
- token: {DEFAULT_CLIENT}
  role: client
  namespaces: [default]
  name: web-shop
- token: {ADMIN}
  role: admin
  namespaces: "*"
"""

# A namespace whose only file is broken from the start: it is never served (503), and the
# server is never ready.
BROKEN_FLAGS = """\
version: "1.4"
namespace:
  key: broken
flags:
  - key: half-written
    type: VARIANT_FLAG_TYPE
    enabled: maybe
"""

# Text media types the document gives a string schema, read as text rather than as bytes.
TEXT_MEDIA_TYPES = ("text/event-stream", "application/x-ndjson", "application/openmetrics-text")


# The document and the route table.


def read_route_table() -> dict[str, str]:
    """Each route's path, as OpenAPI writes it, with its access rule."""
    source = ROUTE_TABLE.read_text()
    constants = dict(re.findall(r'pub const (\w+): &str\s*=\s*"([^"]+)";', source))
    www = re.search(r"pub const WWW: \[&str; \d+\] = \[(.*?)\];", source, re.S)
    if www is None:
        raise SystemExit(f"{ROUTE_TABLE.relative_to(ROOT)}: no WWW array")
    for index, path in enumerate(re.findall(r'"([^"]+)"', www.group(1))):
        constants[f"WWW[{index}]"] = path
    table = re.search(r"pub const ROUTES: &\[Route\] = &\[(.*?)\];", source, re.S)
    if table is None:
        raise SystemExit(f"{ROUTE_TABLE.relative_to(ROOT)}: no ROUTES table")
    entries = re.findall(r"route\(([\w\[\]]+), Access::(\w+)\)", table.group(1))
    # An entry written in another form would be skipped, and its route never compared.
    if len(entries) != table.group(1).count("route("):
        raise SystemExit(
            f"{ROUTE_TABLE.relative_to(ROOT)}: a ROUTES entry is not `route(NAME, Access::RULE)`"
        )
    routes = {}
    for name, access in entries:
        if name not in constants:
            raise SystemExit(f"{ROUTE_TABLE.relative_to(ROOT)}: ROUTES names unknown {name}")
        # The router writes a catch-all as `{*id}`; OpenAPI has no such thing.
        path = constants[name].replace("{*", "{")
        routes[path] = ACCESS_NAMES[access]
    return routes


def check_paths_against_routes(document: dict, routes: dict[str, str]) -> list[str]:
    problems = []
    documented = document["paths"]
    for path in sorted(routes.keys() - documented.keys()):
        problems.append(f"route {path} is not in the document")
    for path in sorted(documented.keys() - routes.keys()):
        problems.append(f"the document has {path}, which the server does not route")
    for path in sorted(routes.keys() & documented.keys()):
        for method in METHODS:
            operation = documented[path].get(method)
            if operation is None:
                continue
            where = f"{method.upper()} {path}"
            access = operation.get("x-vexil-access")
            if access != routes[path]:
                problems.append(
                    f"{where}: x-vexil-access is {access}, routes.rs says {routes[path]}"
                )
            schemes = {
                name for requirement in operation.get("security", []) for name in requirement
            }
            if (routes[path] == "open") != (not schemes):
                problems.append(f"{where}: security does not match the {routes[path]} access rule")
    return problems


def documented_operations(document: dict) -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, item in document["paths"].items()
        for method in METHODS
        if method in item
    }


# Exchanges with the server.


@dataclass
class Exchange:
    """One request and the response to it, as sent and received (the body decoded from its
    content coding)."""

    host_url: str
    method: str
    target: str
    request_headers: dict[str, str]
    request_body: bytes
    status: int
    headers: Headers
    body: bytes


class Request:
    """An exchange's request as openapi-core's Request protocol reads it."""

    def __init__(self, exchange: Exchange):
        split = urlsplit(exchange.target)
        headers = Headers(exchange.request_headers)
        self.host_url = exchange.host_url
        self.path = split.path
        self.method = exchange.method.lower()
        self.body = exchange.request_body or None
        self.content_type = headers.get("Content-Type", "").lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(split.query, keep_blank_values=True)),
            header=headers,
        )


class Response:
    """An exchange's response as openapi-core's Response protocol reads it."""

    def __init__(self, exchange: Exchange):
        self.status_code = exchange.status
        self.headers = exchange.headers
        self.content_type = exchange.headers.get("Content-Type", "").lower()
        self.data = exchange.body


class Server:
    """`vexil serve` on 127.0.0.1, on a port of its own choosing."""

    def __init__(self, binary: str, args: list[str], log: Path):
        # The server's own configuration must not come from this environment.
        environment = {k: v for k, v in os.environ.items() if not k.startswith("VEXIL_")}
        environment["VEXIL_LOG"] = "warn"
        self.log_path = log
        self.log = log.open("w")
        self.process = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", *args],
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env=environment,
        )

    def wait_until_listening(self) -> None:
        line = self.process.stdout.readline().strip()
        prefix = "vexil listening on http://"
        if not line.startswith(prefix):
            self.stop()
            raise SystemExit(f"vexil did not start: {line!r}\n{self.log_path.read_text()}")
        self.host, port = line[len(prefix) :].rsplit(":", 1)
        self.port = int(port)
        self.url = f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()

    def connect(self, timeout: float = 30) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def send(
        self,
        method: str,
        target: str,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        json_body: object = None,
    ) -> Exchange:
        headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            headers.setdefault("Content-Type", "application/json")
        connection = self.connect()
        try:
            connection.request(method, target, body=body, headers=headers)
            response = connection.getresponse()
            raw = response.read()
            return self.exchange(method, target, headers, body, response, decoded(response, raw))
        finally:
            connection.close()

    def get(self, target: str, headers: dict[str, str] | None = None) -> Exchange:
        return self.send("GET", target, headers)

    def post(self, target: str, body: object, headers: dict[str, str] | None = None) -> Exchange:
        """A JSON body, sent as `application/json`."""
        return self.send("POST", target, headers, json_body=body)

    def send_head_only(self, method: str, target: str, headers: dict[str, str]) -> Exchange:
        """A request whose body is announced and never sent (`Expect: 100-continue`)."""
        connection = self.connect()
        try:
            connection.putrequest(method, target)
            for name, value in headers.items():
                connection.putheader(name, value)
            connection.endheaders()
            response = connection.getresponse()
            return self.exchange(method, target, headers, b"", response, response.read())
        finally:
            connection.close()

    def first_event(self, target: str, headers: dict[str, str]) -> Exchange:
        """The head of a push stream and its first event, then the connection is closed: the
        stream itself never ends."""
        connection = self.connect(timeout=10)
        try:
            connection.request("GET", target, headers=headers)
            response = connection.getresponse()
            event = b""
            try:
                if response.status != 200:
                    event = response.read()
                elif response.getheader("Content-Type") == "text/event-stream":
                    # An SSE event ends at an empty line.
                    while not event.endswith(b"\n\n"):
                        line = response.readline()
                        if not line:
                            break
                        event += line
                else:
                    event = response.readline()
            except socket.timeout:
                pass  # No event: validation reports the missing body.
            return self.exchange("GET", target, headers, None, response, event)
        finally:
            connection.close()

    def exchange(self, method, target, headers, body, response, data) -> Exchange:
        return Exchange(
            host_url=self.url,
            method=method,
            target=target,
            request_headers=headers,
            request_body=body or b"",
            status=response.status,
            headers=Headers(response.getheaders()),
            body=data,
        )


def decoded(response: http.client.HTTPResponse, raw: bytes) -> bytes:
    """The body without its content coding: the document describes the representation."""
    coding = response.getheader("Content-Encoding")
    if coding == "gzip":
        return gzip.decompress(raw)
    if coding == "deflate":
        return zlib.decompress(raw)
    if coding:
        raise AssertionError(f"cannot decode a {coding} body: only ask for gzip or deflate")
    return raw


# Validation.


@dataclass
class Validation:
    """What openapi-core said of every exchange, and which operations were exercised."""

    app: OpenAPI
    exercised: set[tuple[str, str]] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)
    requests_validated: int = 0
    responses_validated: int = 0

    def __post_init__(self):
        self.path_finder = APICallPathFinder(self.app.spec)

    def check(self, exchange: Exchange, status: int, request_valid: bool = True) -> Exchange:
        """Validates the response (and the request, unless it breaks the document on purpose:
        a malformed body, a missing token...) and that the server answered `status`."""
        label = f"{exchange.method} {exchange.target[:120]} -> {exchange.status}"
        try:
            found = self.path_finder.find(
                exchange.method.lower(), exchange.host_url + urlsplit(exchange.target).path
            )
        except Exception as error:
            self.failures.append(f"{label}: no operation of the document: {error}")
            return exchange
        self.exercised.add((exchange.method.lower(), found.path_result.pattern))
        if exchange.status != status:
            self.failures.append(f"{label}: expected {status}; body {exchange.body[:300]!r}")
        request, response = Request(exchange), Response(exchange)
        if request_valid:
            try:
                self.app.validate_request(request)
                self.requests_validated += 1
            except Exception as error:
                self.failures.append(f"{label}: request: {describe(error)}")
        try:
            self.app.validate_response(request, response)
            self.responses_validated += 1
        except Exception as error:
            self.failures.append(f"{label}: response: {describe(error)}")
        return exchange

    def check_outside(self, exchange: Exchange, status: int, response_name: str) -> None:
        """A response to what no operation covers (an unrouted path, an undocumented method),
        validated against the document's shared response of that name."""
        label = f"{exchange.method} {exchange.target[:120]} -> {exchange.status}"
        if exchange.status != status:
            self.failures.append(f"{label}: expected {status}; body {exchange.body[:300]!r}")
            return
        response = self.app.spec / "components" / "responses" / response_name
        for name, header in (response / "headers").str_items() if "headers" in response else []:
            if (header / "required").read_bool(default=False) and name not in exchange.headers:
                self.failures.append(f"{label}: no {name} header")
        media_types = response / "content"
        content_type = exchange.headers.get("Content-Type", "")
        if content_type not in media_types:
            self.failures.append(
                f"{label}: {content_type!r} is not one of {list(media_types.keys())}"
            )
            return
        schema = media_types / content_type / "schema"
        try:
            oas31_schema_validators_factory.create(self.app.spec, schema).validate(
                json.loads(exchange.body)
            )
            self.responses_validated += 1
        except Exception as error:
            self.failures.append(f"{label}: {describe(error)}")


def describe(error: BaseException) -> str:
    """openapi-core's error: the schema errors it wraps where there are some (its own message
    repeats the whole value), else its message."""
    chain = []
    while error is not None:
        chain.append(error)
        error = error.__cause__ or error.__context__
    schema_errors = [
        f"at /{'/'.join(map(str, schema_error.absolute_path))}: {schema_error.message[:300]}"
        for error in chain
        for schema_error in getattr(error, "schema_errors", ())
    ]
    # A header's error names the header.
    kind = type(chain[0]).__name__ + (f" {chain[0].name}" if hasattr(chain[0], "name") else "")
    if schema_errors:
        return f"{kind}: " + "; ".join(schema_errors)
    return "; ".join(f"{type(error).__name__}: {str(error)[:300]}" for error in chain)


# The catalogue: every operation, and the errors each kind of route answers.

STAGING = {"X-Flipt-Environment": "staging"}
NO_ENVIRONMENT = {"X-Flipt-Environment": "nowhere"}
COMPILED = {"Accept": "application/vnd.vexil.snapshot"}
NO_CODING = {"Accept-Encoding": "identity;q=0"}
LONG_QUERY = "?pad=" + "x" * 9000
MANY_HEADERS = {f"X-Padding-{n}": "x" for n in range(70)}
# A body announced over the limit: refused before it is sent.
OVERSIZED = {
    "Content-Type": "application/json",
    "Content-Length": str(64 << 20),
    "Expect": "100-continue",
}
JSON = {"Content-Type": "application/json"}


def json_of(exchange: Exchange) -> dict:
    return json.loads(exchange.body)


def expect_coding(validation: Validation, exchange: Exchange, coding: str) -> None:
    """The answer came compressed as asked: the compressed path was the one validated."""
    sent = exchange.headers.get("Content-Encoding")
    if sent != coding:
        validation.failures.append(
            f"{exchange.method} {exchange.target}: asked {coding}, got {sent}"
        )


def snapshots(server: Server, validation: Validation) -> None:
    check, get = validation.check, server.get
    v1 = "/internal/v1/evaluation/snapshot/namespace/default"
    v2 = "/client/v2/environments/staging/namespaces/default/snapshot"
    for path in (v1, v2):
        check(get(path, {"If-None-Match": check(get(path), 200).headers["ETag"]}), 304)
        compiled_etag = check(get(path, COMPILED), 200).headers["ETag"]
        check(get(path, {**COMPILED, "If-None-Match": compiled_etag}), 304)
        expect_coding(validation, check(get(path, {"Accept-Encoding": "gzip"}), 200), "gzip")
        deflated = check(get(path, {**COMPILED, "Accept-Encoding": "deflate"}), 200)
        expect_coding(validation, deflated, "deflate")
        check(get(path, NO_CODING), 406)
    check(get("/internal/v1/evaluation/snapshot/namespace/nowhere"), 404)
    check(get(v1, NO_ENVIRONMENT), 404)
    check(get("/internal/v1/evaluation/snapshot/namespace/broken", STAGING), 503)
    check(get("/client/v2/environments/nowhere/namespaces/default/snapshot"), 404)
    check(get("/client/v2/environments/staging/namespaces/broken/snapshot"), 503)

    status = json_of(check(get("/api/v1/namespaces/default/status"), 200))
    for digest in (status["digest"], status["compiledDigest"]):
        for path in (
            f"/api/v1/snapshots/default/{digest}",
            f"/api/v1/environments/default/snapshots/default/{digest}",
        ):
            kept = check(get(path, {"Accept-Encoding": "gzip, deflate"}), 200)
            check(get(path, {"If-None-Match": kept.headers["ETag"]}), 304)
            check(get(path, NO_CODING), 406)
    check(get("/api/v1/snapshots/default/0000"), 404)
    check(get(f"/api/v1/snapshots/default/{status['digest']}", NO_ENVIRONMENT), 404)
    check(get(f"/api/v1/environments/nowhere/snapshots/default/{status['digest']}"), 404)


def streams(server: Server, validation: Validation) -> None:
    check = validation.check
    stream = "/client/v2/environments/{}/namespaces/{}/stream"
    sse = {"Accept": "text/event-stream"}
    check(server.first_event(stream.format("default", "default"), sse), 200)
    check(server.first_event(stream.format("staging", "mobile"), {}), 200)
    check(server.first_event(stream.format("default", "nowhere"), sse), 404)
    check(server.first_event(stream.format("nowhere", "default"), sse), 404)
    check(server.first_event(stream.format("staging", "broken"), sse), 503)


def evaluations(server: Server, validation: Validation) -> None:
    check, post = validation.check, server.post
    variant, boolean, batch = "/evaluate/v1/variant", "/evaluate/v1/boolean", "/evaluate/v1/batch"
    staff = {"flagKey": "new-checkout", "entityId": "ada@vexil.dev", "context": {"role": "admin"}}
    check(post(variant, {"namespaceKey": "default", **staff}), 200)
    # As flipt-python sends it: proto field names, and nulls for what it leaves out.
    snake = {"flag_key": "new-checkout", "entity_id": "bob", "context": None, "request_id": None}
    check(post(variant, snake), 200)
    check(post(variant, {"namespaceKey": "mobile", "flagKey": "offline-mode"}, STAGING), 400)
    check(post(variant, {"flagKey": "no-such-flag"}), 404)
    check(post(variant, {"namespaceKey": "nowhere", "flagKey": "new-checkout"}), 404)
    check(post(variant, staff, NO_ENVIRONMENT), 404)
    check(post(variant, {"namespaceKey": "broken", "flagKey": "half-written"}, STAGING), 503)
    check(server.send("POST", variant, JSON, b'{"flagKey":'), 400, request_valid=False)
    check(post(variant, {"entityId": "no flag key"}), 400, request_valid=False)
    check(server.send_head_only("POST", variant, OVERSIZED), 413, request_valid=False)

    shopper = {"flagKey": "free-shipping", "entityId": "s-1", "context": {"country": "NL"}}
    check(post(boolean, shopper), 200)
    check(post(boolean, {"flagKey": "new-checkout"}), 400)
    check(post(boolean, {"flagKey": "no-such-flag"}), 404)

    app_user = {"build": "512", "platform": "ios", "battery": "1"}
    mixed = {
        "requestId": "batch-1",
        "requests": [
            staff,
            {"flagKey": "dark-mode", "entityId": "bob"},
            {"flagKey": "no-such-flag"},
            {"namespaceKey": "nowhere", "flagKey": "new-checkout"},
            {"namespaceKey": "mobile", "flagKey": "offline-mode", "context": app_user},
        ],
    }
    check(post(batch, mixed), 200)
    large = {"requests": [{"flagKey": "new-checkout", "entityId": f"u-{n}"} for n in range(20)]}
    for coding in ("gzip", "deflate"):
        compressed = check(post(batch, large, {"Accept-Encoding": coding}), 200)
        expect_coding(validation, compressed, coding)
    check(post(batch, {"requests": [{"namespaceKey": "nowhere", "flagKey": "x"}]}), 200)
    check(post(batch, {"requests": [{"flagKey": "a"}] * 10_001}), 413)
    check(post(batch, {"requestId": "no requests"}), 400, request_valid=False)
    check(post(batch, mixed, NO_ENVIRONMENT), 404)


def ofrep(server: Server, validation: Validation) -> None:
    check, post = validation.check, server.post
    single = "/ofrep/v1/evaluate/flags/{}".format
    nobody = {"context": {"targetingKey": "x"}}
    broken = {"X-Flipt-Namespace": "broken", **STAGING}
    staff = {"context": {"targetingKey": "ada@vexil.dev", "role": "admin"}}
    check(post(single("new-checkout"), staff), 200)
    check(post(single("search-ranking"), nobody), 200)
    check(post(single("free-shipping"), {"context": {"basket_total": 120}}), 200)
    app_user = {"context": {"build": 512, "platform": "ios", "battery": 3}}
    check(post(single("offline-mode"), app_user, {"X-Flipt-Namespace": "mobile", **STAGING}), 200)
    check(post(single("no-such-flag"), {}), 404)
    check(post(single("new-checkout"), {}, {"X-Flipt-Namespace": "nowhere"}), 404)
    check(post(single("new-checkout"), {"context": [1]}), 400, request_valid=False)
    check(post(single("new-checkout"), {"context": {"k" * 300: "a key past the limit"}}), 400)
    check(post(single("half-written"), {}, broken), 503)
    check(server.send_head_only("POST", single("x"), OVERSIZED), 413, request_valid=False)
    check(post(single("new-checkout") + LONG_QUERY, {}), 414)
    check(post(single("new-checkout"), {}, MANY_HEADERS), 431)
    # A key whose escapes are not UTF-8: refused before the route, in OFREP's shape.
    check(post(single("%FF"), nobody), 400, request_valid=False)

    bulk = "/ofrep/v1/evaluate/flags"
    etag = check(post(bulk, nobody), 200).headers["ETag"]
    check(post(bulk, nobody, {"If-None-Match": etag}), 304)
    check(post(bulk, {"context": {"flags": "new-checkout,no-such-flag"}}), 200)
    listed = {"context": {"flags": ["dark-mode", "free-shipping"]}}
    check(post(bulk, listed, {"Accept-Encoding": "gzip"}), 200)
    check(post(bulk, {}, {"X-Flipt-Namespace": "nowhere"}), 404)
    check(server.send("POST", bulk, JSON, b"{"), 400, request_valid=False)
    check(post(bulk, {}, broken), 503)


def read_api(server: Server, validation: Validation) -> None:
    check, get = validation.check, server.get
    namespaces = "/api/v1/namespaces"
    check(get(namespaces), 200)
    next_page = json_of(check(get(f"{namespaces}?limit=1"), 200))["nextPageToken"]
    check(get(f"{namespaces}?limit=1&pageToken={next_page}"), 200)
    check(get(namespaces, STAGING), 200)
    check(get(namespaces, NO_ENVIRONMENT), 404)
    check(get(f"{namespaces}?limit=lots"), 400, request_valid=False)
    check(get(namespaces + LONG_QUERY), 414)
    check(get(namespaces, MANY_HEADERS), 431)

    check(get(f"{namespaces}/default/status"), 200)
    check(get(f"{namespaces}/%FF/status"), 400, request_valid=False)
    check(get(f"{namespaces}/broken/status", STAGING), 200)
    check(get(f"{namespaces}/nowhere/status"), 404)
    check(get(f"{namespaces}/default/status", NO_ENVIRONMENT), 404)

    check(get(f"{namespaces}/default"), 200)
    check(get(f"{namespaces}/nowhere"), 404)
    check(get(f"{namespaces}/broken", STAGING), 503)

    flags = f"{namespaces}/default/flags"
    check(get(flags), 200)
    check(get(f"{flags}?limit=2&offset=1"), 200)
    check(get(f"{flags}?pageToken=abc"), 400)
    check(get(f"{namespaces}/nowhere/flags"), 404)
    check(get(f"{namespaces}/broken/flags", STAGING), 503)
    for flag in ("new-checkout", "holiday-banner", "search-ranking", "dark-mode"):
        check(get(f"{flags}/{flag}"), 200)
    check(get(f"{flags}/no-such-flag"), 404)

    rules = f"{flags}/new-checkout/rules"
    check(get(rules), 200)
    check(get(f"{flags}/search-ranking/rules?limit=1"), 200)
    check(get(f"{flags}/no-such-flag/rules"), 404)
    # A rule's id holds a slash: sent as %2F so the path's segments stay the document's.
    check(get(f"{rules}/new-checkout%2F1"), 200)
    check(get(f"{rules}/new-checkout%2F9"), 404)

    rollouts = f"{flags}/dark-mode/rollouts"
    check(get(rollouts), 200)
    check(get(f"{flags}/free-shipping/rollouts"), 200)
    check(get(f"{flags}/no-such-flag/rollouts"), 404)
    check(get(f"{rollouts}/dark-mode%2Frollouts%2F0"), 200)
    check(get(f"{rollouts}/dark-mode%2Frollouts%2F1"), 200)
    check(get(f"{rollouts}/dark-mode%2F0"), 404)

    segments = f"{namespaces}/default/segments"
    check(get(segments), 200)
    check(get(f"{segments}?limit=3&page_token=3"), 200)
    check(get(f"{namespaces}/nowhere/segments"), 404)
    check(get(f"{segments}/staff"), 200)
    check(get(f"{segments}/no-such-segment"), 404)

    # Every write answers 501, whatever the resource.
    for collection in (namespaces, flags, rules, rollouts, segments):
        check(server.post(collection, {"key": "new"}), 501)
    items = (
        f"{namespaces}/default",
        f"{flags}/new-checkout",
        f"{rules}/new-checkout%2F0",
        f"{rollouts}/dark-mode%2Frollouts%2F0",
        f"{segments}/staff",
    )
    for item in items:
        for method in ("PUT", "PATCH", "DELETE"):
            check(server.send(method, item, json_body={"key": "new"}), 501)


def evaluations_v1(server: Server, validation: Validation) -> None:
    check, post = validation.check, server.post
    evaluate, batch_evaluate = "/api/v1/evaluate", "/api/v1/batch-evaluate"
    in_namespace = "/api/v1/namespaces/{}/{}".format
    staff = {"flagKey": "new-checkout", "entityId": "ada@vexil.dev", "context": {"role": "admin"}}
    # v1 evaluates variant flags only.
    boolean = {"namespaceKey": "mobile", "flagKey": "offline-mode"}
    check(post(evaluate, staff), 200)
    check(post(evaluate, boolean), 400)
    check(post(evaluate, {"flagKey": "no-such-flag"}), 404)
    check(post(in_namespace("default", "evaluate"), staff), 200)
    check(post(in_namespace("nowhere", "evaluate"), staff), 404)
    check(post(in_namespace("broken", "evaluate"), {"flagKey": "half-written"}, STAGING), 503)

    batch = {"requests": [staff, {"flagKey": "search-ranking", "entityId": "bob"}]}
    unknown = {"requests": [staff, {"flagKey": "no-such-flag"}]}
    check(post(batch_evaluate, batch), 200)
    check(post(batch_evaluate, unknown), 404)
    check(post(batch_evaluate, {**unknown, "excludeNotFound": True}), 200)
    # A request may not name another namespace than the batch's.
    check(post(batch_evaluate, {"requests": [boolean]}), 400)
    check(post(in_namespace("default", "batch-evaluate"), batch), 200)
    only_boolean = {"requests": [{"flagKey": "offline-mode"}]}
    check(post(in_namespace("mobile", "batch-evaluate"), only_boolean, STAGING), 400)
    check(post(in_namespace("nowhere", "batch-evaluate"), batch), 404)


def meta_and_operations(server: Server, validation: Validation) -> None:
    check, get = validation.check, server.get
    check(get("/meta/info"), 200)
    check(get("/auth/v1/method"), 200)
    # Tokens are off: nobody is authenticated.
    check(get("/auth/v1/self"), 401, request_valid=False)
    # The broken namespace keeps this server from being ready, and its health says so.
    check(get("/health"), 200)
    check(get("/health" + LONG_QUERY), 414)
    check(get("/ready"), 503)
    check(get("/metrics"), 200)
    check(get("/debug/pprof/allocs"), 200)
    check(get("/debug/pprof/profile?seconds=0"), 400, request_valid=False)

    # One CPU profile runs at a time: of two at once, one is 429 (whichever came second) and
    # the other takes its second.
    profiles: list[Exchange] = []
    running = threading.Thread(
        target=lambda: profiles.append(get("/debug/pprof/profile?seconds=1"))
    )
    running.start()
    time.sleep(0.3)
    profiles.append(get("/debug/pprof/profile?seconds=1"))
    running.join()
    answered, refused = sorted(profiles, key=lambda exchange: exchange.status)
    check(answered, 200)
    check(refused, 429)


def demo_page(server: Server, validation: Validation) -> None:
    check, get = validation.check, server.get
    check(get("/demo"), 307)
    page = check(get("/demo/"), 200)
    check(get("/demo/", {"If-Modified-Since": page.headers.get("Last-Modified", "")}), 304)
    check(get("/demo/index.html"), 200)
    check(get("/demo/demo.css", {"Range": "bytes=0-9"}), 206)
    check(get("/demo/.hidden"), 404)
    check(get("/src/client.js"), 200)
    check(get("/src/no-such-file.js"), 404)
    # www/pkg/ is built (`just wasm`); where it is, one of its files is served.
    built = sorted(path.name for path in (ROOT / "www" / "pkg").glob("*.js"))
    if built:
        check(get(f"/pkg/{built[0]}"), 200)
    check(get("/pkg/no-such-file.js"), 404)


def with_tokens(server: Server, validation: Validation) -> None:
    check, get, post = validation.check, server.get, server.post
    client = {"Authorization": f"Bearer {DEFAULT_CLIENT}"}
    admin = {"Authorization": f"Bearer {ADMIN}"}
    unknown = {"Authorization": f"Bearer {UNKNOWN_TOKEN}"}
    snapshot = "/internal/v1/evaluation/snapshot/namespace/{}".format
    check(get(snapshot("default")), 401)
    check(get(snapshot("default"), unknown), 401)
    check(get(snapshot("default"), client), 200)
    check(get(snapshot("mobile"), client), 403)
    digest = json_of(check(get("/api/v1/namespaces/default/status", client), 200))["digest"]
    # With tokens on, shared caches must keep kept revisions private.
    check(get(f"/api/v1/snapshots/default/{digest}", client), 200)
    check(get("/client/v2/environments/default/namespaces/mobile/stream", client), 403)

    mobile = {"namespaceKey": "mobile", "flagKey": "offline-mode"}
    check(post("/evaluate/v1/boolean", mobile), 401)
    check(post("/evaluate/v1/boolean", mobile, client), 403)
    check(post("/evaluate/v1/boolean", mobile, admin), 200)
    check(post("/ofrep/v1/evaluate/flags", {}, {"X-Flipt-Namespace": "mobile", **client}), 403)
    check(post("/ofrep/v1/evaluate/flags/new-checkout", {}), 401)
    check(post("/ofrep/v1/evaluate/flags/new-checkout", {}, client), 200)

    check(get("/api/v1/namespaces"), 401)
    check(get("/api/v1/namespaces", client), 200)
    check(get("/api/v1/namespaces/mobile/flags", client), 403)
    check(server.send("PUT", "/api/v1/namespaces/default"), 401)
    check(server.send("DELETE", "/api/v1/namespaces/mobile", client), 403)
    check(server.send("PATCH", "/api/v1/namespaces/default", client), 501)

    check(get("/meta/info"), 401)
    check(get("/meta/info", client), 200)
    check(get("/auth/v1/self", client), 200)
    check(get("/auth/v1/self", admin), 200)
    check(get("/auth/v1/self", unknown), 401)
    check(get("/auth/v1/method"), 200)
    check(get("/health"), 200)
    check(get("/ready"), 200)
    check(get("/metrics"), 401)
    check(get("/metrics", client), 403)
    check(get("/metrics", admin), 200)
    check(get("/debug/pprof/allocs", client), 403)
    check(get("/debug/pprof/profile", unknown), 401)


def sample_path(template: str) -> str:
    """A path that the template matches, with values that exist in the example flags."""
    values = {
        "namespace": "default",
        "environment": "default",
        "key": "new-checkout",
        "digest": "0",
        "id": "new-checkout%2F0",
        "file": "index.html",
    }
    return re.sub(r"\{(\w+)\}", lambda match: values[match.group(1)], template)


def undocumented_methods(main: Server, document: dict, validation: Validation) -> None:
    """Every method a path does not document is refused with 405, in the path's error shape,
    and `Allow` lists exactly what the document has (with HEAD beside GET)."""
    for template, item in document["paths"].items():
        documented = {method for method in METHODS if method in item}
        allowed = {method.upper() for method in documented} | (
            {"HEAD"} if "get" in documented else set()
        )
        shape = "OfrepMethodNotAllowed" if template.startswith("/ofrep/") else "MethodNotAllowed"
        for method in sorted(set(METHODS) - documented):
            exchange = main.send(
                method.upper(), sample_path(template), json_body={} if method != "get" else None
            )
            validation.check_outside(exchange, 405, shape)
            answered = {
                value.strip()
                for value in exchange.headers.get("Allow", "").split(",")
                if value.strip()
            }
            if exchange.status == 405 and answered != allowed:
                validation.failures.append(
                    f"{method.upper()} {template}: Allow is {sorted(answered)}, "
                    f"the document has {sorted(allowed)}"
                )


def unrouted(main: Server, validation: Validation) -> None:
    validation.check_outside(main.send("GET", "/no/such/route"), 404, "NotFound")
    validation.check_outside(
        main.send("POST", "/ofrep/v1/no/such/route", json_body={}), 404, "OfrepNotFound"
    )


def prepare_flags(scratch: Path) -> tuple[Path, Path, Path]:
    """Copies of the example flags for the two environments (staging also holds a broken
    namespace), and the tokens file."""
    flags = scratch / "flags"
    staging = scratch / "staging"
    shutil.copytree(ROOT / "examples" / "flags", flags)
    shutil.copytree(ROOT / "examples" / "flags", staging)
    (staging / "broken").mkdir()
    (staging / "broken" / "features.yml").write_text(BROKEN_FLAGS)
    tokens = scratch / "tokens.yml"
    tokens.write_text(TOKENS_FILE)
    return flags, staging, tokens


def main() -> int:
    started = time.monotonic()
    binary = os.environ.get("VEXIL_BIN", str(ROOT / "target" / "debug" / "vexil"))
    if not Path(binary).is_file():
        raise SystemExit(f"no vexil binary at {binary}: `cargo build -p vexil`, or set VEXIL_BIN")
    document = yaml.safe_load(DOCUMENT.read_text())
    config = Config(
        extra_media_type_deserializers={media: plain_loads for media in TEXT_MEDIA_TYPES}
    )
    # Loading checks the document with openapi-spec-validator.
    app = OpenAPI.from_file_path(str(DOCUMENT), config=config)
    if app.version.major != "3" or app.version.minor != "1":
        raise SystemExit(f"{DOCUMENT.relative_to(ROOT)} is OpenAPI {app.version}, not 3.1")

    validation = Validation(app)
    validation.failures += check_paths_against_routes(document, read_route_table())
    operations = documented_operations(document)

    with tempfile.TemporaryDirectory(prefix="vexil-openapi-") as scratch:
        flags, staging, tokens = prepare_flags(Path(scratch))
        main_server = Server(
            binary,
            [
                "--flags",
                str(flags),
                "--environment",
                f"staging={staging}",
                "--www",
                str(ROOT / "www"),
            ],
            Path(scratch) / "main.log",
        )
        token_server = Server(
            binary, ["--flags", str(flags), "--tokens", str(tokens)], Path(scratch) / "tokens.log"
        )
        try:
            main_server.wait_until_listening()
            token_server.wait_until_listening()
            for part in (
                snapshots,
                streams,
                evaluations,
                ofrep,
                read_api,
                evaluations_v1,
                meta_and_operations,
                demo_page,
            ):
                part(main_server, validation)
            with_tokens(token_server, validation)
            undocumented_methods(main_server, document, validation)
            unrouted(main_server, validation)
        finally:
            main_server.stop()
            token_server.stop()

    never = sorted(operations - validation.exercised)
    for method, path in never:
        validation.failures.append(f"{method.upper()} {path} was never exercised")
    if validation.failures:
        print(f"{DOCUMENT.relative_to(ROOT)} does not describe the server:", file=sys.stderr)
        for failure in validation.failures:
            print(f"  - {failure}", file=sys.stderr)
        return 1
    print(
        f"openapi: {len(operations)} operations on {len(document['paths'])} paths match routes.rs; "
        f"{validation.requests_validated} requests and {validation.responses_validated} responses "
        f"validated in {time.monotonic() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
