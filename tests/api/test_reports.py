"""Reports: lead quality and spam alert, per-manager activity, zombie clients, broken promises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .factory import make_call


def test_lead_quality_spam_alert(api) -> None:  # type: ignore[no-untyped-def]
    with api.session() as s:
        for i in range(30):  # site: 1 spam of 30 = 3.3 % > 3 %
            make_call(s, source_channel="site", campaign="spring", call_class="spam" if i == 0 else "lead",
                      client_phone=None)
        for i in range(40):  # radio: 1 of 40 = 2.5 %
            make_call(s, source_channel="radio", campaign="spring",
                      call_class="spam" if i == 0 else "non_target" if i < 11 else "lead", client_phone=None)
    rep = api.get("/api/v1/reports/lead-quality", role="marketer").json()
    ch = {c["key"]: c for c in rep["channels"]}
    assert ch["site"]["calls"] == 30 and ch["site"]["spam"] == 1 and ch["site"]["spam_alert"]
    assert ch["radio"]["non_target"] == 10 and not ch["radio"]["spam_alert"]
    assert abs(ch["radio"]["lead_share"] - 29 / 40) < 1e-9
    assert rep["spam_alert_share"] == 0.03 and any("site" in a for a in rep["alerts"])
    camp = rep["campaigns"][0]
    assert camp["key"] == "spring" and camp["calls"] == 70 and not camp["spam_alert"]
    strict = api.get("/api/v1/reports/lead-quality", params={"spam_alert_share": 0.01}).json()
    assert all(c["spam_alert"] for c in strict["channels"])


def test_managers_report(api) -> None:  # type: ignore[no-untyped-def]
    with api.session() as s:
        make_call(s, manager="Иван", duration_s=120, ring_s=6, outcome="next_step")
        make_call(s, manager="Иван", duration_s=60, ring_s=2, outcome="refusal")
        make_call(s, manager="Иван", duration_s=0, answered=False, ring_s=30, outcome=None, call_class=None)
    rows = {r["manager"]: r for r in api.get("/api/v1/reports/managers").json()}
    ivan = rows["Иван"]
    assert ivan["calls"] == 3 and ivan["missed_calls"] == 1 and ivan["talk_minutes"] == 3.0
    assert ivan["mean_answer_s"] == 4.0 and ivan["conversion_to_next_step"] == 0.5


def test_zombies_and_broken_promises(api) -> None:  # type: ignore[no-untyped-def]
    now = datetime.now(UTC)
    with api.session() as s:
        for i in range(7):
            make_call(s, client_phone="+70000000001", outcome="callback", started_at=now - timedelta(days=20 - i))
        for i in range(7):  # a sale on the last contact: not a zombie
            make_call(s, client_phone="+70000000002", outcome="sale" if i == 6 else "none",
                      started_at=now - timedelta(days=20 - i))
        broken = make_call(s, client_phone="+70000000003", outcome="callback", callback_due_days=2,
                           started_at=now - timedelta(days=10)).id
        kept = make_call(s, client_phone="+70000000004", outcome="callback", callback_due_days=2,
                         started_at=now - timedelta(days=10)).id
        make_call(s, client_phone="+70000000004", outcome="next_step", started_at=now - timedelta(days=9))
        make_call(s, client_phone="+70000000005", outcome="callback", callback_due_days=30,
                  started_at=now - timedelta(days=1))  # not due yet
    z = api.get("/api/v1/reports/zombies", role="head_of_sales").json()
    assert [(r["client_phone"], r["contacts"]) for r in z] == [("+70000000001", 7)]
    assert api.get("/api/v1/reports/zombies", role="marketer").json()[0]["client_phone"].endswith("0001")
    assert "+7000" not in api.get("/api/v1/reports/zombies", role="marketer").text
    bp = api.get("/api/v1/reports/broken-promises").json()
    assert [r["call_id"] for r in bp] == [broken] and kept not in [r["call_id"] for r in bp]
    assert bp[0]["overdue_days"] > 7
