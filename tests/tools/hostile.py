"""Hostile inputs as hypothesis strategies, for fuzzing an API over HTTP.

Reusable beyond the runtime's own fuzzer (test_runtime_fuzz.py): point them at any
predictor. Each strategy says what it generates; none needs a server.

- ``json_values()``: JSON-able Python values: lone surrogates, huge ints, NaN, infinities.
- ``json_texts()``: bytes a client may send as application/json: valid documents in every
  spelling, deep nesting on either side of the parser's limit, numbers past Python's digit
  limit, NaN text, other encodings, and truncated or corrupted documents.
- ``raw_bodies()``: arbitrary bytes, and near-misses of JSON and form bodies.
- ``content_types()``, ``methods()``, ``paths()``, ``header_sets()``: the rest of a request.
- ``raw_requests()``: whole HTTP/1.x requests as bytes, well framed (so a server answers at
  once) but with hostile request lines, headers and bodies; ``garbage_requests()``: bytes
  that end like a head and are mostly not HTTP at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

# -- JSON -----------------------------------------------------------------------------------

# Nesting on either side of the limit, never near it: Python's parser stops somewhere
# between ~960 and ~995 levels depending on the stack it starts from, and a predictor's
# own recursion (json.dumps of its answer) a little below.
ACCEPTED_DEPTHS = (2, 30, 200)
REFUSED_DEPTHS = (1000, 1001, 5000, 100_000)

HOSTILE_JSON_TEXTS: tuple[bytes, ...] = (
    b"NaN", b"-Infinity", b"Infinity", b"[NaN, Infinity]", b"nan", b"inf",
    b"1e999", b"-1e999", b"1e-999", b"-0", b"0.0e0",
    b"1" * 4300, b"1" * 4301, b"-" + b"9" * 5000, b"0." + b"1" * 10_000,
    b'"\\ud800"', b'"\\udc00\\ud800"', b'{"\\udfff": 1}', b'"\\u0000"', b'"\\uZZZZ"',
    b'"\x00"', b'"\x1f"', b'"\\x41"', b"'single'", b"{'a': 1}",
    b"", b" ", b"\n", b"null", b"nul", b"tru", b"[", b"]", b"{", b"}", b"[1,]", b"{,}",
    b'{"a" 1}', b'{"a": 1,}', b'{"a": 1} x', b"[1] [2]", b'{"a": 1, "a": 2}',
    b"\xef\xbb\xbf{}", b"\xff\xfe", b"\xff", b"\xc3\x28", b"\xed\xa0\x80",
    '{"utf16": "é"}'.encode("utf-16"), '["utf32"]'.encode("utf-32"),
    '["utf-16-le"]'.encode("utf-16-le"), b"[" + b" " * 100_000 + b"]",
    b"[" + b"1," * 50_000 + b"1]", b'{"' + b"k" * 100_000 + b'": 1}',
)


def _utf8(text: str) -> bytes:
    # json.dumps(ensure_ascii=False) may hold lone surrogates: json.loads takes them back
    # from bytes (it decodes with "surrogatepass"), so send them so
    return text.encode("utf-8", "surrogatepass")


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**300), max_value=10**300),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(st.characters(exclude_categories=()), max_size=40),  # surrogates included
)


def json_values(max_leaves: int = 25) -> st.SearchStrategy[Any]:
    """Python values json.dumps can write (allow_nan), nested a little."""
    keys = st.text(st.characters(exclude_categories=()), max_size=12)
    return st.recursive(
        json_scalars,
        lambda children: st.lists(children, max_size=6)
        | st.dictionaries(keys, children, max_size=6),
        max_leaves=max_leaves,
    )


def dumps(value: Any, ascii_only: bool, compact: bool) -> bytes:
    separators = (",", ":") if compact else (", ", ": ")
    return _utf8(json.dumps(value, ensure_ascii=ascii_only, separators=separators))


def nested(depth: int, opener: str) -> bytes:
    if opener == "[":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


@st.composite
def corrupted(draw: st.DrawFn, text: st.SearchStrategy[bytes]) -> bytes:
    """A document cut short, or with one byte replaced or inserted."""
    data = draw(text)
    if not data:
        return draw(st.binary(min_size=1, max_size=4))
    index = draw(st.integers(0, len(data) - 1))
    how = draw(st.sampled_from(["cut", "replace", "insert"]))
    byte = bytes([draw(st.integers(0, 255))])
    if how == "cut":
        return data[:index]
    if how == "replace":
        return data[:index] + byte + data[index + 1 :]
    return data[:index] + byte + data[index:]


def valid_json_texts() -> st.SearchStrategy[bytes]:
    return st.builds(dumps, json_values(), st.booleans(), st.booleans())


def json_texts() -> st.SearchStrategy[bytes]:
    return st.one_of(
        valid_json_texts(),
        st.sampled_from(HOSTILE_JSON_TEXTS),
        st.builds(nested, st.sampled_from(ACCEPTED_DEPTHS + REFUSED_DEPTHS),
                  st.sampled_from("[{")),
        corrupted(valid_json_texts()),
        corrupted(st.sampled_from(HOSTILE_JSON_TEXTS)),
    )


def same_json(a: Any, b: Any) -> bool:
    """Equality of parsed JSON, NaN equal to NaN, 1 unequal to 1.0 and to true: the same
    text once written again (json.dumps escapes lone surrogates alike on both sides)."""
    return json.dumps(a) == json.dumps(b)


# -- bodies and the rest of a request --------------------------------------------------------

FORM_BODIES: tuple[bytes, ...] = (
    b"a=1&b=2", b"a=%zz", b"=&=&", b"&&&", b"a" * 2000, b"a=" + b"%00" * 500,
    b"--XX\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n--XX--\r\n",
    b"--XX\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\n\r\n"
    b"\x00\xff\xfe\r\n--XX--\r\n",
    b"--XX\r\nContent-Disposition: form-data\r\n\r\nv\r\n--XX--\r\n",
    b"--XX\r\n\r\n--XX--", b"--XX--", b"--YY\r\n\r\nv\r\n--YY--\r\n", b"--XX\r\nno end",
)


def raw_bodies() -> st.SearchStrategy[bytes]:
    return st.one_of(
        st.binary(max_size=2048),
        st.sampled_from(FORM_BODIES),
        json_texts(),
        corrupted(st.sampled_from(FORM_BODIES)),
    )


CONTENT_TYPES: tuple[str, ...] = (
    "application/json", "application/json; charset=utf-8", "APPLICATION/JSON",
    "application/json; charset=latin-1", "application/json;;;", "application/jsonx",
    "multipart/form-data", "multipart/form-data; boundary=XX", "multipart/form-data; boundary=",
    'multipart/form-data; boundary="XX"', "multipart/form-data; boundary=XX; charset=nope",
    "multipart/formdata", "multipart/mixed; boundary=XX",
    "application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-16",
    "text/plain", "application/octet-stream", "image/png", "", "*/*", ";", "a/b/c",
    "x" * 2000,
)


def content_types() -> st.SearchStrategy[str]:
    visible = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
    # stripped: HTTP clients refuse a value with leading white space
    return st.sampled_from(CONTENT_TYPES) | st.text(visible, max_size=60).map(str.strip)


METHODS: tuple[str, ...] = (
    "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "CONNECT",
    "PROPFIND", "MKCOL", "PURGE", "SEARCH", "FOO", "get", "P0ST", "POST ", "GET\t",
)


def methods() -> st.SearchStrategy[str]:
    return st.sampled_from(METHODS) | st.text(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ-"),
                                              min_size=1, max_size=12)


PATHS: tuple[str, ...] = (
    "/", "/predict", "/predict/", "//", "///predict", "/predict//", "/./predict", "/../..",
    "/%00", "/%ff", "/%zz", "/%2e%2e/", "/predict%2f", "/?", "/?a=1&a=2", "/?%zz=%ff",
    "/predict?x=" + "y" * 5000, "/" + "a" * 8000, "/iris-classifier", "*", "http://h/x",
    "/\u00e9", "/%F0%9F%98%80", "/%ED%A0%80",
)


def paths() -> st.SearchStrategy[str]:
    segment = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E,
                                    exclude_characters="#"), max_size=30)
    return st.sampled_from(PATHS) | segment.map(lambda s: "/" + s)


SPECIAL_HEADERS: tuple[tuple[str, str], ...] = (
    ("Expect", "100-continue"), ("Expect", "nonsense"), ("Connection", "close"),
    ("Connection", "keep-alive, upgrade"), ("Upgrade", "websocket"), ("Upgrade", "h2c"),
    ("Host", ""), ("Host", "a b"), ("Host", "\xff\xfe"), ("Origin", "https://app.example"),
    ("Origin", "null"), ("Access-Control-Request-Method", "POST"),
    ("Access-Control-Request-Headers", "x-a, content-type"), ("X-Test", "\xe9\xff"),
    ("X-Long", "v" * 8000), ("Content-Type", "application/json"), ("Accept", "*/*"),
    ("Cookie", "a=" + "b" * 3000), ("Transfer-Encoding", "gzip"),
)


def header_sets() -> st.SearchStrategy[list[tuple[str, str]]]:
    """Header lists (framing headers are the request's own: see raw_requests)."""
    token = st.text(st.sampled_from("abcdefghijklmnopqrstuvwxyzABC-_0123456789!#$%&'*+.^`|~"),
                    min_size=1, max_size=20)
    value = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF,
                                  exclude_characters="\x7f"), max_size=80)
    return st.lists(st.sampled_from(SPECIAL_HEADERS) | st.tuples(token, value), max_size=8)


# -- whole requests ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RawRequest:
    method: str
    data: bytes  # the request on the wire

    def __repr__(self) -> str:  # shown when a hypothesis example fails
        return f"RawRequest({self.data[:300]!r}{'...' if len(self.data) > 300 else ''})"


VERSIONS = ("HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/9.9", "HTTP/1", "http/1.1", "")


@st.composite
def raw_requests(draw: st.DrawFn) -> RawRequest:
    """A request line, headers and a body, framed by Content-Length or chunks (or, for
    HTTP/1.0 without a body, not at all): complete, so the server need not wait."""
    method = draw(methods())
    path = draw(paths())
    version = draw(st.sampled_from(VERSIONS))
    headers = [(name, value) for name, value in draw(header_sets())
               if name.lower() not in ("content-length", "transfer-encoding")]
    if draw(st.booleans()):
        headers.append(("Content-Type", draw(content_types())))
    body = draw(raw_bodies()) if draw(st.booleans()) else b""
    framing = draw(st.sampled_from(["length", "chunked"]))
    line = f"{method} {path} {version}".rstrip().encode("utf-8", "surrogatepass")
    head = [line] + [f"{name}: {value}".encode("latin-1") for name, value in headers]
    if framing == "chunked" and body:
        head.append(b"Transfer-Encoding: chunked")
        size = draw(st.integers(1, max(1, len(body))))
        chunks = [body[i : i + size] for i in range(0, len(body), size)]
        wire_body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    else:
        head.append(b"Content-Length: %d" % len(body))
        wire_body = body
    return RawRequest(method, b"\r\n".join(head) + b"\r\n\r\n" + wire_body)


def garbage_requests() -> st.SearchStrategy[RawRequest]:
    """Bytes that end as a head ends: TLS hellos, binary, half-HTTP."""
    prefixes = st.sampled_from([b"", b"GET ", b"POST / HTTP/1.1\r\n", b"\x16\x03\x01",
                                b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", b"\r\n\r\n"])
    return st.builds(lambda prefix, junk: RawRequest("", prefix + junk + b"\r\n\r\n"),
                     prefixes, st.binary(max_size=400))
