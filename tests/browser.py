"""The browser bench: the real web app served by uvicorn, and headless Chromium driving it.

``Site`` is the app over a register, answering on a free port of this computer in a background
thread (``start_site`` / ``Site.stop``). ``chromium(folder)`` is a Selenium Chrome driver for
Debian's Chromium and chromedriver (never Selenium Manager: nothing is fetched from the
network), headless, at a laptop's 1366×900, with its own profile and download folder;
``javascript=False`` turns scripts off, as some locked-down NHS desktops do. ``sign_in`` fills the
real form, ``visit`` opens a page as a person (signing in only when someone else is), ``follow``
clicks through to the next page and waits for it whole; ``axe`` runs the vendored axe-core on the
page and returns its WCAG 2.2 AA violations, ``described`` says each one so a failing assertion
reads as a to-do list; ``console_problems`` is what the console logged; ``screenshot`` writes the
page as a PNG.
"""

from __future__ import annotations

import base64
import os
import shutil
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.wait import WebDriverWait
from starlette.applications import Starlette

from conftest import in_ci
from ports import free_port
from webapp import PASSWORD

CHROMIUM = Path("/usr/bin/chromium")  # Debian's packages: chromium, chromium-driver
CHROMEDRIVER = Path("/usr/bin/chromedriver")
AXE = Path(__file__).resolve().parent / "vendor" / "axe-4.14.1.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
WINDOW = (1366, 900)
ARGUMENTS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> None:
    """Skip (saying why) where Chromium or its driver is not installed; in CI, fail."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    if missing:
        why = (
            f"{' and '.join(missing)} not installed: the browser tests need Debian's chromium and "
            "chromium-driver (sudo apt-get install chromium chromium-driver)"
        )
        if in_ci():
            pytest.fail(f"{why}; CI must have them")
        pytest.skip(why)


@dataclass
class Site:
    """The app answering on ``url``; ``stop`` ends the server and waits for its thread."""

    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        assert not self.thread.is_alive(), "the web app's server did not stop"


def start_site(app: Starlette) -> Site:
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"web app on :{port}", daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while True:
        try:
            with urllib.request.urlopen(f"{url}/login", timeout=2) as answer:
                if answer.status == 200:
                    return Site(url, server, thread)
        except (urllib.error.URLError, ConnectionError):
            pass
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise AssertionError(f"the web app did not answer on {url}")
        time.sleep(0.05)


def chromium(folder: Path, *, javascript: bool = True) -> WebDriver:
    """Headless Chromium with its own profile in ``folder/profile``, downloading into
    ``folder/downloads`` (PDFs too, not shown in its viewer)."""
    require_chromium()
    downloads = folder / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ARGUMENTS:
        options.add_argument(argument)
    options.add_argument(f"--user-data-dir={folder / 'profile'}")
    options.add_argument(f"--window-size={WINDOW[0]},{WINDOW[1]}")
    prefs: dict[str, Any] = {
        "download.default_directory": str(downloads),
        "download.prompt_for_download": False,
        "plugins.always_open_pdf_externally": True,
    }
    if not javascript:
        prefs["profile.managed_default_content_settings.javascript"] = 2
        options.add_argument("--blink-settings=scriptEnabled=false")
    options.add_experimental_option("prefs", prefs)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # for console_problems
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.implicitly_wait(0)
    return driver


def wait(driver: WebDriver, seconds: float = 10) -> WebDriverWait[WebDriver]:
    """A wait that looks again when htmx swapped the elements it was reading."""
    return WebDriverWait(
        driver, seconds, poll_frequency=0.05, ignored_exceptions=[StaleElementReferenceException]
    )


def next_page(driver: WebDriver, gone: WebElement) -> None:
    """Wait until the page holding ``gone`` has been left (a form sent, a link followed) and the
    next one has loaded whole: finding in it before then could read a page half parsed."""

    def left(_: WebDriver) -> bool:
        try:
            gone.is_enabled()
        except WebDriverException:  # stale, or mid-navigation: "does not belong to the document"
            return True
        return False

    wait(driver).until(left)
    wait(driver).until(lambda d: d.execute_script("return document.readyState") == "complete")


def follow(driver: WebDriver, element: WebElement) -> str:
    """Click a link or button that leads to another page, wait for that page, and return its address."""
    page = driver.find_element(By.TAG_NAME, "html")
    element.click()
    next_page(driver, page)
    return driver.current_url


def sign_in(driver: WebDriver, site: Site, name: str, password: str = PASSWORD) -> None:
    """Sign in through the real form, as a person does, and wait for the page it leads to (the
    form again, saying why, if the password is wrong)."""
    driver.get(f"{site.url}/login")
    form = driver.find_element(By.CSS_SELECTOR, "form[action='/login']")
    form.find_element(By.ID, "name").send_keys(name)
    form.find_element(By.ID, "password").send_keys(password)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    next_page(driver, form)


def console_problems(driver: WebDriver) -> list[str]:
    """What the page's console said went wrong since last asked: a script error, or something the
    Content-Security-Policy refused (htmx must work under ``script-src 'self'``, no eval)."""
    return [e["message"] for e in driver.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]


def visit(driver: WebDriver, site: Site, path: str, person: str) -> None:
    """Open ``path`` as ``person``, signing in through the form first unless they already are. The
    console's log then holds what this page said, not the pages before."""
    driver.get_log("browser")
    driver.get(f"{site.url}{path}")
    shown = driver.find_elements(By.CSS_SELECTOR, "header .signout span")
    if not shown or not shown[0].text.startswith(f"{person} ("):
        sign_in(driver, site, person)
        driver.get_log("browser")
        driver.get(f"{site.url}{path}")


def download(folder: Path, name: str, seconds: float = 15) -> Path:
    """The file ``name`` once Chromium has finished writing it into ``folder``."""
    path = folder / name
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.is_file() and not (folder / f"{name}.crdownload").exists():
            return path
        time.sleep(0.05)
    raise AssertionError(f"{name} was not downloaded into {folder}: {sorted(os.listdir(folder))}")


def clear(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)


_AXE_RUN = """
const done = arguments[arguments.length - 1];
axe.run(document, {runOnly: {type: "tag", values: arguments[0]}, resultTypes: ["violations"]})
  .then(result => done(result.violations))
  .catch(error => done({error: String(error)}));
"""


def axe(driver: WebDriver) -> list[dict[str, Any]]:
    """The page's WCAG 2.0–2.2 A and AA violations as axe-core finds them."""
    if not driver.execute_script("return typeof window.axe === 'object'"):
        driver.execute_script(AXE.read_text(encoding="utf-8"))
    driver.set_script_timeout(30)
    found = driver.execute_async_script(_AXE_RUN, WCAG)
    assert not isinstance(found, dict), f"axe-core did not run: {found}"
    violations: list[dict[str, Any]] = found
    return violations


def serious(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v.get("impact") in ("serious", "critical")]


def described(violations: list[dict[str, Any]]) -> str:
    """Each violation as a line: its id, impact and help, then each element it was found on."""
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} — {v['helpUrl']}")
        for node in v["nodes"]:
            target = " ".join(str(t) for t in node["target"])
            lines.append(f"    {target}: {node.get('failureSummary', '').replace(chr(10), ' ')}")
    return "\n".join(lines)


@dataclass(frozen=True)
class Picture:
    path: Path
    width: int
    height: int


def screenshot(driver: WebDriver, path: Path, most: int = 1100) -> Picture:
    """The page from its top, as wide as the window and as tall as its content (up to ``most``
    pixels), as a PNG at ``path``; first checking nothing runs off the side of the window."""
    overflow = driver.execute_script(
        "const root = document.documentElement; return root.scrollWidth - root.clientWidth"
    )
    assert overflow <= 0, f"the page is {overflow}px wider than the window"
    width, height = driver.execute_script("return [window.innerWidth, document.documentElement.scrollHeight]")
    clip = {"x": 0, "y": 0, "width": width, "height": min(height, most), "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    data = base64.b64decode(shot["data"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    assert data[12:16] == b"IHDR"
    return Picture(path, int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big"))
