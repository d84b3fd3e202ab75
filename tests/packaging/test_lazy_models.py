"""Models are created on first use, and nothing a user does can tell, except speed.

``import codex_app_server`` must create no model class and load no asyncio
(a blocking client never needs it); every name stays importable from
``v2_all``, visible to ``dir()``, resolvable by ``typing.get_type_hints``,
picklable, and a misspelt name is still an ``AttributeError``. Each check
runs in a fresh interpreter: this process has long imported everything.
"""

from __future__ import annotations

from tests.support.fresh_python import run_python


def run_fresh(code: str) -> str:
    proc = run_python(code, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_importing_the_sdk_creates_no_model_and_loads_no_asyncio() -> None:
    out = run_fresh("""
        import sys
        import codex_app_server
        from codex_app_server import Codex, Thread, AppServerConfig, TextInput
        models = sorted(m for m in sys.modules if ".generated._models." in m)
        print(models)
        print("asyncio" in sys.modules)
        """)
    models, asyncio_loaded = out.splitlines()
    assert models == "[]"
    assert asyncio_loaded == "False"


def test_a_model_loads_only_what_it_needs_and_is_the_same_class_everywhere() -> None:
    out = run_fresh("""
        import sys
        from codex_app_server.generated import v2_all
        from codex_app_server.generated.v2_all import ThreadTokenUsageUpdatedEvent
        from codex_app_server.generated.notifications import NOTIFICATION_EVENTS
        loaded = [m for m in sys.modules if ".generated._models." in m]
        print(len(loaded), len(set(v2_all._HOMES.values())))
        print(NOTIFICATION_EVENTS["thread/tokenUsage/updated"] is ThreadTokenUsageUpdatedEvent)
        print(v2_all.ThreadTokenUsageUpdatedEvent is ThreadTokenUsageUpdatedEvent)
        """)
    counts, same_in_table, same_in_module = out.splitlines()
    loaded, total = map(int, counts.split())
    assert 2 <= loaded < 10 < total
    assert same_in_table == same_in_module == "True"


def test_every_name_is_listed_typed_and_picklable() -> None:
    out = run_fresh("""
        import pickle, typing
        import codex_app_server
        from codex_app_server import RunResult, Thread, TurnFailedError
        from codex_app_server.generated import v2_all
        names = set(dir(v2_all))
        print(set(v2_all.__all__) <= names and "ThreadItem" in names and "Turn" in names)
        print(typing.get_origin(typing.get_type_hints(Thread.run)["return"]) is RunResult)
        print(typing.get_type_hints(TurnFailedError.__init__)["turn"] is v2_all.Turn)
        hints = typing.get_type_hints(codex_app_server.Codex.thread_start)
        print(typing.get_args(hints["sandbox"])[0] is v2_all.SandboxMode)
        usage = v2_all.TokenUsageBreakdown(
            cached_input_tokens=1, input_tokens=2, output_tokens=3, reasoning_output_tokens=4, total_tokens=10
        )
        print(pickle.loads(pickle.dumps(usage)) == usage)
        try:
            v2_all.ThreadStartResponce
        except AttributeError as exc:
            print("AttributeError", "ThreadStartResponce" in str(exc))
        """)
    assert out.splitlines() == ["True", "True", "True", "True", "True", "AttributeError True"]


def test_the_lazy_exports_of_the_package() -> None:
    out = run_fresh("""
        import typing
        import codex_app_server
        from codex_app_server import InitializeResponse, Notification, TurnStatus
        from codex_app_server.generated import v2_all
        print(TurnStatus is v2_all.TurnStatus and InitializeResponse is v2_all.InitializeResponse)
        members = typing.get_args(Notification)
        print(v2_all.TurnCompletedEvent in members and codex_app_server.UnknownNotification in members)
        print("Notification" in dir(codex_app_server))
        """)
    assert out.splitlines() == ["True", "True", "True"]
