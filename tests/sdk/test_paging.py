"""Cursor-paged list methods get iterators that follow ``nextCursor`` (detected from the schema)."""

from __future__ import annotations

import time
from typing import Any

from codex_app_server import AppServerClient
from codex_app_server.testing import final_text

from .conftest import requires_codex
from .support import RoutedProvider

pytestmark = requires_codex


def test_every_cursor_paged_method_has_an_iterator() -> None:
    paged = {name for name in vars(AppServerClient) if name.startswith("iter_")}
    assert {"iter_thread_list", "iter_model_list", "iter_thread_turns_list"} <= paged
    assert "iter_thread_start" not in paged  # not a paged list


def test_iterating_follows_the_cursor_across_pages(
    open_codex: Any, config_factory: Any, provider: RoutedProvider
) -> None:
    codex = open_codex(config_factory())
    started = []
    for n in range(3):
        if n:
            # codex 0.163's thread/list cursor is a timestamp in whole seconds: threads updated within
            # the same second as a page's last one are skipped by the next page (a codex limitation).
            time.sleep(1.1)
        provider.enqueue(final_text(f"Answer {n}."))
        thread = codex.thread_start()
        thread.run(f"Question {n}.")
        started.append(thread.id)

    first_page = codex.client.thread_list(limit=1)
    assert len(first_page.data) == 1 and first_page.next_cursor  # one page would not show them all

    listed = [thread.id for thread in codex.client.iter_thread_list(limit=1)]
    assert sorted(listed) == sorted(started)


def test_codex_threads_yields_every_stored_thread_across_pages(
    open_codex: Any, config_factory: Any, provider: RoutedProvider
) -> None:
    codex = open_codex(config_factory())
    started = []
    for n in range(2):
        if n:
            time.sleep(1.1)  # thread/list's cursor has whole seconds (see above)
        provider.enqueue(final_text(f"Answer {n}."))
        thread = codex.thread_start()
        thread.run(f"Question {n}.")
        started.append(thread.id)
    codex.thread_start(ephemeral=True).run("Not stored.")  # in memory only: never listed

    summaries = list(codex.threads(limit=1))  # one per page: following the cursor is what shows both
    assert sorted(summary.id for summary in summaries) == sorted(started)
    assert {summary.preview for summary in summaries} == {"Question 0.", "Question 1."}

    provider.enqueue(final_text("Resumed."))
    resumed = codex.thread_resume(summaries[0].id)  # a summary is data; resuming gives a usable Thread
    assert resumed.run("Again.").final_response == "Resumed."
