"""Web UI in headless Chromium: log in with a key, open a call, override an item, see the score change."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import pytest

from .conftest import Api, make_settings
from .factory import make_call

CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.browser
def test_login_open_call_override(tmp_path: Path) -> None:
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.is_file():
        pytest.skip("chromium is not installed at /usr/bin/chromium")
    import uvicorn

    api = Api(make_settings(tmp_path))
    with api.session() as s:
        cid = make_call(s, api.settings, manager="Иван", with_audio=True).id
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(api.app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        with playwright_api.sync_playwright() as pw:
            browser = pw.chromium.launch(
                executable_path=str(CHROMIUM), headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                      "--disable-component-update", "--no-first-run"],
            )
            page = browser.new_page()
            page.on("dialog", lambda dialog: dialog.accept("клиент не рассказал о задачах"))
            page.goto(f"http://127.0.0.1:{port}/")
            page.fill("#api-key", api.keys["head_of_sales"])
            page.click("#login button[type=submit]")
            page.wait_for_selector("#calls a.call-link")
            page.click(f"#calls a.call-link >> text='{cid}'")
            page.wait_for_selector("#score")
            assert page.inner_text("#score") == "100"
            assert "Здравствуйте, компания Ромашка" in page.inner_text("#transcript")
            page.click("tr[data-item=needs] button.override-failed")
            page.wait_for_function("document.querySelector('#score').textContent === '75'")
            assert page.inner_text("tr[data-item=needs] .final-status") == "failed"
            # the key survives a reload (localStorage) and the override is stored
            page.reload()
            page.wait_for_selector("#score")
            assert page.inner_text("#score") == "75"
            browser.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    log = api.get(f"/api/v1/calls/{cid}/overrides").json()
    assert [(o["item_id"], o["before"], o["after"]) for o in log] == [("needs", "passed", "failed")]
