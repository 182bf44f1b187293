"""The web dashboard in a real browser: headless chromium against a real daemon with the real
queue and the tiny model (one training for the module)."""

import json
from pathlib import Path
from typing import Any
from urllib.request import Request, urlopen

import pytest

from daemon.process import DaemonProcess
from tests.imagefactory import png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.slow]

OWNER, STRANGER = "telegram:8101", "telegram:8102"
STEPS = 20
TRAINING_TIMEOUT_MS = 300_000


def rpc(
    daemon: DaemonProcess,
    method: str,
    path: str,
    *,
    user: str = "",
    admin: bool = False,
    body: dict[str, Any] | None = None,
) -> Any:
    """One RPC call as a bot (or an operator) makes it; its JSON."""
    token = daemon.admin_token if admin else daemon.rpc_token
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if user:
        headers["X-User"] = user
    data = None if body is None else json.dumps(body).encode()
    request = Request(daemon.url + path, data=data, headers=headers, method=method)
    with urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def sign_in_link(daemon: DaemonProcess, user: str) -> str:
    """The link a bot's `/web` sends (the same RPC route)."""
    return str(rpc(daemon, "POST", "/v1/web/link", user=user)["url"])


def signed_in_page(browser: Any, daemon: DaemonProcess, user: str) -> Any:
    """A new browser context signed in as `user` from a fresh link."""
    page = browser.new_context(accept_downloads=True).new_page()
    page.goto(sign_in_link(daemon, user))
    page.click("#sign-in")
    page.wait_for_url("**/ui/datasets")
    return page


DROP = """([files]) => {
  const transfer = new DataTransfer();
  for (const [name, bytes] of files) {
    transfer.items.add(new File([new Uint8Array(bytes)], name, {type: "image/png"}));
  }
  const zone = document.getElementById("dropzone");
  zone.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true}));
}"""


@pytest.fixture(scope="module")
def trained(browser: Any, web_daemon: DaemonProcess, screenshots: Path) -> dict[str, Any]:
    """The owner's journey, start to end, in one page: sign in, make a dataset, drop images
    (two refused), caption one, train, watch the monitor to completion, open the model."""
    account = rpc(web_daemon, "GET", "/v1/me", user=OWNER)
    rpc(
        web_daemon,
        "POST",
        f"/admin/accounts/{account['id']}/grant",
        admin=True,
        body={"amount": 1000, "reason": "test", "idempotency_key": "web-owner"},
    )
    page = signed_in_page(browser, web_daemon, OWNER)
    page.fill("input[name=name]", "my cats")
    page.fill("input[name=trigger_word]", "zqxcat")
    page.click("form[action='/ui/datasets'] button")
    page.wait_for_url("**/ui/datasets/*")
    dataset_url = page.url
    files = [[f"cat{i}.png", list(png_bytes(seed=i))] for i in range(4)]
    files += [["again.png", list(png_bytes(seed=0))], ["broken.png", list(b"not a png")]]
    page.evaluate(DROP, [files])
    page.wait_for_selector("#upload-results li.added")
    results = page.inner_text("#upload-results")
    assert results.count("added") == 4, results
    assert "again.png: refused" in results and "DUPLICATE_IMAGE" in results
    assert "broken.png: refused" in results and "NOT_AN_IMAGE" in results
    page.screenshot(path=screenshots / "upload.png", full_page=True)
    page.reload()
    assert page.locator("#images figure").count() == 4
    caption = page.locator("input.caption").first
    caption.fill("zqxcat sitting on a red sofa")
    caption.press("Tab")
    page.wait_for_selector(".saved:text('saved')")
    page.screenshot(path=screenshots / "dataset.png", full_page=True)
    page.select_option("select[name=offering_id]", "tiny-lora")
    page.select_option("select[name=preset]", "fast")
    page.fill("input[name=steps]", str(STEPS))
    page.click("#train button")
    page.wait_for_url("**/ui/jobs/*")
    job_url = page.url
    # Marked once: a reload would lose it, so its survival proves the updates came live.
    page.evaluate("window.__notReloaded = true")
    page.wait_for_selector("#channel:text('live')")
    page.wait_for_function(
        "document.getElementById('progress').value > 0", timeout=TRAINING_TIMEOUT_MS
    )
    page.screenshot(path=screenshots / "monitor-running.png", full_page=True)
    page.wait_for_selector("#status:text('completed')", timeout=TRAINING_TIMEOUT_MS)
    assert page.evaluate("window.__notReloaded") is True
    assert page.get_attribute("#progress", "value") == str(STEPS)
    assert int(page.inner_text("#points")) > 0
    assert page.locator("#loss-chart polyline").count() == 1
    assert page.is_visible("#sample") and page.is_hidden("#cancel")
    page.screenshot(path=screenshots / "monitor-done.png", full_page=True)
    page.click("#model-link a")
    page.wait_for_url("**/ui/models/*")
    page.screenshot(path=screenshots / "model.png", full_page=True)
    return {"dataset": dataset_url, "job": job_url, "model": page.url, "page": page}


def test_the_monitor_follows_a_training_to_its_downloadable_lora(trained: dict[str, Any]) -> None:
    page = trained["page"]
    assert page.inner_text("#trigger-word") == "zqxcat"
    row = page.locator("#files tr", has_text="for diffusers")
    assert row.count() >= 1
    with page.expect_download() as info:
        row.first.locator("a").click()
    path = Path(info.value.path())
    header_length = int.from_bytes(path.read_bytes()[:8], "little")
    header = json.loads(path.read_bytes()[8 : 8 + header_length])
    assert any("lora" in key for key in header), list(header)[:5]


def figure(page: Any, name: str) -> str:
    """The text of the first element the page marks `data-figure="name"`."""
    return str(page.locator(f"[data-figure='{name}']").first.inner_text()).strip()


def chart_drawn(page: Any) -> bool:
    """Whether the page's chart picture loaded (a PNG the browser could decode)."""
    page.wait_for_function("document.getElementById('chart').complete")
    return bool(page.evaluate("document.getElementById('chart').naturalWidth === 800"))


def test_the_insight_pages_reflect_the_training(
    trained: dict[str, Any], browser: Any, web_daemon: DaemonProcess, screenshots: Path
) -> None:
    page = trained["page"]
    job_id = int(trained["job"].rsplit("/", 1)[1])
    job = rpc(web_daemon, "GET", f"/v1/jobs/{job_id}", user=OWNER)
    paid = job["cost"] - job["refunded"]
    page.goto(web_daemon.url + "/ui/analytics")
    assert figure(page, "trainings-total") == "1" and figure(page, "status-completed") == "1"
    assert figure(page, "success-rate") == "100.0%" and figure(page, "total-cost") == str(paid)
    assert figure(page, "kind-train-jobs") == "1" and figure(page, "images-total") == "4"
    assert figure(page, "tag-zqxcat sitting on a red sofa") == "1"
    assert chart_drawn(page)
    page.screenshot(path=screenshots / "analytics.png", full_page=True)
    page.goto(web_daemon.url + "/ui/costs")
    assert figure(page, "training") == str(job["cost"]) and figure(page, "spent") == str(paid)
    assert figure(page, "spent-change") == f"+{paid}" and figure(page, "purchases") == "0"
    assert chart_drawn(page)
    page.screenshot(path=screenshots / "costs.png", full_page=True)
    page.goto(web_daemon.url + "/ui/activity")
    completed = page.locator("#feed li.unread", has_text=f"Training #{job_id} completed")
    assert completed.count() == 1
    unread = int(figure(page, "unread"))
    assert unread >= 2  # started and completed
    assert page.inner_text("header nav").count(f"Activity ({unread})") == 1
    page.screenshot(path=screenshots / "activity.png", full_page=True)
    page.click("#read-all button")
    page.wait_for_selector("[data-figure='unread']:text('0')")
    assert page.locator("#feed li.unread").count() == 0
    assert "Activity (" not in page.inner_text("header nav")
    operator = browser.new_context().new_page()
    operator.goto(web_daemon.url + "/ui/operator/sign-in")
    operator.fill("input[name=admin_token]", web_daemon.admin_token)
    operator.click("form button")
    operator.wait_for_url("**/ui/operator/jobs")
    operator.goto(web_daemon.url + "/ui/operator/analytics")
    assert figure(operator, "offering-tiny-lora-jobs") == "1"
    assert figure(operator, "offering-tiny-lora-points") == str(paid)
    assert figure(operator, "wait-count") == "1" and "No failures." in operator.content()
    today = operator.locator("#days tr").nth(1)  # newest day first, below the header
    assert today.locator("[data-figure='completed']").inner_text() == "1"
    assert operator.locator("#gpu-busy [data-figure^='busy-']").count() == 1
    operator.screenshot(path=screenshots / "operator-analytics.png", full_page=True)


def test_another_person_sees_none_of_it(
    trained: dict[str, Any], browser: Any, web_daemon: DaemonProcess, screenshots: Path
) -> None:
    page = signed_in_page(browser, web_daemon, STRANGER)
    assert "my cats" not in page.inner_text("#datasets")
    for url in (trained["dataset"], trained["job"], trained["model"]):
        answer = page.goto(url)
        assert answer is not None and answer.status == 404, url
    page.goto(web_daemon.url + "/ui/jobs")
    assert "No jobs yet" in page.inner_text("#jobs")
    page.screenshot(path=screenshots / "stranger-jobs.png", full_page=True)


def test_a_used_link_is_refused(browser: Any, web_daemon: DaemonProcess) -> None:
    link = sign_in_link(web_daemon, STRANGER)
    first = browser.new_context().new_page()
    first.goto(link)
    first.click("#sign-in")
    first.wait_for_url("**/ui/datasets")
    replay = browser.new_context().new_page()
    answer = replay.goto(link)
    assert answer is not None and answer.status == 410
    assert "already used" in replay.inner_text(".message")
    assert replay.goto(web_daemon.url + "/ui/datasets").status == 401


def test_a_form_without_its_csrf_token_is_refused(
    trained: dict[str, Any], browser: Any, web_daemon: DaemonProcess
) -> None:
    page = signed_in_page(browser, web_daemon, OWNER)
    page.goto(trained["dataset"])
    page.evaluate("document.querySelector('#visibility input[name=csrf_token]').remove()")
    with page.expect_navigation() as navigation:
        page.click("#visibility button")
    assert navigation.value is not None and navigation.value.status == 403
    assert "CSRF" in page.inner_text(".refused")
