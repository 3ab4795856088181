"""The operator view's HTTP edge without a browser (aiohttp's test client on a real socket): who
may act, how a session ends, what a page from another site gets, and that actions are records."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from agent.app import Agent
from agent.config import parse_config
from tests.agent.room import carm_toml
from tests.fakes import FakeClock, FakeKeyring

OPERATORS = {"op-1": ("operator", "correct horse"), "vis-1": ("visitor", "x")}
HOTLAB = """
[station]
site = "s"
station_id = "hot"
[store]
path = "{tmp}/outbox.sqlite"
[[devices]]
name = "crc1"
driver = "capintec_crc"
port = "/dev/null"
[hotlab]
activimeter = "crc1"
calibration_date = "2026-03-01"
background_max_mbq = 0.05
zero_tolerance_mbq = 0.005
timezone = "Africa/Algiers"
store_path = "{tmp}/hotlab.json"
pseudonym_key_path = "{tmp}/pseudonym.key"
[web]
enabled = true
port = 0
"""


def carm_agent(tmp: Path, clock: FakeClock, keyring: FakeKeyring | None) -> Agent:
    text = carm_toml() + f'\n[store]\npath = "{tmp}/outbox.sqlite"\n[web]\nenabled = true\nport = 0\n'
    text += "session_idle_timeout_s = 60\nlogin_failures_per_minute = 3\n"
    return Agent(parse_config(text), clock=clock, keyring=keyring)


def serve(agent: Agent, test: Callable[[TestClient[Any, Any]], Awaitable[None]]) -> None:
    assert agent.web is not None
    web = agent.web

    async def main() -> None:
        async with TestClient(TestServer(web.app())) as client:
            await test(client)
        agent.outbox.close()

    asyncio.run(main())


def stored(agent: Agent, topic: str) -> list[dict[str, Any]]:
    return [json.loads(m.payload) for m in agent.outbox.pending(1000) if m.topic == topic]


async def logged_in(
    client: TestClient[Any, Any], operator: str = "op-1", secret: str = "correct horse"
) -> str:
    response = await client.post("/api/login", json={"id": operator, "secret": secret})
    assert response.status == 200, await response.text()
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    return str((await response.json())["csrf"])


def raise_alarm(agent: Agent) -> str:
    from agent.notices import AlarmNotice

    notice = AlarmNotice("a-1", "fluoro_dose_rate", "raised", "high", "Entrance dose rate above the level")
    agent.pipeline.store([agent.pipeline.alarm_message(notice)])
    return notice.alarm_id


def test_viewing_needs_no_login(tmp_path: Path) -> None:
    agent = carm_agent(tmp_path, FakeClock(), None)

    async def test(client: TestClient[Any, Any]) -> None:
        page = await client.get("/")
        assert page.status == 200 and "operator view" in await page.text()
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
        snap = await (await client.get("/api/snapshot")).json()
        assert snap["ok"] is True and snap["fluoro"]["rate"]["level_mgy_min"] == 25
        assert snap["fluoro"]["rate"]["live"] is False  # no reading yet: no number shown as live
        assert (await client.get("/static/../server.py")).status == 404
        session = await (await client.get("/api/session")).json()
        assert session == {"logged_in": False, "keyring": False}
        login = await client.post("/api/login", json={"id": "op-1", "secret": "correct horse"})
        assert login.status == 403  # no keyring on this box: view only

    serve(agent, test)


def test_an_action_needs_a_session_and_its_csrf_token(tmp_path: Path) -> None:
    agent = carm_agent(tmp_path, FakeClock(), FakeKeyring(dict(OPERATORS)))
    alarm_id = raise_alarm(agent)

    async def test(client: TestClient[Any, Any]) -> None:
        anonymous = await client.post("/api/action/alarm_ack", json={"alarm_id": alarm_id})
        assert anonymous.status == 401
        await logged_in(client)
        no_token = await client.post("/api/action/alarm_ack", json={"alarm_id": alarm_id})
        assert no_token.status == 401  # the cookie alone (a forged cross-site request) is not enough
        wrong = await client.post(
            "/api/action/alarm_ack", json={"alarm_id": alarm_id}, headers={"X-CSRF-Token": "guess"}
        )
        assert wrong.status == 401
        assert agent.pipeline.alarm_book.active[alarm_id].acknowledged is None
        assert agent.web is not None and agent.web.counters["actions_refused"] == 3
        assert stored(agent, "cmd_result/alarm_ack") == []  # anonymous attempts are not records

    serve(agent, test)


def test_an_acknowledge_from_the_page_is_a_record_with_its_sender(tmp_path: Path) -> None:
    agent = carm_agent(tmp_path, FakeClock(), FakeKeyring(dict(OPERATORS)))
    alarm_id = raise_alarm(agent)

    async def test(client: TestClient[Any, Any]) -> None:
        csrf = await logged_in(client)
        response = await client.post(
            "/api/action/alarm_ack",
            json={"alarm_id": alarm_id, "by": "someone else"},
            headers={"X-CSRF-Token": csrf},
        )
        body = await response.json()
        assert response.status == 200 and body["ok"] is True and body["state"] == "acknowledged"
        assert (
            agent.pipeline.alarm_book.active[alarm_id].acknowledged_by == "op-1 via web"
        )  # not what was sent
        (result,) = stored(agent, "cmd_result/alarm_ack")
        assert result["channel"] == "web" and result["by"] == "op-1"
        acked = [b for b in stored(agent, "alarm") if b["state"] == "acknowledged"]
        assert acked[0]["acknowledged_by"] == "op-1 via web"
        again = await client.post(
            "/api/action/alarm_ack", json={"alarm_id": alarm_id}, headers={"X-CSRF-Token": csrf}
        )
        assert again.status == 409 and "already acknowledged" in (await again.json())["error"]
        assert len(stored(agent, "cmd_result/alarm_ack")) == 2  # the refused one is recorded too

    serve(agent, test)


def test_a_role_outside_the_command_path_is_refused_and_recorded(tmp_path: Path) -> None:
    agent = carm_agent(tmp_path, FakeClock(), FakeKeyring(dict(OPERATORS)))
    alarm_id = raise_alarm(agent)

    async def test(client: TestClient[Any, Any]) -> None:
        csrf = await logged_in(client, "vis-1", "x")
        response = await client.post(
            "/api/action/alarm_ack", json={"alarm_id": alarm_id}, headers={"X-CSRF-Token": csrf}
        )
        assert response.status == 409 and "may not" in (await response.json())["error"]
        assert agent.pipeline.alarm_book.active[alarm_id].acknowledged is None
        (result,) = stored(agent, "cmd_result/alarm_ack")
        assert result["ok"] is False and result["sender"]["id"] == "vis-1"
        other = await client.post("/api/action/procedure_close", json={}, headers={"X-CSRF-Token": csrf})
        assert other.status == 409  # only the page's own actions pass the door

    serve(agent, test)


def test_a_page_from_another_site_cannot_act(tmp_path: Path) -> None:
    agent = carm_agent(tmp_path, FakeClock(), FakeKeyring(dict(OPERATORS)))
    alarm_id = raise_alarm(agent)

    async def test(client: TestClient[Any, Any]) -> None:
        csrf = await logged_in(client)
        foreign = await client.post(
            "/api/action/alarm_ack",
            json={"alarm_id": alarm_id},
            headers={"X-CSRF-Token": csrf, "Origin": "http://evil.example"},
        )
        assert foreign.status == 400
        form = await client.post(
            "/api/action/alarm_ack", data={"alarm_id": alarm_id}, headers={"X-CSRF-Token": csrf}
        )
        assert form.status == 400  # a plain form post is not JSON
        assert agent.pipeline.alarm_book.active[alarm_id].acknowledged is None

    serve(agent, test)


def test_a_session_ends_when_idle_and_on_logout(tmp_path: Path) -> None:
    clock = FakeClock()
    agent = carm_agent(tmp_path, clock, FakeKeyring(dict(OPERATORS)))
    alarm_id = raise_alarm(agent)

    async def test(client: TestClient[Any, Any]) -> None:
        await logged_in(client)
        assert (await (await client.get("/api/session")).json())["logged_in"] is True
        clock.advance(61.0)  # session_idle_timeout_s = 60
        assert (await (await client.get("/api/session")).json())["logged_in"] is False
        csrf = await logged_in(client)
        await client.post("/api/logout", json={})
        response = await client.post(
            "/api/action/alarm_ack", json={"alarm_id": alarm_id}, headers={"X-CSRF-Token": csrf}
        )
        assert response.status == 401

    serve(agent, test)


def test_failed_logins_are_throttled(tmp_path: Path) -> None:
    clock = FakeClock()
    keyring = FakeKeyring(dict(OPERATORS))
    agent = carm_agent(tmp_path, clock, keyring)

    async def test(client: TestClient[Any, Any]) -> None:
        for _ in range(3):  # login_failures_per_minute = 3
            assert (await client.post("/api/login", json={"id": "op-1", "secret": "no"})).status == 401
        right = {"id": "op-1", "secret": "correct horse"}
        assert (await client.post("/api/login", json=right)).status == 429
        assert len(keyring.checked) == 3  # throttled: the keyring is not even asked
        clock.advance(60.0)
        assert (await client.post("/api/login", json=right)).status == 200

    serve(agent, test)


def test_the_hot_lab_context_form_enters_the_context_as_the_operator(tmp_path: Path) -> None:
    agent = Agent(
        parse_config(HOTLAB.format(tmp=tmp_path)), clock=FakeClock(), keyring=FakeKeyring(dict(OPERATORS))
    )
    assert agent.pipeline.hotlab is not None
    hotlab = agent.pipeline.hotlab

    async def test(client: TestClient[Any, Any]) -> None:
        rows = await (await client.get("/api/hotlab/table5")).json()
        bone = next(r for r in rows if r["exam"] == "bone_imaging" and r["nuclide"] == "Tc-99m")
        csrf = await logged_in(client)
        args = {
            "table5_row": bone["row"],
            "weight_kg": 70,
            "prescribed_activity_mbq": 540,
            "planned_administration": "2026-11-22T10:15:00.000Z",
        }
        response = await client.post("/api/action/hotlab_context", json=args, headers={"X-CSRF-Token": csrf})
        assert response.status == 200, await response.text()
        assert hotlab.context.operator == "op-1" and hotlab.context.prescribed_activity_mbq == 540
        (result,) = stored(agent, "cmd_result/hotlab_context")
        assert result["channel"] == "web" and result["context"]["exam"] == "bone_imaging"
        snap = await (await client.get("/api/snapshot")).json()
        assert snap["hotlab"]["qc_today"]["constancy"] == "missing"
        assert snap["hotlab"]["context"]["weight_kg"] == 70

    serve(agent, test)
