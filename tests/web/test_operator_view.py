"""The operator view in a real browser (headless Chromium), served by an agent running on the
DIAMENTOR simulator: what the radiographer sees when the rate crosses the level, what happens when
someone acknowledges with and without a login, and what the screen says when the agent stops.

Each state is saved as a screenshot in the test's tmp dir. Every wait polls the page with a deadline.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from simulators.mosquitto import free_port
from tests.fakes import FakeKeyring, Subscriber
from tests.web.harness import HotLab, LiveRoom, text_of, until

DEADLINE_S = 30.0
ROOT = Path(__file__).resolve().parents[2]


def wait(browser: webdriver.Chrome, script: str, what: str) -> None:
    """Poll a JS expression on the page until it is true."""
    WebDriverWait(browser, DEADLINE_S, poll_frequency=0.1).until(
        lambda b: b.execute_script(f"return Boolean({script});"), message=what
    )


def banner_shown(browser: webdriver.Chrome) -> bool:
    return bool(browser.execute_script("return !document.getElementById('alarm-banner').hidden;"))


def open_page(browser: webdriver.Chrome, url: str) -> None:
    browser.get(url)
    wait(browser, "document.getElementById('monitor-state').innerText === 'LIVE'", "the page to go live")
    wait(browser, "document.getElementById('rate-value').innerText !== '—'", "a live dose rate")


def login(browser: webdriver.Chrome, operator: str, secret: str) -> None:
    browser.find_element(By.ID, "login-id").clear()
    browser.find_element(By.ID, "login-id").send_keys(operator)
    browser.find_element(By.ID, "login-secret").send_keys(secret)
    browser.find_element(By.ID, "login-button").click()


def acknowledge_button(browser: webdriver.Chrome) -> webdriver.remote.webelement.WebElement:
    return browser.find_element(By.CSS_SELECTOR, "#alarm-list li[data-type='fluoro_dose_rate'] button.ack")


def click_acknowledge(browser: webdriver.Chrome) -> None:
    """Click the alarm's Acknowledge button as a user would. The alarm list is redrawn on every state
    update (a few a second), so the button found may be replaced before the click lands: find it again
    (a real user clicks what is on the screen; the element handle is the test's artefact)."""
    for _ in range(20):
        try:
            acknowledge_button(browser).click()
            return
        except StaleElementReferenceException:
            continue
    raise AssertionError("the Acknowledge button kept being redrawn under the click")


def test_the_banner_appears_above_the_level_and_an_operator_acknowledges_it(
    room: LiveRoom, browser: webdriver.Chrome, records: Subscriber, tmp_path: Path
) -> None:
    open_page(browser, room.start())
    assert not banner_shown(browser)
    assert float(text_of(browser, "rate-value")) < 25
    assert "25 mGy/min" in text_of(browser, "rate-level")
    browser.save_screenshot(tmp_path / "1-below-level.png")

    room.play(60.0)
    wait(browser, "!document.getElementById('alarm-banner').hidden", "the alarm banner")
    assert "above the 25 mGy/min guidance level" in text_of(browser, "alarm-list")
    assert text_of(browser, "alarm-headline").startswith("ALARM")
    browser.save_screenshot(tmp_path / "2-alarm.png")
    if os.environ.get("DOSEEDGE_DOCS_SCREENSHOT"):  # refresh the README's picture of this state
        metrics = {"width": 1280, "height": 1000, "deviceScaleFactor": 1, "mobile": False}
        browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        wait(browser, "window.innerHeight > 900", "the taller window")
        browser.save_screenshot(ROOT / "docs" / "img" / "operator-view.png")

    click_acknowledge(browser)
    wait(browser, "document.getElementById('login-dialog').open", "the login dialog")
    login(browser, "op-1", "wrong secret")
    wait(browser, "document.getElementById('login-error').innerText !== ''", "the refused login")
    login(browser, "op-1", "correct horse")
    wait(browser, "document.getElementById('login-state').innerText.includes('op-1')", "the login")
    click_acknowledge(browser)
    wait(browser, "document.querySelector('#alarm-list li.acknowledged') !== null", "the acknowledgement")
    assert banner_shown(browser)  # the rate is still above the level: acknowledged, not gone
    assert "ALARM ACKNOWLEDGED" in text_of(browser, "alarm-headline")
    assert "by op-1" in text_of(browser, "alarm-list")
    assert browser.find_elements(By.CSS_SELECTOR, "#alarm-list button.ack") == []
    browser.save_screenshot(tmp_path / "3-acknowledged.png")

    # recorded: the alarm's acknowledgement and the command result, both on the broker
    assert records.wait_for(
        lambda s: [b for b in s.bodies("/alarm") if b["state"] == "acknowledged"], DEADLINE_S
    )
    acked = next(b for b in records.bodies("/alarm") if b["state"] == "acknowledged")
    assert acked["type"] == "fluoro_dose_rate" and acked["acknowledged_by"] == "op-1 via web"
    assert records.wait_for(lambda s: s.bodies("/cmd_result/alarm_ack"), DEADLINE_S)
    result = records.bodies("/cmd_result/alarm_ack")[-1]
    assert result["ok"] is True and result["channel"] == "web"
    assert result["by"] == "op-1"

    room.play(5.0)
    wait(browser, "document.getElementById('alarm-banner').hidden", "the banner to clear with the rate")
    browser.save_screenshot(tmp_path / "4-cleared.png")


def test_an_acknowledge_without_login_is_refused(
    room: LiveRoom, browser: webdriver.Chrome, records: Subscriber, tmp_path: Path
) -> None:
    room.play(60.0)
    open_page(browser, room.start())
    wait(browser, "document.querySelector('#alarm-list button.ack') !== null", "the alarm to acknowledge")
    click_acknowledge(browser)
    wait(browser, "document.getElementById('action-message').innerText.startsWith('Refused')", "refusal")
    assert "log in" in text_of(browser, "action-message")
    browser.save_screenshot(tmp_path / "refused.png")

    web = room.agent.web
    assert web is not None
    assert room.on_loop(lambda: web.counters["actions_refused"]) == 1
    book = room.on_loop(lambda: [e.acknowledged for e in room.agent.pipeline.alarm_book.active.values()])
    assert book == [None]  # still unacknowledged
    # the page still offers the acknowledgement, and nothing was recorded as acknowledged
    assert browser.find_elements(By.CSS_SELECTOR, "#alarm-list button.ack")
    assert not [b for b in records.bodies("/alarm") if b["state"] == "acknowledged"]
    assert records.bodies("/cmd_result/alarm_ack") == []


def test_the_page_says_monitor_down_when_the_agent_stops(
    room: LiveRoom, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    room.play(60.0)
    open_page(browser, room.start())
    wait(browser, "!document.getElementById('alarm-banner').hidden", "the alarm banner")
    room.stop()
    wait(browser, "document.getElementById('monitor-state').innerText === 'MONITOR DOWN'", "MONITOR DOWN")
    until(lambda: "MONITOR DOWN" in text_of(browser, "down-banner"), 5.0, "the down banner")
    assert "not live" in text_of(browser, "down-reason")
    # no number and no alarm from before stays on screen as if it were now
    assert not browser.find_element(By.ID, "rate-value").is_displayed()  # hidden with the whole view
    assert browser.execute_script("return document.getElementById('rate-value').textContent") == "—"
    assert not browser.find_element(By.ID, "alarm-banner").is_displayed()
    assert text_of(browser, "alarm-list") == ""
    browser.save_screenshot(tmp_path / "monitor-down.png")


def test_a_hung_agent_shows_monitor_down_until_it_answers_again(
    room: LiveRoom, browser: webdriver.Chrome, tmp_path: Path
) -> None:
    open_page(browser, room.start())
    release = threading.Event()
    room.hang(release)  # the socket stays open, nothing more comes: the page's heartbeat watch
    try:
        wait(browser, "document.getElementById('monitor-state').innerText === 'MONITOR DOWN'", "MONITOR DOWN")
        assert "No update from the dose monitor" in text_of(browser, "down-reason")
        assert not browser.find_element(By.ID, "rate-value").is_displayed()
        browser.save_screenshot(tmp_path / "hung.png")
    finally:
        release.set()
    wait(browser, "document.getElementById('monitor-state').innerText === 'LIVE'", "LIVE again")
    assert browser.find_element(By.ID, "rate-value").is_displayed()


def test_the_hot_lab_page_takes_the_context_and_shows_the_measurement_with_its_checks(
    tmp_path: Path, browser: webdriver.Chrome, keyring: FakeKeyring
) -> None:
    lab = HotLab(tmp_path, free_port(), keyring)
    try:
        open_hotlab(browser, lab)
        hotlab = lab.room.agent.pipeline.hotlab
        assert hotlab is not None
        assert "Constancy MISSING" in text_of(browser, "qc")
        row = hotlab.data.table5.lookup("bone_imaging", "Tc-99m", "phosphonate").rows[0].row
        browser.find_element(By.ID, "login-open").click()
        login(browser, "op-1", "correct horse")
        wait(browser, "document.getElementById('login-state').innerText.includes('op-1')", "the login")
        wait(browser, "document.querySelectorAll('#ctx-exam option').length > 1", "the exams")
        Select(browser.find_element(By.ID, "ctx-exam")).select_by_value(str(row))
        browser.find_element(By.ID, "ctx-weight").send_keys("70")
        browser.find_element(By.ID, "ctx-activity").send_keys("540")
        browser.execute_script(  # in 15 minutes, in the browser's own time zone
            "const d = new Date(Date.now() + 15 * 60000); d.setSeconds(0, 0);"
            "const p = (n) => String(n).padStart(2, '0');"
            "document.getElementById('ctx-time').value = `${d.getFullYear()}-${p(d.getMonth() + 1)}-`"
            "+ `${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;"
        )
        browser.find_element(By.ID, "ctx-send").click()
        wait(browser, "document.getElementById('context-now').innerText.includes('op-1')", "the context")
        assert "bone imaging" in text_of(browser, "context-now").replace("_", " ")
        assert lab.room.on_loop(lambda: hotlab.context.prescribed_activity_mbq) == 540

        lab.start_session()  # background, check source, then the 555 MBq syringe at rest
        wait(browser, "document.querySelector('#recent li .ok') !== null", "the measurement and its checks")
        recent = text_of(browser, "recent")
        assert "Tc-99m" in recent and "prescribed" in recent and "→ ok" in recent
        browser.save_screenshot(tmp_path / "hotlab.png")
    finally:
        lab.room.stop()


def open_hotlab(browser: webdriver.Chrome, lab: HotLab) -> None:
    browser.get(lab.room.start())
    wait(browser, "document.getElementById('monitor-state').innerText === 'LIVE'", "the page to go live")
    wait(browser, "!document.getElementById('hotlab').hidden", "the hot-lab panel")
