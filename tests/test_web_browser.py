"""The web app in a real browser: headless Chromium signs in, searches the board as it types, reads
a practice, downloads the chase list and a pack, works with JavaScript off, uploads returns, decides
a flagged one, verifies and approves claims, opens the year end, is checked by axe-core against
WCAG 2.2 AA, and is used from the keyboard. Also writes the README's screenshots (``make
screenshots``).

One register for the module, as a contracts team would have it during a round: twelve practices
were sent their Section 7 packs by email, most have signed and returned them (one changed its list
size, one left the date blank, one sent a photo), two have not replied; the three with no return on
record were reminded; a service scheme has its first claims and the year end a statements run. One
server and two browsers (scripts on, scripts off) serve every test; each test signs in as the
person it is about.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import openpyxl
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.select import Select

from agreementgen.contacts import load_contacts
from agreementgen.ingest import Skipped, Source, ingest_sources, read_file
from agreementgen.records import Records, scheme_rules
from agreementgen.remind import RemindOptions, remind
from agreementgen.resources import sample_contacts
from agreementgen.scheme import load_scheme
from agreementgen.send import Outbox, SendOptions, send
from agreementgen.simulate import fill_docx, practice_entries, simulate_round
from browser import (
    Site,
    axe,
    chromium,
    clear,
    console_problems,
    described,
    download,
    follow,
    next_page,
    require_chromium,
    screenshot,
    serious,
    sign_in,
    start_site,
    visit,
    wait,
)
from conftest import QEF, ROOT, pdftk_fill
from test_claims_approval import claim
from test_year_end_runs import run_statements
from webapp import PASSWORD, Register, build_register, copy_register, make_app

SCHEME = "cpccg-qef-2017-18"
LES = "cpccg-les-2017-18"
BOARD = f"/schemes/{SCHEME}"
CLAIMS = f"/schemes/{LES}/claims"  # the C&P LES, whose claims are approved at two levels
# The first twelve C&P practices of the bundled sample, in the order simulate_round answers for them.
CODES = ["D81001", "D81002", "D81003", "D81004", "D81005", "D81008",
         "D81010", "D81011", "D81012", "D81013", "D81014", "D81015"]  # fmt: skip
TAMPERED, UNDATED, NOT_REPLIED = "D81001", "D81002", "D81014"
TEAM = "contracts@commissioner.example.nhs.uk"  # invented, as are the sample contacts' addresses


@pytest.fixture(scope="module")
def register(tmp_path_factory: pytest.TempPathFactory) -> Register:
    require_chromium()  # before building anything
    built = build_register(tmp_path_factory.mktemp("issued"), CODES)
    register = copy_register(built, tmp_path_factory.mktemp("register"))
    records = Records.open(register.url)
    # The packs are issued today, for a 2017/18 scheme: its sign-up deadline moves to four weeks
    # from today, so the returns signed today are on time, as in a round under way.
    with records._begin() as conn:
        deadline = (date.today() + timedelta(days=28)).isoformat()
        conn.execute(scheme_rules.update().values(sign_up_deadline=deadline))
    spec, contacts = load_scheme(QEF), load_contacts(sample_contacts())
    mail = tmp_path_factory.mktemp("mail")
    outbox = Outbox(Path("outbox"))  # in mail, recorded as the team's outbox/, not a test's folder
    packs = SendOptions(kind="section7", packs=built.folder / "packs", sender=TEAM, by="olu")
    with pytest.MonkeyPatch.context() as here:
        here.chdir(mail)
        assert send(spec, records, contacts, outbox, packs).counts["outbox"] == len(CODES)
    folder = tmp_path_factory.mktemp("returns")
    made = simulate_round(built.folder / "packs", CODES, folder, date.today())
    sources = []  # ingested by name, as an upload records them, not by the test's folder
    for code, each in zip(CODES, made, strict=False):
        name = each.path.name  # a photo keeps its phone's name; a form is named as a practice would
        if name.startswith("returned-"):
            name = f"{code} Section 7 signed{each.path.suffix}"
        contents = read_file(each.path)
        assert not isinstance(contents, Skipped), contents
        sources.append(Source(name, contents))
    report = ingest_sources(sources, records, today=date.today())
    assert (report.counts["accepted"], report.counts["flagged"], report.counts["rejected"]) == (7, 2, 1)
    silent = RemindOptions(kind="section7", sender=TEAM, practices=("D81003", NOT_REPLIED, "D81015"),
                           every_days=0, by="olu")  # fmt: skip
    with pytest.MonkeyPatch.context() as here:
        here.chdir(mail)
        assert remind(spec, records, contacts, outbox, silent).counts["outbox"] == 3
    # And the LES's first quarterly claims, accepted, awaiting verification (as test_claims_approval
    # records them): Lensfield's Q1 and Q2, Huntingdon Road's Q1.
    title = "C&P Local Enhanced Services 2017/18"
    rules = {"claim_approval": "two-level"}
    records.set_scheme_rules(LES, "1", None, rules, title=title, model="services", default_kind="sla")
    claim(records, TAMPERED, 1, ring_pessary=12, wound_care=380)
    claim(records, TAMPERED, 2, ring_pessary=9, wound_care=415)
    claim(records, UNDATED, 1, phlebotomy=640)
    # And a year-end statements run for two of the practices (as test_year_end_runs writes it).
    run_statements(tmp_path_factory.mktemp("year-end"), register.url, "statements")
    return register


@pytest.fixture(scope="module")
def site(register: Register, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    running = start_site(make_app(register, tmp_path_factory.mktemp("uploads")))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chromium")


@pytest.fixture(scope="module")
def browser(site: Site, profile: Path) -> Iterator[WebDriver]:
    driver = chromium(profile)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def plain(site: Site, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """A browser with JavaScript turned off."""
    driver = chromium(tmp_path_factory.mktemp("chromium-plain"), javascript=False)
    yield driver
    driver.quit()


def shots(tmp_path: Path) -> Path:
    """docs/screenshots with AGREEMENTGEN_SCREENSHOTS=1 (``make screenshots``), else the test's own folder."""
    if os.environ.get("AGREEMENTGEN_SCREENSHOTS") == "1":
        return ROOT / "docs" / "screenshots"
    return tmp_path


def rows(driver: WebDriver) -> list[WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, "#board table tbody tr")


def codes_shown(driver: WebDriver) -> list[str]:
    return [row.find_element(By.CSS_SELECTOR, "th .code").text for row in rows(driver)]


def states_shown(driver: WebDriver) -> dict[str, str]:
    return {
        row.find_element(By.CSS_SELECTOR, "th .code").text: row.find_element(By.CSS_SELECTOR, ".state").text
        for row in rows(driver)
    }


def heading(driver: WebDriver) -> str:
    return driver.find_element(By.TAG_NAME, "h1").text


# Signing in


def test_a_wrong_password_is_said_where_focus_is_and_the_right_one_signs_in(browser: WebDriver, site: Site):
    browser.delete_all_cookies()
    sign_in(browser, site, "olu", "not the password")
    error = browser.find_element(By.ID, "signin-error")
    assert error.text == "The name or password is not right."
    assert error.get_attribute("role") == "alert"  # read out by a screen reader as it appears
    assert browser.switch_to.active_element == error  # and focus is on it, so it is read first
    assert browser.find_element(By.ID, "name").get_attribute("aria-describedby") == "signin-error"
    assert browser.find_element(By.ID, "name").get_attribute("value") == "olu"  # kept, to correct
    assert browser.find_element(By.ID, "password").get_attribute("value") == ""
    sign_in(browser, site, "olu", PASSWORD)
    assert browser.current_url == f"{site.url}/" and heading(browser) == "Schemes"
    assert "olu (officer)" in browser.find_element(By.CSS_SELECTOR, "header .signout").text


def test_signing_in_takes_you_back_to_the_page_you_asked_for(browser: WebDriver, site: Site):
    browser.delete_all_cookies()
    browser.get(f"{site.url}/schemes/{SCHEME}/practices/{UNDATED}")
    assert browser.current_url.startswith(f"{site.url}/login?next=")
    browser.find_element(By.ID, "name").send_keys("vic")
    form = browser.find_element(By.TAG_NAME, "form")
    browser.find_element(By.ID, "password").send_keys(PASSWORD, Keys.ENTER)
    next_page(browser, form)
    assert browser.current_url == f"{site.url}/schemes/{SCHEME}/practices/{UNDATED}"
    assert heading(browser).startswith("HUNTINGDON ROAD SURGERY")


# The board


def test_the_board_is_searched_as_you_type_and_filtered_by_state(browser: WebDriver, site: Site):
    visit(browser, site, BOARD, "vic")
    assert sorted(codes_shown(browser)) == CODES
    browser.execute_script("window.sameDocument = true")  # gone if the page were loaded again
    browser.find_element(By.ID, "q").send_keys("huntingdon")
    wait(browser).until(lambda d: codes_shown(d) == [UNDATED])
    assert browser.find_element(By.CSS_SELECTOR, "#board [aria-live]").text == "1 practice(s)."
    assert browser.execute_script("return window.sameDocument") is True  # htmx swapped the table only
    assert "q=huntingdon" in browser.current_url  # and the address can be shared or bookmarked

    browser.find_element(By.ID, "q").send_keys(Keys.CONTROL, "a", Keys.BACKSPACE)  # typed away
    wait(browser).until(lambda d: len(rows(d)) == len(CODES))
    Select(browser.find_element(By.ID, "state")).select_by_value("flagged")
    wait(browser).until(lambda d: len(rows(d)) == 2)
    assert states_shown(browser) == {TAMPERED: "flagged", UNDATED: "flagged"}
    Select(browser.find_element(By.ID, "state")).select_by_value("not returned")
    wait(browser).until(lambda d: NOT_REPLIED in codes_shown(d))
    assert set(states_shown(browser).values()) == {"not returned"}
    assert browser.execute_script("return window.sameDocument") is True
    assert console_problems(browser) == []  # htmx ran under the strict CSP, with nothing refused


def test_without_javascript_the_board_practice_page_and_filters_still_work(plain: WebDriver, site: Site):
    sign_in(plain, site, "vic")
    plain.get(f"{site.url}{BOARD}")
    assert sorted(codes_shown(plain)) == CODES
    plain.find_element(By.ID, "q").send_keys("york street")
    assert len(rows(plain)) == len(CODES)  # nothing happens as you type: no scripts
    assert "q=york+street" in follow(plain, plain.find_element(By.CSS_SELECTOR, "form.filters button"))
    assert codes_shown(plain) == ["D81003"]

    plain.get(f"{site.url}{BOARD}")
    Select(plain.find_element(By.ID, "state")).select_by_value("accepted")
    Select(plain.find_element(By.ID, "sort")).select_by_value("name")
    assert "state=accepted" in follow(plain, plain.find_element(By.CSS_SELECTOR, "form.filters button"))
    accepted = states_shown(plain)
    assert len(accepted) == 7 and set(accepted.values()) == {"accepted"}
    names = [row.find_element(By.CSS_SELECTOR, "th a").text for row in rows(plain)]
    assert names == sorted(names, key=str.casefold)

    assert "/practices/" in follow(plain, plain.find_element(By.CSS_SELECTOR, "#board tbody th a"))
    documents = plain.find_element(By.CSS_SELECTOR, "#documents + table tbody").text
    assert "section7" in documents and "PDF" in documents and "DOCX" in documents
    assert "accepted" in plain.find_element(By.CSS_SELECTOR, "section.return h3").text


def test_the_chase_list_downloads_as_a_workbook_of_the_practices_still_to_sign(
    browser: WebDriver, site: Site, profile: Path
):
    downloads = profile / "downloads"
    clear(downloads)
    visit(browser, site, f"{BOARD}?size=0", "olu")
    to_chase = {code for code, state in states_shown(browser).items() if state != "accepted"}
    assert to_chase == {TAMPERED, UNDATED, "D81003", NOT_REPLIED, "D81015"}
    browser.find_element(By.LINK_TEXT, "Download the chase list (Excel)").click()
    workbook = openpyxl.load_workbook(download(downloads, f"{SCHEME}-chase.xlsx"))
    table = list(workbook.active.iter_rows(values_only=True))
    assert table[0][:2] == ("practice_code", "practice_name")
    assert {row[0] for row in table[1:]} == to_chase
    assert ("D81003", "YORK STREET MEDICAL PRACTICE") in {row[:2] for row in table[1:]}


def test_a_practice_page_shows_its_pack_and_the_pdf_downloads_as_issued(
    browser: WebDriver, site: Site, profile: Path, register: Register
):
    downloads = profile / "downloads"
    clear(downloads)
    visit(browser, site, BOARD, "vic")
    assert follow(browser, browser.find_element(By.PARTIAL_LINK_TEXT, "LENSFIELD")).endswith(TAMPERED)
    assert heading(browser) == f"LENSFIELD MEDICAL PRACTICE {TAMPERED}"
    row = browser.find_element(By.CSS_SELECTOR, "#documents + table tbody tr")
    assert row.find_element(By.TAG_NAME, "th").text == "section7" and "first issue" in row.text
    flagged = browser.find_element(By.CSS_SELECTOR, "section.return")
    assert "flagged" in flagged.find_element(By.TAG_NAME, "h3").text
    assert "term_list_size (issued '12,731', returned '99,999')" in flagged.text
    row.find_element(By.PARTIAL_LINK_TEXT, "PDF").click()
    pdf = download(downloads, f"{SCHEME}_v1_{TAMPERED}_section7.r1.pdf")
    assert pdf.read_bytes() == (register.folder / "packs" / TAMPERED / "section7.pdf").read_bytes()


# Accessibility


def test_axe_finds_what_it_is_there_to_find(browser: WebDriver):
    """The bench's own check: on a page with no language, no title, an image without words and an
    unlabelled field, axe-core runs and says so (a silent axe would pass every page)."""
    browser.get("data:text/html,<html><body><img src='x.png'><input id='who'></body></html>")
    violations = axe(browser)
    assert {"html-has-lang", "document-title", "image-alt", "label"} <= {v["id"] for v in violations}
    assert "image-alt (critical): Images must have alternative text" in described(violations)


PAGES = {  # what each person sees: every page of the app, in the states worth checking (by person,
    # so the browser signs in once for each)
    "schemes": ("/", "asha"),
    "board": (BOARD, "asha"),
    "board, nothing found": (f"{BOARD}?q=no+such+practice", "asha"),
    "board, all rows sorted by state": (f"{BOARD}?size=0&sort=state&dir=desc", "asha"),
    "practice with a flagged return": (f"{BOARD}/practices/{TAMPERED}", "asha"),
    "practice not yet returned": (f"{BOARD}/practices/{NOT_REPLIED}", "asha"),
    "review queue, to decide": ("/review", "asha"),
    "claims, to approve": (f"{CLAIMS}?quarter=1", "asha"),
    "not found": ("/no/such/page", "asha"),
    "upload": ("/upload", "olu"),
    "review queue, to read": ("/review", "olu"),
    "claims, to verify": (CLAIMS, "olu"),
    "claims, none shown": (f"{CLAIMS}?state=refused", "vic"),
    "not allowed": ("/upload", "vic"),
}


@pytest.mark.parametrize("page", PAGES)
def test_each_page_has_no_serious_or_critical_wcag_violations(browser: WebDriver, site: Site, page: str):
    path, person = PAGES[page]
    visit(browser, site, path, person)
    violations = axe(browser)
    assert not serious(violations), f"{page}:\n{described(violations)}"
    own_status = f"{site.url}{path} - "  # a refused or missing page's own status is logged too
    assert [m for m in console_problems(browser) if not m.startswith(own_status)] == []


def test_the_sign_in_page_and_its_error_have_no_serious_or_critical_wcag_violations(
    browser: WebDriver, site: Site
):
    browser.delete_all_cookies()
    browser.get(f"{site.url}/login")
    violations = axe(browser)
    assert not serious(violations), described(violations)
    sign_in(browser, site, "ben", "wrong again")
    assert browser.find_element(By.ID, "signin-error").is_displayed()
    violations = axe(browser)
    assert not serious(violations), described(violations)


def test_the_board_after_a_search_has_no_serious_or_critical_wcag_violations(browser: WebDriver, site: Site):
    visit(browser, site, BOARD, "vic")
    browser.find_element(By.ID, "q").send_keys("surgery")
    wait(browser).until(lambda d: 0 < len(rows(d)) < len(CODES))
    violations = axe(browser)
    assert not serious(violations), described(violations)


def test_tab_from_the_top_reaches_the_skip_link_first_and_it_moves_focus_to_main(
    browser: WebDriver, site: Site
):
    visit(browser, site, BOARD, "vic")
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    skip = browser.switch_to.active_element
    assert skip.text == "Skip to content" and skip.get_attribute("href").endswith("#main")
    box = skip.rect
    assert box["x"] >= 0 and box["y"] >= 0 and skip.is_displayed()  # on screen once focused
    skip.send_keys(Keys.ENTER)
    assert browser.switch_to.active_element.get_attribute("id") == "main"
    browser.switch_to.active_element.send_keys(Keys.TAB)  # the next stop is in the page, past the header
    first = browser.switch_to.active_element
    assert first.text == "Schemes" and first.find_element(By.XPATH, "ancestor::main")


# Screenshots for the README


def test_screenshot_of_the_board(browser: WebDriver, site: Site, tmp_path: Path):
    visit(browser, site, BOARD, "olu")
    assert len(rows(browser)) == len(CODES)
    reminded = rows(browser)[CODES.index(NOT_REPLIED)].find_element(By.CSS_SELECTOR, "td.num")
    assert reminded.text == f"1 (last {date.today().isoformat()})"  # a day, on one line
    lines = browser.execute_script(
        "return arguments[0].getClientRects().length", reminded.find_element(By.CSS_SELECTOR, ".hint")
    )
    assert lines == 1
    picture = screenshot(browser, shots(tmp_path) / "board.png", most=1600)
    assert picture.width == 1366


def test_screenshot_of_a_practice_page(browser: WebDriver, site: Site, tmp_path: Path):
    visit(browser, site, f"{BOARD}/practices/{TAMPERED}", "olu")
    picture = screenshot(browser, shots(tmp_path) / "practice.png", most=1600)
    assert picture.width == 1366


def test_screenshot_of_the_review_queue(browser: WebDriver, site: Site, tmp_path: Path):
    visit(browser, site, "/review", "asha")
    assert len(browser.find_elements(By.CSS_SELECTOR, "section[id^='return-']")) == 2
    picture = screenshot(browser, shots(tmp_path) / "review.png", most=1600)
    assert picture.width == 1366


# Uploading returns and the review queue: these, and the claims, change the register, so they come
# after the tests that read it as it was built.


def filled_return(register: Register, code: str, folder: Path) -> Path:
    """The practice's issued Section 7 PDF filled in and signed by pdftk, as its practice manager would."""
    pack = register.folder / "packs" / code / "section7.pdf"
    return pdftk_fill(pack, practice_entries(2, date.today()), folder / f"{code} Section 7 signed.pdf")


def test_an_officer_uploads_a_return_filled_by_pdftk_and_sees_it_accepted(
    browser: WebDriver, site: Site, register: Register, tmp_path: Path
):
    signed = filled_return(register, NOT_REPLIED, tmp_path)
    word = tmp_path / "D81015 Section 7 signed.docx"  # and a practice that signed the Word version
    pack = (register.folder / "packs" / "D81015" / "section7.docx").read_bytes()
    word.write_bytes(fill_docx(pack, practice_entries(3, date.today())))
    visit(browser, site, "/upload", "olu")
    browser.find_element(By.ID, "files").send_keys(f"{signed}\n{word}")
    job = follow(browser, browser.find_element(By.XPATH, "//button[normalize-space()='Upload and check']"))
    assert re.fullmatch(rf"{site.url}/upload/[^/]+", job)
    browser.execute_script("window.sameDocument = true")
    results = wait(browser, 30).until(
        expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, "#results tbody"))
    )
    outcomes = {
        row.find_element(By.TAG_NAME, "th").text: row.find_element(By.TAG_NAME, "td").text
        for row in results.find_elements(By.TAG_NAME, "tr")
    }
    assert outcomes.keys() == {signed.name, word.name}
    assert all(outcome.startswith("accepted") for outcome in outcomes.values()), outcomes
    assert "2 of 2 checked: done." in browser.find_element(By.ID, "status").text
    assert browser.find_element(By.ID, "progress").get_attribute("hx-trigger") is None  # no more polling
    assert browser.execute_script("return window.sameDocument") is True  # the results swapped in
    assert console_problems(browser) == []
    violations = axe(browser)
    assert not serious(violations), described(violations)
    visit(browser, site, f"{BOARD}?state=accepted&size=0", "olu")
    assert {NOT_REPLIED, "D81015"} <= states_shown(browser).keys()


def test_an_approver_accepts_a_flagged_return_giving_a_reason(browser: WebDriver, site: Site):
    visit(browser, site, "/review", "olu")
    assert browser.find_elements(By.ID, "approver-decides")  # an officer reads the queue
    assert not browser.find_elements(By.CSS_SELECTOR, "button[name=decision]")  # but does not decide
    visit(browser, site, "/review", "asha")
    violations = axe(browser)
    assert not serious(violations), described(violations)
    [section] = [
        s for s in browser.find_elements(By.CSS_SELECTOR, "section[id^='return-']") if UNDATED in s.text
    ]
    number = section.get_attribute("id").removeprefix("return-")
    assert "practice_signature_date" in section.text
    section.find_element(By.ID, f"reason-{number}").send_keys("Dated 2 Dec in the covering email; confirmed")
    section.find_element(By.CSS_SELECTOR, "button[name=decision][value=accept]").click()
    next_page(browser, section)
    assert browser.current_url.split("?")[0] == f"{site.url}/review"
    notice = browser.find_element(By.CSS_SELECTOR, ".notice.ok")
    assert notice.is_displayed() and f"#{number}" in notice.text
    assert not browser.find_elements(By.ID, f"return-{number}")
    violations = axe(browser)
    assert not serious(violations), described(violations)
    visit(browser, site, f"{BOARD}?q={UNDATED}", "asha")
    assert states_shown(browser) == {UNDATED: "accepted"}


# Claims: two levels


def claim_row(driver: WebDriver, practice: str, quarter: int) -> WebElement:
    [row] = [
        r
        for r in driver.find_elements(By.CSS_SELECTOR, "table.claims tbody tr")
        if practice in r.find_element(By.TAG_NAME, "th").text
        and r.find_elements(By.TAG_NAME, "td")[0].text == f"Q{quarter}"
    ]
    return row


def decide_claim(driver: WebDriver, practice: str, quarter: int, decision: str, reason: str = "") -> str:
    """Take ``decision`` on the claim with the page's own form; the notice said after."""
    row = claim_row(driver, practice, quarter)
    if reason:
        row.find_element(By.TAG_NAME, "textarea").send_keys(reason)
    row.find_element(By.CSS_SELECTOR, f"button[name=decision][value={decision}]").click()
    next_page(driver, row)
    return driver.find_element(By.ID, "claim-done").text


def test_an_officer_verifies_a_claim_and_a_different_approver_approves_it(browser: WebDriver, site: Site):
    visit(browser, site, CLAIMS, "olu")
    assert "approved claims only" in browser.find_element(By.TAG_NAME, "main").text
    row = claim_row(browser, TAMPERED, 1)
    assert "awaiting verification" in row.text and "wound_care: 380" in row.text
    buttons = [b.get_attribute("value") for b in row.find_elements(By.CSS_SELECTOR, "button[name=decision]")]
    assert buttons == ["verify", "refuse"]
    said = decide_claim(browser, TAMPERED, 1, "verify")
    assert said == f"Lensfield Medical Practice ({TAMPERED}) Q1: verified by olu."
    assert browser.switch_to.active_element.get_attribute("id") == "main"  # the page says it from the top
    row = claim_row(browser, TAMPERED, 1)
    assert "verified" in row.text and "an approver other than olu approves" in row.text
    assert not row.find_elements(By.TAG_NAME, "button")  # an officer does not approve

    visit(browser, site, CLAIMS, "asha")
    said = decide_claim(browser, TAMPERED, 1, "approve", "Matches the practice's clinical system report")
    assert said == f"Lensfield Medical Practice ({TAMPERED}) Q1: approved by asha."
    cells = [c.text for c in claim_row(browser, TAMPERED, 1).find_elements(By.TAG_NAME, "td")]
    assert cells[2] == "approved" and cells[3].startswith("olu") and cells[4].startswith("asha")
    violations = axe(browser)
    assert not serious(violations), described(violations)


def test_an_approver_who_verified_a_claim_is_not_offered_its_approval(browser: WebDriver, site: Site):
    visit(browser, site, CLAIMS, "ben")
    decide_claim(browser, UNDATED, 1, "verify")
    row = claim_row(browser, UNDATED, 1)
    assert not row.find_elements(By.TAG_NAME, "button") and "an approver other than ben approves" in row.text
    visit(browser, site, CLAIMS, "asha")
    said = decide_claim(browser, UNDATED, 1, "approve")
    assert said == f"Huntingdon Road Surgery ({UNDATED}) Q1: approved by asha."


# Year end


def test_the_year_end_page_is_reached_from_the_board_and_its_schedule_downloads(
    browser: WebDriver, site: Site, profile: Path
):
    downloads = profile / "downloads"
    clear(downloads)
    visit(browser, site, BOARD, "vic")
    assert follow(browser, browser.find_element(By.LINK_TEXT, "Year end")).endswith(f"{BOARD}/year-end")
    assert heading(browser) == "Year end: Primary Care Quality & Engagement Framework 2017/18"
    assert "net £11,996.40" in browser.find_element(By.TAG_NAME, "main").text
    statements = browser.find_elements(By.CSS_SELECTOR, "main table tbody tr")
    assert [r.find_element(By.CSS_SELECTOR, ".code").text for r in statements] == [TAMPERED, UNDATED]
    violations = axe(browser)
    assert not serious(violations), described(violations)
    link = browser.find_element(By.PARTIAL_LINK_TEXT, "payment schedule (Excel)")
    number = link.get_attribute("href").split("/year-end/")[1].split("/")[0]  # the run's
    link.click()
    schedule = download(downloads, f"{SCHEME}-payment-schedule-run{number}.xlsx")
    table = list(openpyxl.load_workbook(schedule).active.iter_rows(values_only=True))
    assert table[0][0] == "practice_code" and table[-1][0] == "TOTAL"
    assert {row[0] for row in table[1:-1]} == {TAMPERED, UNDATED}
