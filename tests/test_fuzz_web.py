"""Requests from outside, fuzzed: whatever a browser (or anyone) sends, the app answers with a page
of its own, never a traceback or a server error, and keeps its records."""

from __future__ import annotations

import pytest
from httpx2 import InvalidURL
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from agreementgen.records import Records
from webapp import Register, build_register, copy_register, csrf_of, make_app, signed_in

SCHEME = "cpccg-qef-2017-18"
PATHS = [
    "/",
    f"/schemes/{SCHEME}",
    f"/schemes/{SCHEME}/practices/D81001",
    f"/schemes/{SCHEME}/chase.csv",
    "/documents/{doc}/r1.pdf",
    "/login",
    "/logout",
    "/upload",
    "/upload/{job}",
    "/review",
    "/review/1",
    f"/schemes/{SCHEME}/claims",
    f"/schemes/{SCHEME}/claims/1",
    f"/schemes/{SCHEME}/year-end",
    f"/schemes/{SCHEME}/year-end/1/schedule.csv",
    f"/schemes/{SCHEME}/year-end/1/D81001.pdf",
    "/no-such",
]
texts = st.text(st.characters(codec="utf-8"), max_size=60)
header_texts = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80
)  # what HTTP carries
segments = st.one_of(
    texts, st.sampled_from(["..", "%2e%2e", "%00", "%ff", "//", "\\", "r1.pdf", SCHEME, "D81001"])
)


@pytest.fixture(scope="module")
def client(tmp_path_factory) -> tuple[TestClient, Register]:
    base = tmp_path_factory.mktemp("fuzz")
    register = copy_register(build_register(base / "built"), base)
    return signed_in(make_app(register, base / "uploads"), "asha"), register


def _ok(status: int, body: str) -> None:
    assert status < 500, body[:500]
    assert "Traceback" not in body and "sqlalchemy" not in body.lower()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(PATHS),
    extra=st.lists(segments, max_size=3),
    query=st.dictionaries(
        st.sampled_from(["q", "state", "sort", "dir", "size", "page", "kind", "next"]), texts, max_size=4
    ),
)
def test_any_get_is_answered_with_a_page_of_the_apps_own(client, path: str, extra: list[str], query) -> None:
    browser, _ = client
    url = "/".join([path.replace("{doc}", f"{SCHEME}:v1:D81001:section7"), *extra])
    try:
        response = browser.get(url, params=query, follow_redirects=False)
    except InvalidURL:  # the HTTP client itself will not send it: nor would a browser
        assume(False)
    _ok(response.status_code, response.text)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(["/login", "/logout", "/upload", "/review/1", f"/schemes/{SCHEME}/claims/1"]),
    form=st.dictionaries(texts, texts, max_size=6),
    with_token=st.booleans(),
    body=st.one_of(st.none(), st.binary(max_size=300)),
    content_type=st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "multipart/form-data; boundary=x",
            "text/plain",
            "application/json",
        ]
    ),
)
def test_any_post_is_refused_or_done_without_a_crash(
    client, path, form, with_token, body, content_type
) -> None:
    browser, register = client
    if path == "/logout":
        return  # signing out would end the session every later example needs
    if with_token:
        form = {**form, "csrf": csrf_of(browser)}
    if body is None:
        response = browser.post(path, data=form, follow_redirects=False)
    else:
        response = browser.post(
            path, content=body, headers={"content-type": content_type}, follow_redirects=False
        )
    _ok(response.status_code, response.text)
    assert Records.open(register.url).issued_documents(SCHEME), "the register is intact"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cookie=header_texts,
    header=st.sampled_from(["X-CSRF-Token", "HX-Request", "Content-Length", "Cookie"]),
    value=header_texts,
)
def test_odd_cookies_and_headers_are_not_a_session_and_not_a_crash(
    client, cookie: str, header: str, value
) -> None:
    browser, _ = client
    try:
        stranger = TestClient(browser.app, cookies={"agreementgen_session": cookie})
        response = stranger.get("/", headers={header: value}, follow_redirects=False)
    except (UnicodeEncodeError, ValueError, InvalidURL):  # the HTTP client cannot send it: nor can a browser
        assume(False)
    _ok(response.status_code, response.text)
    assert response.status_code in (303, 400, 413) or header == "Cookie", response.status_code


def test_a_form_too_large_is_refused_before_it_is_all_read(client) -> None:
    browser, _ = client
    big = b"a=" + b"x" * (201 * 1024 * 1024)
    response = browser.post(
        "/logout",
        content=big,
        headers={"content-type": "application/x-www-form-urlencoded", "X-CSRF-Token": csrf_of(browser)},
    )
    assert response.status_code == 413 and "larger than 200 MB" in response.text


def test_every_route_of_the_app_is_among_the_paths_fuzzed(client) -> None:
    browser, _ = client
    fuzzed = {p.split("?")[0] for p in PATHS}
    for route in browser.app.routes:
        path = getattr(route, "path", "")
        if path and path != "/static":
            filled = (
                path.replace("{scheme}", SCHEME)
                .replace("{code}", "D81001")
                .replace("{fmt}", "csv")
                .replace("{doc_id}", "{doc}")
                .replace("{revision:int}", "1")
                .replace("{return_id:int}", "1")
                .replace("{run:int}", "1")
            )
            assert filled in fuzzed or filled.replace(".csv", ".pdf") in fuzzed, f"fuzz {path} too"
