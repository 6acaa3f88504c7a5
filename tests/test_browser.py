"""The web client in a real browser: Debian's headless Chromium, driven by Selenium, against the live stack.

Covers what a user does: pick the sample portrait, pick a painting, drag and resize the person's box
(mouse and keyboard on a desktop, touch on a 390 px phone), submit, wait, download, and check the picture
really has the person where the box was; and what a user sees when a file is bad or a job fails.
Screenshots go to $SITTER_SCREENSHOTS (default: the test's tmp dir); look at them after a change.
`tests/browser/install.sh` installs the browser on a fresh machine.
"""

from __future__ import annotations

import base64
import io
import math
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from PIL import Image

from shared import gallery
from shared.jobs import blob_key, photo_blob
from shared.runtime.storage import blob_store
from shared.settings import Settings
from tests.helpers.images import group_photo
from tests.helpers.processes import Spawn, free_port, start_gateway
from tests.live_stack import UNSERVED_STYLE, WORKER_MAX_PIXELS, LiveStack

pytestmark = pytest.mark.slow

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.chrome.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.actions import interaction  # noqa: E402
from selenium.webdriver.common.actions.action_builder import ActionBuilder  # noqa: E402
from selenium.webdriver.common.actions.pointer_input import PointerInput  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
SAMPLE = gallery.SAMPLES_DIR / "obama-portrait.jpg"
with Image.open(SAMPLE) as _sample:
    SAMPLE_ASPECT = _sample.width / _sample.height
JOB_TIMEOUT = 90
PHONE = (390, 844)  # CSS pixels: a common phone (touch)
DESKTOP = (1280, 900)  # the window; wide enough (>= 1100 px) for the side-by-side layout
AXE = Path(os.environ.get("SITTER_AXE_DIR") or Path.home() / ".cache/sitter/axe-core-4.10.3") / "axe.min.js"


@pytest.fixture(scope="module")
def browser_binaries() -> tuple[str, str]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        pytest.skip("Chromium is not installed: run tests/browser/install.sh")
    return chromium, driver


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("SITTER_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _browser(binaries: tuple[str, str], profile: Path, downloads: Path, *, phone: bool) -> WebDriver:
    options = webdriver.ChromeOptions()
    options.binary_location = binaries[0]
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    if phone:
        options.add_experimental_option(
            "mobileEmulation",
            {"deviceMetrics": {"width": PHONE[0], "height": PHONE[1], "pixelRatio": 2.0, "touch": True}},
        )
    else:
        options.add_argument(f"--window-size={DESKTOP[0]},{DESKTOP[1]}")
    options.add_experimental_option(
        "prefs", {"download.default_directory": str(downloads), "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(service=Service(binaries[1]), options=options)
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_CSP_VIOLATIONS})
    return driver


# Installed before any page script: every Content-Security-Policy violation the page causes is kept, so a
# test can require none (the policy is strict; a blocked script, style or image would break the page).
RECORD_CSP_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) =>
  window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI}`));
"""


def _csp_violations(driver: WebDriver) -> list[str]:
    return list(driver.execute_script("return window.cspViolations || []"))


@pytest.fixture
def desktop(browser_binaries: tuple[str, str], tmp_path: Path) -> Iterator[WebDriver]:
    driver = _browser(browser_binaries, tmp_path / "profile", tmp_path / "downloads", phone=False)
    yield driver
    driver.quit()


@pytest.fixture
def phone(browser_binaries: tuple[str, str], tmp_path: Path) -> Iterator[WebDriver]:
    driver = _browser(browser_binaries, tmp_path / "profile", tmp_path / "downloads", phone=True)
    yield driver
    driver.quit()


def _wait(driver: WebDriver, predicate: Any, timeout: float = 10, what: str = "the page") -> Any:
    return WebDriverWait(driver, timeout, poll_frequency=0.1).until(
        lambda _: predicate(), message=f"timed out waiting for {what}"
    )


def _by_id(driver: WebDriver, element_id: str) -> WebElement:
    return driver.find_element(By.ID, element_id)


def _screenshot(driver: WebDriver, path: Path) -> None:
    """The whole page, not only the viewport, so one picture shows every step."""
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"captureBeyondViewport": True, "format": "png"})
    path.write_bytes(base64.b64decode(shot["data"]))


def _view_shot(driver: WebDriver, path: Path) -> None:
    """Only what is on the screen: where the user's eyes are (the result must be among it)."""
    path.write_bytes(
        base64.b64decode(driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})["data"])
    )


IN_VIEW = """
const box = document.getElementById(arguments[0]).getBoundingClientRect();
return box.height > 0 && box.top >= -1 && box.left >= -1 &&
  box.bottom <= innerHeight + 1 && box.right <= innerWidth + 1;
"""


def _wait_for_cutout_ghost(driver: WebDriver, what: str, replacing: str | None = None) -> str:
    """Wait until the box's ghost is a cut-out, loaded (and, given `replacing`, another image than that
    one); returns its src."""
    ghost = _by_id(driver, "box-ghost")
    _wait(
        driver,
        lambda: (
            "cutout" in str(ghost.get_attribute("class"))
            and ghost.get_attribute("src") != replacing
            and driver.execute_script("return document.getElementById('box-ghost').naturalWidth > 0")
        ),
        what=what,
    )
    return str(ghost.get_attribute("src"))


def _ghost_aspect(driver: WebDriver) -> float:
    """Width / height of the image the box shows: the person's own proportions once it is a cut-out."""
    script = "const g = document.getElementById('box-ghost'); return g.naturalWidth / g.naturalHeight"
    return float(driver.execute_script(script))


def _wait_in_view(driver: WebDriver, element_id: str) -> None:
    """The element whole within the viewport (the page scrolls smoothly, so give it a moment)."""
    _wait(driver, lambda: driver.execute_script(IN_VIEW, element_id), 5, f"#{element_id} in view")


RUN_AXE = """
const done = arguments[0];
axe.run(document, {resultTypes: ["violations"]}).then((results) => done(results.violations
  .filter((rule) => rule.impact === "serious" || rule.impact === "critical")
  .map((rule) => `${rule.id} (${rule.impact}): ${rule.help}: ` +
    rule.nodes.slice(0, 3).map((node) => node.target.join(" ")).join(", "))));
"""


def _axe(driver: WebDriver) -> list[str]:
    """The serious and critical violations axe-core finds on the page as it is now.

    axe is injected through WebDriver (the DevTools protocol), which the page's CSP does not govern;
    the page itself never loads it."""
    if not AXE.is_file():
        pytest.skip(f"axe-core is not installed ({AXE}): run tests/browser/install.sh")
    if not driver.execute_script("return typeof axe !== 'undefined'"):
        driver.execute_script(AXE.read_text())
    return list(driver.execute_async_script(RUN_AXE))


def _journey(driver: WebDriver, shots: Path, name: str) -> float:
    """Seconds from opening the page to the result on screen (the page marks the moment), kept for
    the record next to the screenshots; the test's own drags and checks are included."""
    seconds = float(
        driver.execute_script(
            "return performance.getEntriesByName('sitter:result-shown')[0].startTime / 1000"
        )
    )
    with (shots / "journey-times.txt").open("a") as record:
        record.write(f"{name}: {seconds:.2f} s from opening the page to the first result shown\n")
    return seconds


def _placement(driver: WebDriver) -> tuple[int, int, int]:
    """The box in painting pixels, as the page will send it (people read it in words)."""
    box = _by_id(driver, "person-box")
    x, y, h = (int(str(box.get_attribute(f"data-{name}"))) for name in "xyh")
    readout = _by_id(driver, "box-readout").text
    assert not re.search(r"\d", readout) or readout.startswith("Suggested spot"), readout  # words, not pixels
    return x, y, h


def _scale(driver: WebDriver, painting_id: str) -> float:
    """Painting pixels per CSS pixel of the displayed painting."""
    shown = float(
        driver.execute_script("return document.getElementById('stage-img').getBoundingClientRect().width")
    )
    return _painting(painting_id).shape[1] / shown


def _painting(painting_id: str) -> np.ndarray:
    with Image.open(gallery.painting(painting_id).path) as image:
        return np.asarray(image.convert("RGB"))


def _open(driver: WebDriver, stack: LiveStack) -> None:
    driver.get(stack.base_url + "/")
    _wait(driver, lambda: len(driver.find_elements(By.CSS_SELECTOR, ".painting")) == len(gallery.paintings()))


def _choose_portrait(driver: WebDriver, path: Path) -> None:
    _by_id(driver, "portrait-input").send_keys(str(path))


def _choose_painting(driver: WebDriver, painting_id: str) -> WebElement:
    card = driver.find_element(By.CSS_SELECTOR, f'.painting[data-id="{painting_id}"]')
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", card)
    return card


def _submit_and_wait(
    driver: WebDriver, headers: dict[str, str] | None = None, timeout: float = JOB_TIMEOUT
) -> dict[str, Any]:
    """Submit, wait for the result, and return the job's document (the page names the job it shows)."""
    button = _by_id(driver, "submit-button")
    _wait(driver, button.is_enabled, what="the submit button to enable")
    earlier = _by_id(driver, "result").get_attribute("data-job")  # an earlier result stays on show
    button.click()
    _wait(
        driver,
        lambda: (
            (
                _by_id(driver, "result").is_displayed()
                and _by_id(driver, "result").get_attribute("data-job") != earlier
            )
            or _by_id(driver, "submit-error").is_displayed()
        ),
        timeout,
        "the result",
    )
    assert not _by_id(driver, "submit-error").is_displayed(), _by_id(driver, "submit-error").text
    _wait(
        driver, lambda: driver.execute_script("return document.getElementById('result-img').naturalWidth > 0")
    )
    job_id = _by_id(driver, "result").get_attribute("data-job")
    origin = driver.execute_script("return location.origin")
    job: dict[str, Any] = requests.get(f"{origin}/v1/jobs/{job_id}", headers=headers, timeout=10).json()
    assert job["status"] == "succeeded"
    return job


def _page_bytes(driver: WebDriver, url: str) -> bytes:
    """What the page itself gets at `url` (an object URL of an image it fetched with its key, say)."""
    encoded = driver.execute_async_script(
        "const done = arguments[1];"
        "fetch(arguments[0]).then((r) => r.blob()).then((blob) => {"
        "  const reader = new FileReader();"
        "  reader.onload = () => done(reader.result.split(',')[1]);"
        "  reader.readAsDataURL(blob);"
        "});",
        url,
    )
    return base64.b64decode(encoded)


def _check_picture(data: bytes, painting_id: str, box: dict[str, int]) -> None:
    """The painting, untouched outside the person's box, and a person inside it."""
    with Image.open(io.BytesIO(data)) as image:
        picture = np.asarray(image.convert("RGB"))
    painting = _painting(painting_id)
    assert picture.shape == painting.shape
    x0, y0 = max(box["x"], 0), max(box["y"], 0)
    outside = np.ones(painting.shape[:2], bool)
    outside[y0 : box["y"] + box["h"], x0 : box["x"] + box["w"]] = False
    assert np.array_equal(picture[outside], painting[outside])
    assert np.abs(picture[~outside].astype(int) - painting[~outside]).mean() > 10


def test_desktop_upload_place_submit_download(
    live_stack: LiveStack, desktop: WebDriver, tmp_path: Path, shots: Path
) -> None:
    driver = desktop
    _open(driver, live_stack)
    assert _axe(driver) == []
    _choose_portrait(driver, SAMPLE)
    _wait(
        driver,
        lambda: driver.execute_script("return document.getElementById('portrait-img').naturalWidth > 0"),
    )
    assert not _by_id(driver, "submit-button").is_enabled()  # no painting yet
    assert "painting" in _by_id(driver, "submit-hint").text

    _choose_painting(driver, "starry-night").click()
    box = _by_id(driver, "person-box")
    _wait(driver, box.is_displayed)
    assert _by_id(driver, "box-readout").text.startswith("Automatic placement")
    # As soon as the photo is chosen the server cuts the person out: the box shows them, with their shape
    _wait_for_cutout_ghost(driver, "the cut-out preview in the box")
    ghost = _by_id(driver, "box-ghost")
    assert ghost.is_displayed() and "found you" in _by_id(driver, "portrait-name").text
    aspect = _ghost_aspect(driver)
    assert aspect < 0.95 * SAMPLE_ASPECT  # the person, narrower than their photo
    # The painting's suggested spots arrive as one-tap buttons; the automatic box previews the best one.
    _wait(driver, lambda: len(driver.find_elements(By.CSS_SELECTOR, "#spots .spot")) >= 2, what="spots")
    origin = driver.execute_script("return location.origin")
    spots = requests.get(f"{origin}/v1/paintings/starry-night", timeout=10).json()["spots"]
    best = spots[0]
    labels = [button.text for button in driver.find_elements(By.CSS_SELECTOR, "#spots .spot")]
    assert labels == ["Best: bust, left", "Bust, right", "Standing, centre"], labels  # kinds, not numbers
    assert [(s["kind"], s["side"]) for s in spots] == [
        ("bust", "left"),
        ("bust", "right"),
        ("standing", "centre"),
    ]
    width, height = _painting("starry-night").shape[1::-1]
    auto_h = best["height"]
    auto_w = round(auto_h * aspect)
    auto_x = round(min(max(best["x"] + best["width"] / 2 - auto_w / 2, 0), width - auto_w))

    # Drag with the mouse: the box moves by the drag, converted to painting pixels.
    ActionChains(driver).click_and_hold(box).move_by_offset(-120, -60).release().perform()
    x, y, h = _placement(driver)
    scale = _scale(driver, "starry-night")
    assert h == auto_h
    assert abs(x - (auto_x - 120 * scale)) <= 3 and abs(y - (best["y"] - 60 * scale)) <= 3

    # Drag the corner handle up: taller, feet where they were.
    handle = _by_id(driver, "resize-handle")
    ActionChains(driver).click_and_hold(handle).move_by_offset(0, -40).release().perform()
    x2, y2, h2 = _placement(driver)
    assert x2 == x and abs(h2 - (h + 40 * scale)) <= 3 and abs((y2 + h2) - (y + h)) <= 1

    # Keyboard: the box is focusable and arrow keys nudge it by 1% of the painting's width.
    box.send_keys(Keys.ARROW_LEFT)
    assert _placement(driver) == (x2 - round(0.01 * width), y2, h2)
    placed = _placement(driver)
    _screenshot(driver, shots / "desktop-placed.png")

    job = _submit_and_wait(driver)
    result_box = job["result"]["box"]
    assert (result_box["x"], result_box["y"], result_box["h"]) == placed
    assert [stage["state"] for stage in job["stages"].values()] == ["succeeded"] * 3
    assert job["params"]["strength"] is None  # slider untouched: automatic, by the painting
    assert _by_id(driver, "strength-out").text == "Auto"
    assert not _by_id(driver, "progress").is_displayed()
    # Result first: on screen when it arrives, beside the editor (1280 px is a wide screen).
    _wait_in_view(driver, "result-img")
    _journey(driver, shots, "desktop")
    _view_shot(driver, shots / "desktop-result-view.png")
    editor = _by_id(driver, "step-place").rect
    assert _by_id(driver, "result-img").rect["x"] >= editor["x"] + editor["width"]
    assert driver.execute_script("return location.hash") == f"#job={job['id']}"
    about = _by_id(driver, "result-about").text
    assert about.startswith("The Starry Night, in its own style; ") and "painting's height" in about

    _by_id(driver, "details").click()  # the intermediates, on request
    _wait(
        driver, lambda: driver.execute_script("return document.getElementById('mask-img').naturalWidth > 0")
    )
    _screenshot(driver, shots / "desktop-result.png")
    assert _axe(driver) == []

    # Download under a readable name, the same the API gives the file: painting and the job's (UTC) day.
    name = f"sitter-starry-night-{job['created_at'][:10]}.png"
    assert _by_id(driver, "download-link").get_attribute("download") == name
    origin = driver.execute_script("return location.origin")
    disposition = requests.get(f"{origin}/v1/jobs/{job['id']}/result?download=1", timeout=10).headers
    assert disposition["Content-Disposition"] == f'attachment; filename="{name}"'
    # No share sheet in desktop Chromium: no Share button, the download is the way.
    assert driver.execute_script("return typeof navigator.share") == "undefined"
    assert not _by_id(driver, "share-button").is_displayed()
    _by_id(driver, "download-link").click()
    downloads = tmp_path / "downloads"
    saved = _wait(driver, lambda: sorted(downloads.glob(name)), 20, "the download")
    _wait(driver, lambda: not list(downloads.glob("*.crdownload")), 20, "the download to finish")
    _check_picture(saved[0].read_bytes(), "starry-night", result_box)

    # Try another placement: same photo (sent as portrait_from, not uploaded again), automatic placement.
    # Until it is made again, the result says it shows the earlier placement.
    _by_id(driver, "again-button").click()
    assert not _by_id(driver, "stale-note").is_displayed()
    _by_id(driver, "auto-button").click()
    assert _by_id(driver, "box-readout").text.startswith("Automatic placement")
    assert _by_id(driver, "stale-note").text.startswith("This was made with the earlier placement.")
    assert _by_id(driver, "result-title").text == "Your last picture"
    _screenshot(driver, shots / "desktop-stale.png")
    shown = _by_id(driver, "box-ghost").get_attribute("src")  # the preview's cut-out (or the last result's)
    second = _submit_and_wait(driver)
    # This result's box is wholly inside the painting: its repainted cut-out replaces what the box showed.
    _wait_for_cutout_ghost(driver, "this result's cut-out in the box", replacing=shown)
    assert not _by_id(driver, "stale-note").is_displayed()
    assert _by_id(driver, "result-title").text == "Here you are"
    assert second["id"] != job["id"]
    assert second["result"]["box"]["y"] + second["result"]["box"]["h"] == height  # standing on the bottom
    assert second["result"]["placement"]["kind"] == "auto"

    # One tap on a suggested spot: the job asks for it by index, and the server fits this face to it.
    _by_id(driver, "again-button").click()
    driver.find_elements(By.CSS_SELECTOR, "#spots .spot")[1].click()
    _view_shot(driver, shots / "desktop-ghost-view.png")
    assert _by_id(driver, "box-readout").text.startswith("Suggested spot 2: ")
    # ... twice the painting's size: the person painted at that size, the box in the bigger picture's pixels
    size = Select(_by_id(driver, "output-scale"))
    assert [option.text for option in size.options][2] == f"Twice as large ({2 * width} × {2 * height})"
    size.select_by_value("2")
    driver.execute_script(  # the user moves the strength slider: from now on it is sent
        "const s = document.getElementById('strength'); s.value = '0.6';"
        "s.dispatchEvent(new Event('input', {bubbles: true}));"
    )
    assert _by_id(driver, "strength-out").text == "60%" and _by_id(driver, "strength-auto").is_displayed()
    third = _submit_and_wait(driver)
    assert third["params"]["strength"] == 0.6
    assert third["params"]["spot"] == 1 and third["result"]["placement"]["kind"] == "spot"
    assert (third["result"]["width"], third["result"]["height"]) == (2 * width, 2 * height)
    _screenshot(driver, shots / "desktop-spot.png")

    # The history strip: this tab's three results, newest first, each in words; one click shows it again.
    items = driver.find_elements(By.CSS_SELECTOR, "#history-list .history-item")
    assert [item.get_attribute("data-job") for item in items] == [third["id"], second["id"], job["id"]]
    assert "standing at the bottom" in items[1].text and "The Starry Night" in items[1].text
    _wait(
        driver,
        lambda: driver.execute_script(
            "return [...document.querySelectorAll('#history-list img')].every((img) => img.naturalWidth > 0)"
        ),
        what="the thumbnails",
    )
    items[2].click()
    _wait(driver, lambda: _by_id(driver, "result").get_attribute("data-job") == job["id"])
    assert items[2].get_attribute("aria-current") == "true"
    assert driver.execute_script("return location.hash") == f"#job={job['id']}"
    _wait_in_view(driver, "result-img")

    # A reload (or the link, shared) shows the same result again, and the strip is still there.
    driver.refresh()
    _wait(driver, lambda: _by_id(driver, "result").get_attribute("data-job") == job["id"], what="restored")
    _wait(driver, lambda: len(driver.find_elements(By.CSS_SELECTOR, "#history-list .history-item")) == 3)
    _wait_in_view(driver, "result-img")
    driver.execute_script("document.getElementById('history').scrollIntoView()")  # thumbnails when seen
    _wait(
        driver,
        lambda: driver.execute_script(
            "return [...document.querySelectorAll('#history-list img')].every((img) => img.naturalWidth > 0)"
        ),
        what="the thumbnails after the reload",
    )
    fetched = driver.execute_script("return performance.getEntriesByType('resource').map((e) => e.name)")
    for other in (second, third):  # not shown: only their small thumbnails were fetched
        assert any(url.endswith(f"/v1/jobs/{other['id']}/artifacts/thumbnail") for url in fetched)
        assert not any(url.endswith(f"/v1/jobs/{other['id']}/result") for url in fetched)
    assert not _by_id(driver, "restore-info").is_displayed()

    # Gone from the server (deleted here; expired alike): said kindly, and out of the strip.
    assert requests.delete(f"{origin}/v1/jobs/{second['id']}", timeout=10).status_code == 200
    driver.execute_script("location.hash = arguments[0]", f"#job={second['id']}")
    driver.refresh()
    info = _by_id(driver, "restore-info")
    _wait(driver, info.is_displayed, what="the expired link's note")
    assert info.text.startswith("That picture is no longer on the server")
    assert "info" in str(info.get_attribute("class"))
    _wait(driver, lambda: len(driver.find_elements(By.CSS_SELECTOR, "#history-list .history-item")) == 2)
    driver.execute_script("location.hash = arguments[0]", f"#job={'0' * 32}")  # never existed
    _wait(driver, lambda: driver.execute_script("return location.hash") == "", what="the hash cleared")
    assert info.text.startswith("That picture is no longer on the server")
    _screenshot(driver, shots / "desktop-expired.png")
    assert _csp_violations(driver) == []  # the whole flow runs under the page's strict policy


SECOND = Path(__file__).resolve().parents[1] / "eval/composite/photos/grace-hopper.jpg"


def _person_box(driver: WebDriver, number: int) -> WebElement:
    return driver.find_element(By.CSS_SELECTOR, f'#stage .person-box[data-person="{number}"]')


def _box_values(box: WebElement) -> tuple[int, int, int]:
    """A person's box in painting pixels, as the page will send it (x.N, y.N, height.N once moved)."""
    return tuple(int(str(box.get_attribute(f"data-{name}"))) for name in "xyh")  # type: ignore[return-value]


def _has_cutout(driver: WebDriver, box: WebElement) -> bool:
    return bool(
        driver.execute_script(
            "const g = arguments[0].querySelector('.box-ghost');"
            "return !g.hidden && g.classList.contains('cutout') && g.naturalWidth > 0",
            box,
        )
    )


def _check_people_picture(data: bytes, painting_id: str, boxes: list[dict[str, int]]) -> None:
    """The painting, untouched outside every person's box, and someone inside each box."""
    with Image.open(io.BytesIO(data)) as image:
        picture = np.asarray(image.convert("RGB"))
    painting = _painting(painting_id)
    assert picture.shape == painting.shape
    outside = np.ones(painting.shape[:2], bool)
    for box in boxes:
        outside[max(box["y"], 0) : box["y"] + box["h"], max(box["x"], 0) : box["x"] + box["w"]] = False
    assert np.array_equal(picture[outside], painting[outside])
    for box in boxes:
        inside = (slice(max(box["y"], 0), box["y"] + box["h"]), slice(max(box["x"], 0), box["x"] + box["w"]))
        assert np.abs(picture[inside].astype(int) - painting[inside]).mean() > 5


def test_desktop_several_people(live_stack: LiveStack, desktop: WebDriver, shots: Path) -> None:
    """Add a second person, see two numbered boxes with their cut-outs, drag and nudge box 2, put person 1
    in front, submit: the job carries x.2/y.2/height.2 and the result's boxes are the ones placed. Removing
    the person gives back the one-person form; a group photo is placed automatically."""
    driver = desktop
    _open(driver, live_stack)
    assert not _by_id(driver, "people").is_displayed()  # nobody to add to before a first photo
    _choose_portrait(driver, SAMPLE)
    _choose_painting(driver, "starry-night").click()
    _wait(driver, _by_id(driver, "people").is_displayed, what="Add a person")
    _wait(driver, lambda: _has_cutout(driver, _by_id(driver, "person-box")), what="person 1's cut-out")
    assert _by_id(driver, "submit-button").text == "Put me in the painting"

    # A bad file for person 2 is refused at once, and nobody is added.
    _by_id(driver, "add-person-input").send_keys(
        str(Path(__file__).parent / "data/person_check/no-person-coffee.jpg")
    )
    error = _by_id(driver, "portrait-error")
    _wait(driver, error.is_displayed, what="the coffee cup refused")
    assert "could not find a person" in error.text and "no-person-coffee.jpg" in error.text
    assert driver.find_elements(By.CSS_SELECTOR, ".person-card") == []
    assert len(driver.find_elements(By.CSS_SELECTOR, "#stage .person-box")) == 1

    _by_id(driver, "add-person-input").send_keys(str(SECOND))
    card = driver.find_element(By.CSS_SELECTOR, '.person-card[data-person="2"]')
    _wait(driver, lambda: "found the person" in card.text, what="person 2's cut-out")
    assert "Person 2" in card.text and "grace-hopper.jpg" in card.text and not error.is_displayed()
    box1, box2 = _person_box(driver, 1), _person_box(driver, 2)
    _wait(driver, lambda: _has_cutout(driver, box2), what="person 2's cut-out in the box")
    assert box1.is_displayed() and box2.is_displayed()
    assert str(box2.get_attribute("aria-label")).startswith("Person 2 (grace-hopper.jpg): ")
    assert str(box1.get_attribute("aria-label")).startswith("Person 1 (obama-portrait.jpg): ")
    assert box2.get_attribute("role") == "group" and box2.get_attribute("tabindex") == "0"
    assert [box.find_element(By.CSS_SELECTOR, ".box-number").text for box in (box1, box2)] == ["1", "2"]
    assert _by_id(driver, "place-title").text.endswith("Where each of you stands")
    assert _by_id(driver, "box-readout").text.startswith("Automatic placement: everyone is placed together")
    assert _by_id(driver, "submit-button").text == "Put us in the painting"
    # untouched, the boxes stand side by side along the bottom, not on top of each other
    (x1, y1, h1), (x2, y2, h2) = _box_values(box1), _box_values(box2)
    width, height = _painting("starry-night").shape[1::-1]
    assert x1 + round(h1 * 0.3) < x2 and y1 + h1 == height == y2 + h2
    assert _axe(driver) == []
    _screenshot(driver, shots / "desktop-people-auto.png")

    # Drag box 2 with the mouse: it moves by the drag; box 1 stays automatic where it was.
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", box2)
    ActionChains(driver).click_and_hold(box2).move_by_offset(-60, -50).release().perform()
    scale = _scale(driver, "starry-night")
    dragged = _box_values(box2)
    assert abs(dragged[0] - (x2 - 60 * scale)) <= 3 and abs(dragged[1] - (y2 - 50 * scale)) <= 3
    assert dragged[2] == h2 and _box_values(box1) == (x1, y1, h1)
    assert _by_id(driver, "box-readout").text.startswith("Person 2: ")
    # The keyboard on box 2: reached with Tab from box 1, arrows move it, + grows it with the feet kept.
    assert driver.switch_to.active_element == box2
    driver.execute_script("arguments[0].focus()", box1)
    ActionChains(driver).send_keys(Keys.TAB).perform()
    assert driver.switch_to.active_element == box2
    box2.send_keys(Keys.ARROW_RIGHT)
    assert _box_values(box2) == (dragged[0] + round(0.01 * width), dragged[1], dragged[2])
    box2.send_keys("+")
    placed = _box_values(box2)
    assert placed[2] > dragged[2] and placed[1] + placed[2] == dragged[1] + dragged[2]
    assert _by_id(driver, "spots-for").text == "Put person 2 on:"  # the spots are for the box last used
    # Person 1 in front: the order is sent back to front, and box 1 is drawn above box 2.
    front = Select(_by_id(driver, "order-select"))
    assert front.first_selected_option.text == "Person 2"  # by default the last person is in front
    front.select_by_value("1")
    assert int(str(box1.value_of_css_property("z-index"))) > int(str(box2.value_of_css_property("z-index")))
    _screenshot(driver, shots / "desktop-people-placed.png")
    (shots / "desktop-people-stage.png").write_bytes(_by_id(driver, "step-place").screenshot_as_png)

    job = _submit_and_wait(driver)
    group = job["params"]["group"]
    assert group["photos"] == 2 and not group["every_person"]
    assert group["people"] == {"2": {"x": placed[0], "y": placed[1], "height": placed[2]}}  # box 1: auto
    assert group["order"] == [1, 0]  # stored 0-based: person 2 at the back, person 1 in front
    people = job["result"]["people"]
    assert [person["person"] for person in people] == [1, 2] and job["result"]["order"] == [2, 1]
    assert (people[1]["box"]["x"], people[1]["box"]["y"], people[1]["box"]["h"]) == placed
    assert people[1]["placement"]["kind"] == "explicit"
    _wait_in_view(driver, "result-img")
    about = _by_id(driver, "result-about").text
    assert (
        about.startswith("The Starry Night, in its own style; 2 people: person 1 ") and "; person 2 " in about
    )
    assert _by_id(driver, "result-img").get_attribute("alt") == "2 people, placed into The Starry Night"
    assert not _by_id(driver, "details").is_displayed()  # no single cut-out mask for two people
    picture = _page_bytes(driver, str(_by_id(driver, "result-img").get_attribute("src")))
    _check_people_picture(picture, "starry-night", [person["box"] for person in people])
    _view_shot(driver, shots / "desktop-people-result-view.png")
    assert _axe(driver) == []

    # Remove person 2: back to the one-person form, and the result is marked as made with other photos.
    remove = card.find_element(By.CSS_SELECTOR, ".remove-person")
    assert remove.get_attribute("aria-label") == "Remove person 2 (grace-hopper.jpg)"
    remove.click()
    assert len(driver.find_elements(By.CSS_SELECTOR, "#stage .person-box")) == 1
    assert (
        not _by_id(driver, "people-list").is_displayed() and not _by_id(driver, "order-field").is_displayed()
    )
    assert driver.switch_to.active_element == _by_id(driver, "add-person-input")  # focus not lost
    box1 = _by_id(driver, "person-box")
    assert not box1.find_element(By.CSS_SELECTOR, ".box-number").is_displayed()
    assert str(box1.get_attribute("aria-label")).startswith("Your place in the painting.")
    assert _by_id(driver, "submit-button").text == "Put me in the painting"
    assert _by_id(driver, "place-title").text.endswith("Where you stand")
    stale = _by_id(driver, "stale-note").text
    assert stale.startswith("This was made with the earlier photos.") and "“Put me in the painting”" in stale
    assert _by_id(driver, "box-readout").text.startswith("Automatic placement: you will be fitted")
    single = _submit_and_wait(driver)
    assert "group" not in single["params"] and "people" not in single["result"]
    assert _by_id(driver, "details").is_displayed()

    # A group photo: everyone in it is kept and placed automatically (the preview cannot split people).
    _by_id(driver, "people-all").click()
    assert not box1.is_displayed() and _by_id(driver, "group-note").is_displayed()
    assert not _by_id(driver, "auto-button").is_displayed()
    assert _by_id(driver, "submit-button").text == "Put us in the painting"
    assert _axe(driver) == []
    _screenshot(driver, shots / "desktop-people-group.png")
    everyone = _submit_and_wait(driver)
    assert everyone["params"]["group"]["every_person"] is True
    assert len(everyone["result"]["people"]) == 1  # this photo holds one person
    assert "1 person from your group photo: person 1 " in _by_id(driver, "result-about").text
    _by_id(driver, "people-all").click()
    assert box1.is_displayed() and _by_id(driver, "submit-button").text == "Put me in the painting"

    # An API error naming a person's field is shown at the step that fixes it: placement for x.2.
    steps = driver.execute_async_script(
        "const done = arguments[0]; import('/static/messages.js').then((m) =>"
        " done(['x.2', 'height.6', 'style.2', 'order', 'people', 'x'].map(m.stepOf)));"
    )
    assert steps == ["place", "place", "portrait", "place", "portrait", "place"]  # style.2: on their card
    assert _csp_violations(driver) == []


def test_phone_three_people(live_stack: LiveStack, phone: WebDriver, shots: Path) -> None:
    """Three people on a 390 px phone (two photos added at once): every card and box fits, box 2 follows
    a finger."""
    driver = phone
    _open(driver, live_stack)
    _choose_portrait(driver, SAMPLE)
    _tap(driver, _choose_painting(driver, "great-wave"))
    _wait(driver, _by_id(driver, "people").is_displayed, what="Add a person")
    _by_id(driver, "add-person-input").send_keys(f"{SECOND}\n{SECOND.parent / 'woman-portrait.jpg'}")
    box2 = _person_box(driver, 2)
    for number in (1, 2, 3):
        box = _person_box(driver, number)
        _wait(driver, lambda box=box: _has_cutout(driver, box), what=f"person {number}'s cut-out")
    assert [_box_values(_person_box(driver, number))[0] for number in (1, 2, 3)] == sorted(
        _box_values(_person_box(driver, number))[0] for number in (1, 2, 3)
    )  # a row, left to right, until moved
    assert driver.execute_script("return document.documentElement.scrollWidth") <= PHONE[0]
    _screenshot(driver, shots / "phone-people.png")
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", box2)
    before = _box_values(box2)
    _touch_drag(driver, box2, -40, -30)
    after = _box_values(box2)
    assert after[0] < before[0] and after[1] < before[1] and after[2] == before[2]
    (shots / "phone-people-stage.png").write_bytes(_by_id(driver, "step-place").screenshot_as_png)
    assert _axe(driver) == []

    # Person 1 removed: person 2 moves up, with their photo and the box where the finger left it.
    remove = _by_id(driver, "remove-first")
    assert remove.get_attribute("aria-label") == "Remove person 1 (obama-portrait.jpg)"
    _tap(driver, remove)
    _wait(
        driver, lambda: "grace-hopper.jpg" in _by_id(driver, "portrait-name").text, what="person 2 moved up"
    )
    first = _by_id(driver, "person-box")
    assert str(first.get_attribute("aria-label")).startswith("Person 1 (grace-hopper.jpg): ")
    assert _box_values(first)[1:] == after[1:] and abs(_box_values(first)[0] - after[0]) <= 1
    assert len(driver.find_elements(By.CSS_SELECTOR, "#stage .person-box")) == 2
    assert "woman-portrait.jpg" in driver.find_element(By.CSS_SELECTOR, '.person-card[data-person="2"]').text
    _wait(driver, lambda: _has_cutout(driver, first), what="the new person 1's cut-out")


# Every change of the output area (progress, result) is kept as a snapshot, from before the job is sent to
# after it ends: what the progress showed, checked afterwards, with no timing to guess.
RECORD_PROGRESS = """
window.progressSeen = [];
new MutationObserver(() => {
  const progress = document.getElementById("progress");
  window.progressSeen.push({
    shown: !progress.hidden,
    height: progress.getBoundingClientRect().height,
    pageWidth: document.documentElement.scrollWidth,
    stages: [...document.querySelectorAll("#stages li")].map((item) => ({
      stage: item.dataset.stage,
      state: item.dataset.state,
      words: item.querySelector(".state").textContent,
      marks: [...item.querySelectorAll(".person-mark")]
        .map((mark) => [Number(mark.dataset.person), mark.dataset.state]),
    })),
  });
}).observe(document.getElementById("step-make"),
  {subtree: true, childList: true, attributes: true, characterData: true});
"""


def _progress_seen(driver: WebDriver) -> list[dict[str, Any]]:
    return [seen for seen in driver.execute_script("return window.progressSeen") if seen["shown"]]


def _person_style(driver: WebDriver, number: int) -> Select:
    """Person `number`'s own style choice: under the first photo for person 1, else on their card."""
    if number == 1:
        return Select(_by_id(driver, "first-style"))
    card = driver.find_element(By.CSS_SELECTOR, f'.person-card[data-person="{number}"]')
    return Select(card.find_element(By.CSS_SELECTOR, ".person-style select"))


def _person_strength(driver: WebDriver, number: int) -> Select:
    """Person `number`'s own strength, beside their style."""
    if number == 1:
        return Select(_by_id(driver, "first-strength"))
    card = driver.find_element(By.CSS_SELECTOR, f'.person-card[data-person="{number}"]')
    return Select(card.find_element(By.CSS_SELECTOR, ".person-strength select"))


def _in_painting_pixels(box: dict[str, int], scale: float) -> tuple[int, int, int]:
    """A result box (the result's pixels) in painting pixels, rounded as the page rounds (half up)."""
    return tuple(math.floor(box[name] / scale + 0.5) for name in "xyh")  # type: ignore[return-value]


def test_several_people_boxes_follow_the_result_and_each_has_a_style(
    live_stack: LiveStack, desktop: WebDriver, shots: Path
) -> None:
    """Two people, person 2 in a style and strength of their own, a picture 1.5 times the painting: the
    progress names the plan and each person's stages; after the result each box stands where the server
    placed that person (in painting pixels), still automatic; moving one box and making the picture again
    sends that box from where it was shown, and nothing for the other."""
    driver = desktop
    _open(driver, live_stack)
    _choose_portrait(driver, SAMPLE)
    _choose_painting(driver, "starry-night").click()
    _wait(driver, _by_id(driver, "people").is_displayed, what="Add a person")
    assert not _by_id(driver, "first-style-field").is_displayed()  # one person: the style of step 3
    _by_id(driver, "add-person-input").send_keys(str(SECOND))
    for number in (1, 2):
        box = _person_box(driver, number)
        _wait(driver, lambda box=box: _has_cutout(driver, box), what=f"person {number}'s cut-out")
    # Each person's own style: by default the job's, else any style step 3 offers; labelled per person.
    first, second = _person_style(driver, 1), _person_style(driver, 2)
    assert _by_id(driver, "style-people-hint").is_displayed()
    assert first.first_selected_option.text == "Same as everyone"
    offered = [option.get_attribute("value") for option in second.options]
    assert offered == [
        "",
        *(option.get_attribute("value") for option in Select(_by_id(driver, "style-select")).options),
    ]
    select = driver.find_element(By.CSS_SELECTOR, '.person-card[data-person="2"] .person-style select')
    label = driver.find_element(By.CSS_SELECTOR, f'label[for="{select.get_attribute("id")}"]')
    assert label.get_attribute("textContent") == "Style for person 2"
    second.select_by_value("great-wave")
    # ... and their own strength beside it: by default the job's (nothing sent), else a tenth at a time
    strength = _person_strength(driver, 2)
    assert _person_strength(driver, 1).first_selected_option.text == "Same as everyone"
    assert [option.get_attribute("value") for option in strength.options] == [
        "",
        *(f"{tenths / 10:g}" for tenths in range(10, -1, -1)),
    ]
    chooser = driver.find_element(By.CSS_SELECTOR, '.person-card[data-person="2"] .person-strength select')
    label = driver.find_element(By.CSS_SELECTOR, f'label[for="{chooser.get_attribute("id")}"]')
    assert label.get_attribute("textContent") == "Strength for person 2"
    strength.select_by_value("0.5")
    Select(_by_id(driver, "output-scale")).select_by_value("1.5")
    assert _axe(driver) == []
    (shots / "desktop-people-styles.png").write_bytes(_by_id(driver, "step-portrait").screenshot_as_png)

    driver.execute_script(RECORD_PROGRESS)
    job = _submit_and_wait(driver)
    own = {"style": "great-wave", "strength": 0.5}
    assert job["params"]["group"]["people"] == {"2": own}  # boxes: automatic
    assert job["stages"]["stylize"]["people"][1]["queue"] == "stylize.great-wave"
    about = _by_id(driver, "result-about").text
    assert (
        "; person 2 (in the style of The Great Wave off Kanagawa (Katsushika Hokusai), 50% strength) "
        in about
    )
    assert "person 1 standing" in about

    # The progress: the plan first, then each person's segment and stylize state, one mark per person.
    seen = _progress_seen(driver)
    assert seen and all(
        [stage["stage"] for stage in view["stages"]] == ["plan", "segment", "stylize", "composite"]
        for view in seen
    )
    assert any(view["stages"][0]["state"] == "succeeded" for view in seen)
    for index in (1, 2):  # segment, stylize
        marks = [view["stages"][index]["marks"] for view in seen if view["stages"][index]["marks"]]
        assert marks and all([person for person, _ in mark] == [1, 2] for mark in marks)
        assert marks[-1] == [[1, "succeeded"], [2, "succeeded"]]
    plan = driver.find_element(By.CSS_SELECTOR, '#stages li[data-stage="plan"] .stage-words')
    words = plan.get_attribute("textContent")  # the progress is hidden once the result is shown
    assert words == "Planning where each of you stands"

    # The boxes stand where the server placed each person (the result is 1.5 times the painting).
    people = job["result"]["people"]
    assert [person["placement"]["kind"] for person in people] == ["auto", "auto"]
    for person in people:
        box = _person_box(driver, person["person"])
        assert _box_values(box) == _in_painting_pixels(person["box"], 1.5), person
    readout = _by_id(driver, "box-readout").text
    assert (
        readout.startswith("Automatic placement: everyone is placed together") and "last picture" in readout
    )
    _screenshot(driver, shots / "desktop-people-followed.png")

    # Person 1 moved one step right: sent from where the box stood; person 2 still sends no box.
    box1 = _person_box(driver, 1)
    x1, y1, h1 = _box_values(box1)
    box1.send_keys(Keys.ARROW_RIGHT)
    width = _painting("starry-night").shape[1]
    again = _submit_and_wait(driver)
    moved = {"x": x1 + round(0.01 * width), "y": y1, "height": h1}
    assert again["params"]["group"]["people"] == {"1": moved, "2": own}
    placed = again["result"]["people"]
    assert placed[0]["placement"]["kind"] == "explicit" and placed[1]["placement"]["kind"] == "auto"
    assert _box_values(_person_box(driver, 2)) == _in_painting_pixels(placed[1]["box"], 1.5)
    assert _box_values(box1) == (moved["x"], moved["y"], moved["height"])  # the user's box stays theirs


def _group_boxes(driver: WebDriver) -> list[WebElement]:
    """The boxes of a group photo's people (people=all), once a picture has found them."""
    return driver.find_elements(By.CSS_SELECTOR, "#stage .group-box")


def _group_box(driver: WebDriver, number: int) -> WebElement:
    return driver.find_element(By.CSS_SELECTOR, f'#stage .group-box[data-person="{number}"]')


def _has_painted_ghost(driver: WebDriver, box: WebElement) -> bool:
    return bool(
        driver.execute_script(
            "const g = arguments[0].querySelector('.box-ghost');"
            "return !g.hidden && g.classList.contains('painted') && g.naturalWidth > 0",
            box,
        )
    )


def test_a_group_photos_people_can_be_placed_by_hand_after_a_picture(
    live_stack: LiveStack, desktop: WebDriver, tmp_path: Path, shots: Path
) -> None:
    """With "Everyone in the photo" the people are known only once a picture has found them. After it,
    each gets a numbered box where the picture put them (still automatic: sent as nothing) and a card with
    their own style and strength; person 2's box dragged, their style and strength chosen and person 2 put
    in front, the next job carries exactly person 2's box, style and strength and the order, and person 2
    stands where dragged. Unticking "Everyone in the photo" takes the boxes away, and ticking it again
    does not bring them back."""
    driver = desktop
    photo = tmp_path / "group.jpg"
    photo.write_bytes(group_photo())  # two portraits side by side, the second at 3/4 size
    _open(driver, live_stack)
    _choose_portrait(driver, photo)
    _choose_painting(driver, "great-wave").click()
    _wait(driver, _by_id(driver, "people").is_displayed, what="Everyone in the photo")
    _by_id(driver, "people-all").click()
    assert _by_id(driver, "group-note").is_displayed() and _group_boxes(driver) == []
    assert (
        not _by_id(driver, "person-box").is_displayed() and not _by_id(driver, "place-actions").is_displayed()
    )

    first = _submit_and_wait(driver)
    people = first["result"]["people"]
    assert [person["photo"] for person in people] == [1, 1]
    assert first["result"]["order"] == [2, 1]  # the smaller face behind
    boxes = [_group_box(driver, number) for number in (1, 2)]
    assert len(_group_boxes(driver)) == 2 and all(box.is_displayed() for box in boxes)
    for person, box in zip(people, boxes, strict=True):
        assert _box_values(box) == _in_painting_pixels(person["box"], 1), person
        assert box.get_attribute("role") == "group" and box.get_attribute("tabindex") == "0"
        label = f"Person {person['person']} (from group.jpg): their place in the painting."
        assert str(box.get_attribute("aria-label")).startswith(label)
    _wait(driver, lambda: all(_has_painted_ghost(driver, box) for box in boxes), what="the painted people")
    assert [box.find_element(By.CSS_SELECTOR, ".box-number").text for box in boxes] == ["1", "2"]
    assert (
        _by_id(driver, "group-placed-note").is_displayed() and not _by_id(driver, "group-note").is_displayed()
    )
    readout = _by_id(driver, "box-readout").text
    assert (
        readout.startswith("Automatic placement: everyone is placed together") and "last picture" in readout
    )
    front = Select(_by_id(driver, "order-select"))
    assert front.first_selected_option.text == "Person 1"  # in front in the last picture
    card = driver.find_element(By.CSS_SELECTOR, '#group-list .person-card[data-person="2"]')
    assert "Person 2" in card.text and "from group.jpg" in card.text
    assert card.find_elements(By.CSS_SELECTOR, "button") == []  # a photo's people cannot be removed
    style = card.find_element(By.CSS_SELECTOR, ".person-style select")
    label = driver.find_element(By.CSS_SELECTOR, f'label[for="{style.get_attribute("id")}"]')
    assert label.get_attribute("textContent") == "Style for person 2"
    assert _axe(driver) == []
    _screenshot(driver, shots / "desktop-group-boxes.png")

    # Person 2 dragged with the mouse and put in front, in a style of their own; person 1 left alone.
    box1, box2 = boxes
    before = _box_values(box1)
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", box2)
    x2, y2, h2 = _box_values(box2)
    ActionChains(driver).click_and_hold(box2).move_by_offset(-80, -40).release().perform()
    scale = _scale(driver, "great-wave")
    dragged = _box_values(box2)
    assert abs(dragged[0] - (x2 - 80 * scale)) <= 3 and abs(dragged[1] - (y2 - 40 * scale)) <= 3
    assert dragged[2] == h2 and _box_values(box1) == before
    assert _by_id(driver, "box-readout").text.startswith("Person 2: ")
    front.select_by_value("2")
    assert int(str(box2.value_of_css_property("z-index"))) > int(str(box1.value_of_css_property("z-index")))
    Select(style).select_by_value("starry-night")
    Select(card.find_element(By.CSS_SELECTOR, ".person-strength select")).select_by_value("0.5")
    (shots / "desktop-group-moved.png").write_bytes(_by_id(driver, "step-place").screenshot_as_png)

    again = _submit_and_wait(driver)
    group = again["params"]["group"]
    assert group["every_person"] is True
    moved = {"x": dragged[0], "y": dragged[1], "height": dragged[2]}
    assert group["people"] == {"2": {**moved, "style": "starry-night", "strength": 0.5}}  # none for 1
    assert group["order"] == [0, 1]  # stored 0-based: person 1 at the back, person 2 in front
    placed = again["result"]["people"]
    assert [person["placement"]["kind"] for person in placed] == ["auto", "explicit"]
    assert (placed[1]["box"]["x"], placed[1]["box"]["y"], placed[1]["box"]["h"]) == dragged
    assert again["result"]["order"] == [1, 2]
    assert _box_values(box2) == dragged  # the user's box stays theirs; person 1's follows the picture
    assert _box_values(box1) == _in_painting_pixels(placed[0]["box"], 1)
    assert "person 2 (in the style of The Starry Night" in _by_id(driver, "result-about").text
    _screenshot(driver, shots / "desktop-group-again.png")
    # The same page at a phone's width: the cards and the boxes fit, nothing runs off the side.
    metrics = {"width": PHONE[0], "height": PHONE[1], "deviceScaleFactor": 2, "mobile": True}
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
    assert driver.execute_script("return document.documentElement.scrollWidth") <= PHONE[0]
    _screenshot(driver, shots / "phone-group-boxes.png")
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    # Unticked, the boxes and cards go (they were the last picture's people); ticked again, they stay gone.
    _by_id(driver, "people-all").click()
    assert _group_boxes(driver) == [] and not _by_id(driver, "group-list").is_displayed()
    assert _by_id(driver, "person-box").is_displayed() and not _by_id(driver, "order-field").is_displayed()
    _by_id(driver, "people-all").click()
    assert _group_boxes(driver) == [] and _by_id(driver, "group-note").is_displayed()
    assert _csp_violations(driver) == []


def _phone_photo(source: Path, target: Path, seed: int, *, exif_turned: bool = False) -> Path:
    """A phone camera's photo of the person in `source`: 12 megapixels (3000 x 4000, or 4000 x 3000 for a
    landscape one), with sensor noise, at JPEG quality 95, so each is several megabytes. `exif_turned`
    stores the pixels on their side with EXIF orientation 6, as phones do: it must be sent upright."""
    with Image.open(source) as image:
        rgb = image.convert("RGB")
    landscape = rgb.width > rgb.height
    ratio = 4 / 3 if landscape else 3 / 4
    width = min(rgb.width, round(rgb.height * ratio))
    height = round(width / ratio)
    left, top = (rgb.width - width) // 2, (rgb.height - height) // 2
    size = (4000, 3000) if landscape else (3000, 4000)
    big = np.asarray(rgb.crop((left, top, left + width, top + height)).resize(size, Image.Resampling.BICUBIC))
    noisy = np.clip(big + np.random.default_rng(seed).normal(0, 8, big.shape), 0, 255).astype(np.uint8)
    photo = Image.fromarray(noisy)
    if exif_turned:
        exif = Image.Exif()
        exif[0x0112] = 6  # the camera's pixels, to be turned 90 degrees clockwise for viewing
        photo.transpose(Image.Transpose.ROTATE_90).save(target, "JPEG", quality=95, exif=exif)
    else:
        photo.save(target, "JPEG", quality=95)
    return target


UPLOAD_LIMIT = 7_000_000  # per file; the request: 2 x that + 64 KiB, as the gateway allows


def test_six_phone_photos_are_shrunk_to_fit_one_request(
    live_stack: LiveStack, phone: WebDriver, spawn: Spawn, tmp_path: Path, shots: Path
) -> None:
    """Six 12-megapixel phone photos, 33 MB together, to a gateway that takes 14 MB in one request: the
    page sends each as a 2560 px JPEG (upright), the job succeeds, and the phone's progress stays short.
    Photos it cannot shrink (TIFF) and cannot fit are named before anything is sent."""
    port = free_port()
    env = {**live_stack.env, "SITTER_PORT": str(port), "SITTER_MAX_UPLOAD_BYTES": str(UPLOAD_LIMIT)}
    start_gateway(spawn, env, name="small-upload-gateway")
    small = LiveStack(f"http://127.0.0.1:{port}", live_stack.redis_url, env)
    photos_dir = gallery.SAMPLES_DIR.parents[2] / "eval/composite/photos"
    sources = [
        SAMPLE,
        SECOND,
        photos_dir / "woman-portrait.jpg",
        photos_dir / "city-portrait.jpg",
        SAMPLE,
        SECOND,
    ]
    photos = [
        _phone_photo(source, tmp_path / f"IMG_{index:04d}.jpg", index, exif_turned=index == 6)
        for index, source in enumerate(sources, start=1)
    ]
    sizes = [photo.stat().st_size for photo in photos]
    assert sum(sizes) > 2 * (2 * UPLOAD_LIMIT + 64 * 1024), sizes  # far over what one request may carry

    driver = phone
    _open(driver, small)
    _choose_portrait(driver, photos[0])
    _tap(driver, _choose_painting(driver, "great-wave"))
    _wait(driver, _by_id(driver, "people").is_displayed, what="Add a person")
    _by_id(driver, "add-person-input").send_keys("\n".join(str(photo) for photo in photos[1:]))
    for number in range(1, 7):
        box = _person_box(driver, number)
        _wait(driver, lambda box=box: _has_cutout(driver, box), 60, f"person {number}'s cut-out")
    assert not _by_id(driver, "portrait-error").is_displayed()
    driver.execute_script(RECORD_PROGRESS)
    job = _submit_and_wait(driver, timeout=180)
    assert len(job["result"]["people"]) == 6

    # What the server stored: each photo 2560 px long, a JPEG, upright (the turned one stands, too).
    blobs = blob_store(Settings(redis_url=live_stack.redis_url))
    sent = [blobs.get(blob_key(job["id"], photo_blob(number))) for number in range(1, 7)]
    print(f"six phone photos: {sum(sizes) / 2**20:.1f} MB chosen, {sum(map(len, sent)) / 2**20:.1f} MB sent")
    for number, data in enumerate(sent, start=1):
        with Image.open(io.BytesIO(data)) as stored:
            assert stored.format == "JPEG" and max(stored.size) == 2560, (number, stored.size)
            assert (stored.width > stored.height) == (number == 4), (number, stored.size)  # 4: landscape
            assert stored.getexif().get(0x0112, 1) == 1  # no turn left to apply

    # The progress on a 390 px phone: six marks per person stage, on one line, nothing wider than the screen.
    seen = _progress_seen(driver)
    full = [
        view for view in seen if len(view["stages"][1]["marks"]) == 6 and len(view["stages"][2]["marks"]) == 6
    ]
    assert full, "the progress never showed each person"
    assert all(view["pageWidth"] <= PHONE[0] and view["height"] < PHONE[1] / 2 for view in full), full[-1]

    # Photos this browser cannot shrink (TIFF), together too large for one request: named, nothing sent.
    driver.get(small.base_url + "/")
    _wait(driver, lambda: len(driver.find_elements(By.CSS_SELECTOR, ".painting")) == len(gallery.paintings()))
    tiffs = []
    for name in ("scan-a.tif", "scan-b.tif", "scan-c.tif"):
        with Image.open(SAMPLE) as image:
            image.convert("RGB").resize((1200, 1500)).save(tmp_path / name)  # uncompressed: 5.4 MB
        tiffs.append(tmp_path / name)
    _choose_portrait(driver, tiffs[0])
    _tap(driver, _choose_painting(driver, "great-wave"))
    _wait(driver, _by_id(driver, "people").is_displayed, what="Add a person")
    _by_id(driver, "add-person-input").send_keys(f"{tiffs[1]}\n{tiffs[2]}")
    button = _by_id(driver, "submit-button")
    _wait(driver, button.is_enabled, 30, "the TIFF photos checked")
    button.click()
    error = _by_id(driver, "portrait-error")
    _wait(driver, error.is_displayed, 30, "the photos named as too large")
    assert error.text.startswith("These photos are too large to send together:"), error.text
    assert "The largest photos: “scan-" in error.text and "can't make TIFF photos smaller" in error.text
    sent = driver.execute_script(
        "return performance.getEntriesByType('resource').filter((e) => e.name.endsWith('/v1/jobs')).length"
    )
    assert sent == 0 and not _by_id(driver, "submit-error").is_displayed()
    _screenshot(driver, shots / "phone-photos-too-large.png")


def _touch_drag(driver: WebDriver, element: WebElement, dx: int, dy: int) -> None:
    """A one-finger drag from the element's centre, sent as touch input (Chromium fires touch events)."""
    actions = ActionBuilder(driver, mouse=PointerInput(interaction.POINTER_TOUCH, "finger"))
    finger = actions.pointer_action
    finger.move_to(element).pointer_down().pause(0.05)
    for _ in range(5):  # relative moves: the element itself moves under the finger
        finger.move_by(dx // 5, dy // 5).pause(0.02)
    finger.pointer_up()
    actions.perform()


def _tap(driver: WebDriver, element: WebElement) -> None:
    actions = ActionBuilder(driver, mouse=PointerInput(interaction.POINTER_TOUCH, "finger"))
    actions.pointer_action.move_to(element).pointer_down().pause(0.05).pointer_up()
    actions.perform()


def _heic(source: Path, target: Path) -> Path:
    """The sample portrait as an iPhone would send it (HEIC), which Chromium cannot show."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    with Image.open(source) as image:
        image.convert("RGB").save(target, format="HEIF", quality=85)
    return target


# A phone's share sheet, as Chrome on Android offers it (headless Chromium on Linux has none): it takes
# files, and records what the page hands it.
STUB_SHARE_SHEET = """
window.shared = [];
navigator.canShare = (data) => Boolean(data && data.files && data.files.length);
navigator.share = async (data) => {
  window.shared.push(data.files.map((file) => ({name: file.name, type: file.type, size: file.size})));
};
"""


def test_phone_touch_flow(live_stack: LiveStack, phone: WebDriver, tmp_path: Path, shots: Path) -> None:
    driver = phone
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": STUB_SHARE_SHEET})
    _open(driver, live_stack)
    assert _axe(driver) == []
    assert driver.execute_script("return window.innerWidth") == PHONE[0]
    assert driver.execute_script("return matchMedia('(pointer: coarse)').matches")
    assert _by_id(driver, "portrait-camera").get_attribute("capture") == "user"
    assert driver.find_element(
        By.CSS_SELECTOR, "label[for=portrait-camera]"
    ).is_displayed()  # "Take a selfie"
    _choose_portrait(driver, _heic(SAMPLE, tmp_path / "IMG_0001.HEIC"))
    _wait(driver, lambda: "HEIC" in _by_id(driver, "portrait-placeholder").text, what="the HEIC note")
    assert not _by_id(driver, "portrait-error").is_displayed()
    _tap(driver, _choose_painting(driver, "great-wave"))
    box = _by_id(driver, "person-box")
    _wait(driver, box.is_displayed)
    _wait(driver, lambda: driver.find_elements(By.CSS_SELECTOR, "#spots .spot"), what="the spots")
    # this browser cannot show a HEIC, but the server can: the box shows the cut-out it sent back
    _wait_for_cutout_ghost(driver, "the HEIC's preview")
    assert "found you" in _by_id(driver, "portrait-name").text
    aspect = _ghost_aspect(driver)
    driver.execute_script(
        "window.touches = 0;"
        "document.getElementById('person-box').addEventListener('touchstart', () => window.touches++);"
    )
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)

    _touch_drag(driver, box, 40, -30)
    x, y, h = _placement(driver)
    _touch_drag(driver, _by_id(driver, "resize-handle"), 25, 0)  # sideways on the handle also grows
    x2, y2, h2 = _placement(driver)
    assert driver.execute_script("return window.touches") == 2  # real touch events, not mouse ones
    assert x2 == x and h2 > h and abs((y2 + h2) - (y + h)) <= 1
    scale = _scale(driver, "great-wave")
    width = _painting("great-wave").shape[1]
    origin = driver.execute_script("return location.origin")
    best = requests.get(f"{origin}/v1/paintings/great-wave", timeout=10).json()["spots"][0]
    auto_w = round(best["height"] * aspect)
    auto_x = round(min(max(best["x"] + best["width"] / 2 - auto_w / 2, 0), width - auto_w))
    assert abs(x - (auto_x + 40 * scale)) <= 3

    # Nothing wider than the phone: no sideways scrolling of the page (the gallery strip scrolls itself).
    assert driver.execute_script("return document.documentElement.scrollWidth") <= PHONE[0]
    _screenshot(driver, shots / "phone-placed.png")

    job = _submit_and_wait(driver)
    box_doc = job["result"]["box"]
    assert (box_doc["x"], box_doc["y"], box_doc["h"]) == (x2, y2, h2)
    _wait_in_view(driver, "result-img")  # scrolled to, below the editor on a phone
    _journey(driver, shots, "phone")
    _view_shot(driver, shots / "phone-result-view.png")
    assert driver.execute_script("return document.documentElement.scrollWidth") <= PHONE[0]
    _screenshot(driver, shots / "phone-result.png")
    link = _by_id(driver, "download-link").get_attribute("href")
    assert link
    _check_picture(_page_bytes(driver, link), "great-wave", box_doc)
    assert _axe(driver) == []

    # The share sheet gets the picture itself, under the download's readable name.
    name = f"sitter-great-wave-{job['created_at'][:10]}.png"
    assert _by_id(driver, "download-link").get_attribute("download") == name
    share = _by_id(driver, "share-button")
    assert share.is_displayed()
    _tap(driver, share)
    _wait(driver, lambda: driver.execute_script("return window.shared.length"), what="the share sheet")
    [[shared]] = driver.execute_script("return window.shared")
    assert shared["name"] == name and shared["type"] == "image/png" and shared["size"] > 10_000


DROP_TEXT_FILE = """
const files = new DataTransfer();
files.items.add(new File(["not a photo"], "notes.txt", {type: "text/plain"}));
const zone = document.getElementById("dropzone");
zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: files, bubbles: true, cancelable: true}));
zone.dispatchEvent(new DragEvent("drop", {dataTransfer: files, bubbles: true, cancelable: true}));
"""


def test_bad_files_and_failed_jobs_are_explained(
    live_stack: LiveStack, desktop: WebDriver, tmp_path: Path, shots: Path
) -> None:
    driver = desktop
    _open(driver, live_stack)
    error = _by_id(driver, "portrait-error")

    # Not an image at all, dropped onto the photo box: refused at once, before any upload.
    driver.execute_script(DROP_TEXT_FILE)
    _wait(driver, error.is_displayed)
    assert "“notes.txt” isn't a picture we can read" in error.text
    _choose_painting(driver, "starry-night").click()
    assert not _by_id(driver, "submit-button").is_enabled()
    _screenshot(driver, shots / "error-local.png")

    # An image the browser could show but the server cannot read (SVG): not among the formats, so it is
    # refused at once too, naming the formats that are.
    svg = tmp_path / "drawing.svg"
    svg.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="30" height="40"><rect width="30" height="40"/></svg>'
    )
    _choose_portrait(driver, svg)
    _wait(driver, lambda: "drawing.svg" in error.text, what="the SVG refused")
    formats = "Choose a JPEG, PNG, WebP, HEIC, GIF, BMP or TIFF photo"
    assert "“drawing.svg” isn't a picture we can read" in error.text and formats in error.text
    button = _by_id(driver, "submit-button")
    assert not button.is_enabled()
    assert _by_id(driver, "portrait-formats").text == "Photos: JPEG, PNG, WebP, HEIC, GIF, BMP or TIFF."

    # A file of an accepted kind that this browser cannot preview (TIFF) but is broken: the server's
    # cut-out preview refuses it at once, in plain words at the photo, before any job.
    broken = tmp_path / "scan.tif"
    broken.write_bytes(b"II*\x00" + b"\x00" * 60)
    _choose_portrait(driver, broken)
    _wait(driver, error.is_displayed, what="the server's error")
    assert formats in error.text and "supported format" in error.text, error.text
    assert not button.is_enabled() and not _by_id(driver, "progress").is_displayed()
    _screenshot(driver, shots / "error-server.png")

    # A photo with no person in it (a coffee cup): refused at the photo step by the preview, no job made.
    _choose_portrait(driver, Path(__file__).parent / "data/person_check/no-person-coffee.jpg")
    _wait(driver, error.is_displayed, what="the no-person refusal")
    assert "could not find a person in this photo" in error.text
    assert not button.is_enabled() and not _by_id(driver, "box-ghost").is_displayed()
    assert not _by_id(driver, "result").is_displayed()
    _screenshot(driver, shots / "error-no-person.png")

    # Accepted by the gateway (and its preview) but too big for the workers: the job fails, and the page
    # says where.
    side = int(WORKER_MAX_PIXELS**0.5) + 100
    big = tmp_path / "big.jpg"
    with Image.open(SAMPLE) as sample:
        sample.convert("RGB").resize((side, side)).save(big)
    _choose_portrait(driver, big)
    _wait(driver, lambda: "found you" in _by_id(driver, "portrait-name").text, what="the preview")
    _wait(driver, button.is_enabled)
    started = time.monotonic()
    button.click()
    failure = _by_id(driver, "submit-error")
    _wait(driver, failure.is_displayed, JOB_TIMEOUT, "the job to fail")
    assert time.monotonic() - started < JOB_TIMEOUT
    assert re.search(r"Something went wrong while (cutting you out|repainting you)", failure.text)
    assert not error.is_displayed()
    _screenshot(driver, shots / "error-job-failed.png")


@pytest.fixture
def other_origin(tmp_path: Path) -> Iterator[str]:
    """A page on another origin (another port), as a third-party web app calling the API would be."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>another app</title>")
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


CROSS_ORIGIN_CALL = """
const [url, done] = arguments.length > 2 ? [arguments[0], arguments[2]] : arguments;
const key = arguments.length > 2 ? {"X-API-Key": arguments[1]} : {};
fetch(url, {headers: {"Idempotency-Key": "preflighted", ...key}})
  .then((response) => done({status: response.status, type: response.headers.get("Content-Type")}))
  .catch((error) => done({error: String(error)}));
"""


def test_cors_lets_configured_origins_call_the_api(
    live_stack: LiveStack, spawn: Spawn, desktop: WebDriver, other_origin: str
) -> None:
    port = free_port()
    env = {**live_stack.env, "SITTER_PORT": str(port), "SITTER_CORS_ORIGINS": other_origin}
    start_gateway(spawn, env, name="cors-gateway")
    desktop.get(other_origin + "/")
    missing = f"/v1/jobs/{'0' * 32}"  # a header that needs a preflight, and an answer the page must read
    allowed = desktop.execute_async_script(CROSS_ORIGIN_CALL, f"http://127.0.0.1:{port}{missing}")
    assert allowed == {"status": 404, "type": "application/problem+json"}
    refused = desktop.execute_async_script(CROSS_ORIGIN_CALL, live_stack.base_url + missing)
    assert "Failed to fetch" in refused["error"]  # the same API without the origin configured

    # With API keys, the preflight (which never carries the key) must still pass, then the keyed call works.
    keyed_port = free_port()
    keyed = {**env, "SITTER_PORT": str(keyed_port), "SITTER_API_KEYS": "cross-origin-key"}
    start_gateway(spawn, keyed, name="cors-keyed-gateway")
    url = f"http://127.0.0.1:{keyed_port}{missing}"
    assert desktop.execute_async_script(CROSS_ORIGIN_CALL, url, "cross-origin-key") == {
        "status": 404,
        "type": "application/problem+json",
    }
    assert desktop.execute_async_script(CROSS_ORIGIN_CALL, url, "wrong-key")["status"] == 401


def _tab_stops(driver: WebDriver, count: int) -> list[str]:
    """The first `count` Tab stops from the top of the page: id, else class, of each focused element."""
    driver.execute_script("document.activeElement.blur(); window.scrollTo(0, 0)")
    body = driver.find_element(By.TAG_NAME, "body")
    body.click()
    stops = []
    for _ in range(count):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        stops.append(
            driver.execute_script("const e = document.activeElement; return e.id || e.className || e.tagName")
        )
    return stops


def test_keyboard_progress_and_cancel(live_stack: LiveStack, desktop: WebDriver, shots: Path) -> None:
    driver = desktop
    _open(driver, live_stack)
    # Tab: the photo button, then the gallery as one stop (not 13), then on; never the camera input,
    # which has no button on a desktop.
    stops = _tab_stops(driver, 4)
    assert stops == ["portrait-input", "painting", "painting-input", "style-select"], stops
    # In the gallery, arrow keys move the choice (a radio group), and the chosen card is the Tab stop.
    cards = driver.find_elements(By.CSS_SELECTOR, ".painting")
    cards[0].send_keys(Keys.ARROW_RIGHT)
    assert driver.switch_to.active_element == cards[1] and cards[1].get_attribute("aria-checked") == "true"
    assert [card.get_attribute("tabindex") for card in cards[:3]] == ["-1", "0", "-1"]
    cards[1].send_keys(Keys.END)
    assert cards[-1].get_attribute("aria-checked") == "true"

    # A first picture, then a second run that is cancelled: the first stays on show, the cancel is news
    # (not a red error).
    _choose_portrait(driver, SAMPLE)
    _choose_painting(driver, "starry-night").click()
    first = _submit_and_wait(driver)
    marker = driver.execute_script(
        "return getComputedStyle(document.querySelector('#details summary'), '::before').borderLeftWidth"
    )
    assert marker != "0px"  # "Show how it was made" shows a disclosure triangle
    Select(_by_id(driver, "style-select")).select_by_value(UNSERVED_STYLE)  # no worker: stays queued
    assert _by_id(driver, "stale-note").text.startswith("This was made with the earlier style.")
    _by_id(driver, "submit-button").click()
    progress = _by_id(driver, "progress")
    _wait(driver, progress.is_displayed, what="the progress view")
    _wait(driver, lambda: float(_by_id(driver, "elapsed").text) >= 0.5, what="the elapsed time to run")
    # queued, or running once the segmenter has picked up its half; said once, in words for people
    title = _by_id(driver, "progress-title")
    waiting = re.compile(r"Waiting for a free painter( \(\d+ pictures? ahead of yours\))?…|Working on it…")
    _wait(driver, lambda: waiting.fullmatch(title.text) is not None, what=title.text)
    page = driver.find_element(By.TAG_NAME, "body").text
    assert page.count("Working on it") <= 1 and "worker" not in page.lower()
    states = [item.text for item in driver.find_elements(By.CSS_SELECTOR, "#stages li .state")]
    assert states[1:] == ["waiting", "waiting"]
    assert not _by_id(driver, "submit-button").is_enabled()  # one job at a time
    _wait_in_view(driver, "progress")
    _screenshot(driver, shots / "desktop-progress.png")

    _by_id(driver, "cancel-button").click()
    message = _by_id(driver, "submit-info")
    _wait(driver, message.is_displayed, what="the cancel message")
    assert message.text.startswith("Cancelled.") and not progress.is_displayed()
    assert not _by_id(driver, "submit-error").is_displayed()
    assert _by_id(driver, "result").is_displayed()
    assert _by_id(driver, "result").get_attribute("data-job") == first["id"]
    assert driver.execute_script("return location.hash") == f"#job={first['id']}"
    _wait(driver, _by_id(driver, "submit-button").is_enabled, what="the form to be usable again")
    _screenshot(driver, shots / "desktop-cancelled.png")


IMAGE_THROUGH_API = """
const [url, done] = arguments;
import("/static/api.js")
  .then(({ api }) => api.image(url))
  .then((blob) => done({ type: blob.type }))
  .catch((error) => done({ error: String(error) }));
"""


def test_a_server_with_api_keys_asks_for_one_and_then_works(
    live_stack: LiveStack, desktop: WebDriver, spawn: Spawn, shots: Path
) -> None:
    """A second gateway with keys, in front of the live stack's workers: the page asks for the key, keeps
    it in this browser, sends it with every job call and image download, and the picture arrives."""
    port = free_port()
    env = {**live_stack.env, "SITTER_PORT": str(port), "SITTER_API_KEYS": "browser-key"}
    start_gateway(spawn, env, name="keyed-gateway")
    keyed = LiveStack(f"http://127.0.0.1:{port}", live_stack.redis_url, env)
    driver = desktop
    _open(driver, keyed)
    assert "API key" not in driver.find_element(By.TAG_NAME, "body").text  # not before it is needed
    _choose_portrait(driver, SAMPLE)
    _choose_painting(driver, "starry-night").click()
    button = _by_id(driver, "submit-button")
    _wait(driver, button.is_enabled, what="the submit button to enable")
    button.click()
    error = _by_id(driver, "submit-error")
    _wait(driver, error.is_displayed, JOB_TIMEOUT, "the missing key to be explained")
    assert "needs an API key" in error.text
    assert _by_id(driver, "key-form").is_displayed()  # shown for the user...
    assert driver.switch_to.active_element == _by_id(driver, "api-key")  # ...with the field focused
    _screenshot(driver, shots / "desktop-key-asked.png")

    _by_id(driver, "api-key").send_keys("browser-key", Keys.ENTER)
    assert _by_id(driver, "key-saved").is_displayed() and not error.is_displayed()
    assert not _by_id(driver, "key-form").is_displayed()
    job = _submit_and_wait(driver, headers={"X-API-Key": "browser-key"})
    assert requests.get(f"{keyed.base_url}/v1/jobs/{job['id']}", timeout=10).status_code == 401
    picture = _page_bytes(driver, str(_by_id(driver, "result-img").get_attribute("src")))
    _check_picture(picture, "starry-night", job["result"]["box"])
    # A link naming another host (a forged Host header once made them) is fetched from the page's own
    # origin, key and all, never from that host: the key goes nowhere else.
    foreign = f"http://elsewhere.invalid:{port}/v1/jobs/{job['id']}/result"
    fetched = driver.execute_async_script(IMAGE_THROUGH_API, foreign)
    assert fetched == {"type": "image/png"}, fetched
    _by_id(driver, "details").click()  # the intermediates come through the key too
    _wait(
        driver, lambda: driver.execute_script("return document.getElementById('mask-img').naturalWidth > 0")
    )
    driver.refresh()  # remembered in this browser, and the result (#job=) restored with it
    _wait(driver, lambda: _by_id(driver, "result").get_attribute("data-job") == job["id"], what="restored")
    assert "saved in this browser" in _by_id(driver, "key-saved").text
    _screenshot(driver, shots / "desktop-key-saved.png")

    # The link opened without the key (forgotten here; another browser alike): asked for, then shown.
    _by_id(driver, "key-forget").click()
    assert not _by_id(driver, "key-saved").is_displayed()
    driver.refresh()
    _wait(driver, _by_id(driver, "key-form").is_displayed, what="the key asked for the link")
    assert "needs an API key to show that picture" in _by_id(driver, "submit-error").text
    _by_id(driver, "api-key").send_keys("browser-key", Keys.ENTER)
    _wait(driver, lambda: _by_id(driver, "result").get_attribute("data-job") == job["id"], what="shown")
    _wait_in_view(driver, "result-img")
