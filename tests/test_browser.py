"""The course in a real browser: JupyterLab on 127.0.0.1 serves a released notebook,
headless Chromium opens it and runs every cell, and every picture renders as a live widget
(its static copy hidden). The test installs what it needs (Debian's chromium, playwright
from PyPI) and skips, saying why, only where no browser can be installed."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from kafkadojo.autograder.course import Course

CHROMIUM = "/usr/bin/chromium"
ASSIGNMENT = "partitioning"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def browser_or_skip():
    """Chromium and playwright, installed if missing (apt as root; pip into this venv)."""
    if not Path(CHROMIUM).exists():
        if os.geteuid() != 0 or not shutil.which("apt-get"):
            pytest.skip(f"no browser: {CHROMIUM} is missing and apt-get cannot install it here "
                        "(needs root)")
        installed = subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"],
                                   capture_output=True, text=True, timeout=600)
        if installed.returncode != 0 or not Path(CHROMIUM).exists():
            pytest.skip(f"no browser: apt-get install chromium failed: {installed.stderr[-500:]}")
    try:
        import playwright  # noqa: F401
    except ImportError:
        installed = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",
                                    "playwright"], capture_output=True, text=True, timeout=600)
        if installed.returncode != 0:
            pytest.skip(f"playwright could not be installed: {installed.stderr[-500:]}")
    from playwright.sync_api import sync_playwright
    return sync_playwright


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    """JupyterLab serving a folder with the released notebook; yields (url, notebook name)."""
    course = Course.scratch(tmp_path / "course")
    course.release([ASSIGNMENT])
    folder = tmp_path / "learner"
    folder.mkdir()
    shutil.copy(course.root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", folder)
    port = free_port()
    jupyter = Path(sys.executable).parent / "jupyter"
    server = subprocess.Popen(
        [str(jupyter), "lab", "--allow-root", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         "--ServerApp.token=", "--ServerApp.password=", "--ServerApp.open_browser=False",
         f"--ServerApp.root_dir={folder}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PATH": f"{jupyter.parent}{os.pathsep}{os.environ['PATH']}"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError("JupyterLab did not start")
                time.sleep(0.5)
        yield url, f"{ASSIGNMENT}.ipynb"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


def test_every_picture_renders_in_a_real_browser(lab):
    sync_playwright = browser_or_skip()
    url, name = lab
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/lab/tree/{name}")
        page.wait_for_selector(".jp-Notebook", timeout=120_000)
        page.wait_for_selector(".jp-Notebook-ExecutionIndicator", timeout=120_000)
        time.sleep(5)       # the kernel starts
        page.click("text=Run", timeout=30_000)
        page.click("text=Run All Cells", timeout=30_000)
        # Each picture is a widget holding an HTML drawing: wait until all of them are there.
        pictures = count_picture_cells(page)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            drawn = page.locator(".widget-html-content").count()
            if drawn >= pictures:
                break
            time.sleep(2)
        drawn = page.locator(".widget-html-content").count()
        assert pictures >= 4 and drawn >= pictures, (pictures, drawn)
        assert page.locator(".widget-slider").count() >= 1
        # The static copies (for wherever widgets cannot run) are hidden by the live widgets.
        copies = page.locator(".kafkadojo-static-picture")
        assert copies.count() >= pictures
        assert all(not copies.nth(i).is_visible() for i in range(copies.count()))
        browser.close()


def count_picture_cells(page):
    """Code cells whose source calls a picture."""
    return page.locator(".jp-CodeCell .jp-InputArea", has_text="pictures.show_").count()
