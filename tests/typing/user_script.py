"""A user-style script over the public API; ``nox -s typecheck`` runs ``mypy --strict`` on it.

It is type-checked, never executed. Annotated assignments pin the public
types (an ``Any`` leaking into a signature would go unnoticed by mypy
otherwise), and the ``# type: ignore[...]`` lines are calls that MUST be
type errors: with ``--strict`` (``warn_unused_ignores``) mypy fails if one
of them stops being an error, e.g. because a keyword became ``Any``.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Iterator
from typing import Any

from codex_app_server import (
    AppServerClient,
    AppServerConfig,
    AsyncAppServerClient,
    AsyncCodex,
    AsyncServerRequestHandler,
    AsyncThread,
    AsyncTurnHandle,
    Codex,
    ImageInput,
    InitializeResponse,
    Input,
    InputItem,
    InvalidParamsError,
    JsonRpcError,
    LocalImageInput,
    LoginHandle,
    MentionInput,
    MethodNotFoundError,
    Notification,
    RetryOptions,
    RunResult,
    ServerBusyError,
    ServerRequestHandler,
    SkillInput,
    TextInput,
    Thread,
    TurnFailedError,
    TurnHandle,
    TurnStatus,
    __version__,
    async_retry_on_overload,
    codex_binary,
    is_retryable_error,
    retry_on_overload,
    tool,
)
from codex_app_server.generated.v2_all import (
    AccountLoginCompletedNotification,
    AgentMessageThreadItem,
    ApiKeyv2LoginAccountResponse,
    AskForApproval,
    CancelLoginAccountStatus,
    CommandExecutionRequestApprovalParams,
    CommandExecutionRequestApprovalResponse,
    ConfigReadResponse,
    FileChangeApprovalDecision,
    FileChangeRequestApprovalParams,
    FileChangeRequestApprovalResponse,
    GetAccountResponse,
    InitializeCapabilities,
    ItemAgentMessageDeltaEvent,
    ModelListResponse,
    Personality,
    ReasoningEffort,
    SandboxMode,
    ThreadArchiveResponse,
    ThreadCompactStartResponse,
    ThreadItem,
    ThreadListResponse,
    ThreadReadResponse,
    ThreadSetNameResponse,
    ThreadTokenUsage,
    TokenUsageBreakdown,
    Turn,
    TurnCompletedEvent,
    TurnError,
    TurnInterruptResponse,
    TurnStartParams,
    TurnSteerResponse,
)
from codex_app_server.generated.v2_all import (
    Thread as ThreadModel,
)
from codex_app_server.testing import FakeProvider, HttpError, Text, offline_config
from pydantic import BaseModel
from typing_extensions import assert_type

version: str = __version__


def server_by_hand() -> list[str]:
    """The codex the SDK launches, and the command line of a websocket server with a config (issue 22)."""
    binary: str = codex_binary()
    argv: list[str] = AppServerConfig().server_command(listen="ws://127.0.0.1:0")
    return [binary, *argv]


class Approver(ServerRequestHandler):
    def item_command_execution_request_approval(
        self, params: CommandExecutionRequestApprovalParams
    ) -> CommandExecutionRequestApprovalResponse:
        command: str | None = params.command
        return CommandExecutionRequestApprovalResponse(decision="accept" if command == "echo hi" else "decline")

    def item_file_change_request_approval(
        self, params: FileChangeRequestApprovalParams
    ) -> FileChangeRequestApprovalResponse:
        # An enum field of a model takes its wire strings, as method parameters do (issue 22).
        response = FileChangeRequestApprovalResponse(decision="decline")
        assert_type(response.decision, FileChangeApprovalDecision)  # read back as the enum
        return response


class AsyncApprover(AsyncServerRequestHandler):
    async def item_command_execution_request_approval(
        self, params: CommandExecutionRequestApprovalParams
    ) -> CommandExecutionRequestApprovalResponse:
        await asyncio.sleep(0)
        return CommandExecutionRequestApprovalResponse(decision="decline")


def remote_clients(url: str, home: str) -> None:
    """Each connect classmethod returns the client class it is called on and takes that client's handler."""
    remote: Codex = Codex.connect(url, token="t", handler=Approver())
    daemon: Codex = Codex.connect_daemon(codex_home=home, reconnect=True)
    piped: Codex = Codex.connect_command(["ssh", "host", "codex", "app-server", "proxy"], token_file=home)
    async_remote: AsyncCodex = AsyncCodex.connect(url, handler=AsyncApprover())
    async_daemon: AsyncCodex = AsyncCodex.connect_daemon(handler=Approver())
    async_piped: AsyncCodex = AsyncCodex.connect_command(["proxy"], jwt_secret_file=home, jwt_ttl=60.0)
    async_remote.set_handler(Approver())
    async_daemon.set_handler(AsyncApprover())
    print(remote, daemon, piped, async_remote, async_daemon, async_piped)
    # Calls that must stay type errors (mypy fails on an unused ignore):
    Codex.connect(url, handler=AsyncApprover())  # type: ignore[arg-type]
    Codex.connect_daemon(handler=AsyncApprover())  # type: ignore[arg-type]
    AsyncCodex.connect_command(["proxy"], handler=object())  # type: ignore[arg-type]
    wrong_flavour: AsyncCodex = Codex.connect(url)  # type: ignore[assignment]
    Codex.connect_daemon(home)  # type: ignore[call-arg]
    remote.set_handler(AsyncApprover())  # type: ignore[arg-type]
    print(wrong_flavour)


def inputs() -> list[Input]:
    item: InputItem = TextInput("Describe these.")
    many: Input = [item, ImageInput("https://example.com/a.png"), LocalImageInput("a.png")]
    return [many, SkillInput(name="lint", path="skills/lint"), MentionInput(name="main", path="src/main.py")]


def sync_api(config: AppServerConfig) -> str | None:
    policy: AskForApproval = "untrusted"
    with Codex(config, handler=Approver()) as codex:
        metadata: InitializeResponse = codex.metadata
        user_agent: str = metadata.user_agent
        client: AppServerClient = codex.client
        settings: ConfigReadResponse = client.config_read()
        models: ModelListResponse = codex.models(include_hidden=True)
        threads: ThreadListResponse = codex.thread_list(limit=10, archived=False)

        thread: Thread = codex.thread_start(
            model="gpt-5.4",
            config={"model_reasoning_effort": "high"},
            approval_policy=policy,
            sandbox=SandboxMode.read_only,
        )
        # Enum parameters take the member or its wire string.
        by_string: Thread = codex.thread_start(sandbox="read-only", personality="pragmatic", approval_policy="never")
        by_member: Thread = codex.thread_start(sandbox=SandboxMode.workspace_write, personality=Personality.friendly)
        listed_by_string: ThreadListResponse = client.thread_list(sort_key="updated_at", sort_direction="desc")
        effort: ReasoningEffort = "high"
        result: RunResult = thread.run("Say hello.", effort=effort)
        turn_usage: TokenUsageBreakdown | None = result.turn_usage
        pid: int | None = codex.pid
        every_thread: Iterator[ThreadModel] = client.iter_thread_list(limit=5, archived=False)
        final: str | None = result.final_response
        items: list[ThreadItem] = result.items
        usage: ThreadTokenUsage | None = result.usage
        texts: list[str] = [item.text for item in items if isinstance(item, AgentMessageThreadItem)]

        handle: TurnHandle = thread.turn([TextInput("Stream this.")])
        events: Iterator[Notification] = handle.stream()
        for event in events:
            if isinstance(event, ItemAgentMessageDeltaEvent):
                delta: str = event.params.delta
                print(delta, end="")
            elif isinstance(event, TurnCompletedEvent):
                done: TurnStatus = event.params.turn.status
                print(done.value)
        steered: TurnSteerResponse = handle.steer(TextInput("Shorter, please."))
        stopped: TurnInterruptResponse = handle.interrupt()
        turn: Turn = handle.run()
        error: TurnError | None = turn.error
        current: Turn = handle.turn
        so_far: RunResult = handle.result

        read: ThreadReadResponse = thread.read(include_turns=True)
        named: ThreadSetNameResponse = thread.set_name("greetings")
        compacted: ThreadCompactStartResponse = thread.compact()
        resumed: Thread = codex.thread_resume(thread.id, model="gpt-5.4")
        forked: Thread = codex.thread_fork(thread.id, ephemeral=True)
        archived: ThreadArchiveResponse = codex.thread_archive(forked.id)
        restored: Thread = codex.thread_unarchive(forked.id)
        try:
            thread.run("Again.")
        except TurnFailedError as failed:
            print(failed.error)

        params = TurnStartParams(thread_id=thread.id, input=[])
        print(user_agent, settings, models, threads, final, usage, texts, steered, stopped, error, read, named)
        print(compacted, resumed, archived, restored, params, by_string, by_member, listed_by_string)
        print(turn_usage, pid, current, so_far, [t.id for t in every_thread])

        # Calls that must stay type errors (mypy fails on an unused ignore):
        thread.run("x", approval_policy="sometimes")  # type: ignore[arg-type]
        codex.thread_start(sandbox="readonly")  # type: ignore[arg-type]
        thread.run("x", effort=3)  # type: ignore[arg-type]
        thread.run(42)  # type: ignore[arg-type]
        codex.thread_start(no_such_keyword=True)  # type: ignore[call-arg]
        codex.thread_resume()  # type: ignore[call-arg]
        codex.models(True)  # type: ignore[call-arg, arg-type]
        client.thread_read("positional-id")  # type: ignore[call-arg]
        bad_final: int = result.final_response  # type: ignore[assignment]
        return final if bad_final else None


async def async_api(config: AppServerConfig) -> list[str]:
    async with AsyncCodex(config, handler=AsyncApprover()) as codex:
        metadata: InitializeResponse = codex.metadata
        client: AsyncAppServerClient = codex.client
        settings: ConfigReadResponse = await client.config_read()
        thread: AsyncThread = await codex.thread_start(model="gpt-5.4", sandbox="workspace-write")
        result: RunResult = await thread.run("Say hello.")
        handle: AsyncTurnHandle = await thread.turn(TextInput("Stream this."))
        stream: AsyncIterator[Notification] = handle.stream()
        deltas: list[str] = [e.params.delta async for e in stream if isinstance(e, ItemAgentMessageDeltaEvent)]
        turn: Turn = await handle.run()
        listed: ThreadListResponse = await codex.thread_list()
        all_ids: list[str] = [t.id async for t in client.iter_thread_list(limit=5)]
        restored: AsyncThread = await codex.thread_unarchive(thread.id)
        await codex.close()
        print(metadata, settings, result, turn, listed, restored, all_ids)
        await thread.run("x", approval_policy="sometimes")  # type: ignore[arg-type]
        codex.models(include_hidden="yes")  # type: ignore[arg-type, unused-coroutine]
        return deltas


def over_tls(token_file: str) -> Codex:
    context: ssl.SSLContext = ssl.create_default_context(cafile="ca.pem")
    Codex.connect("wss://host:443", ssl_context="ca.pem")  # type: ignore[arg-type]
    return Codex.connect("wss://host:443", token_file=token_file, ssl_context=context)


def lowlevel_clients(token_file: str) -> int:
    """The low-level clients with a connection of their own."""
    with AppServerClient.connect("ws://127.0.0.1:4500", token_file=token_file, handler=Approver()) as client:
        own: AppServerClient = client
        version: str | None = own.server_version
        listed: ThreadListResponse = own.thread_list(limit=1)
    piped: AppServerClient = AppServerClient.connect_command(["ssh", "host", "codex", "app-server", "proxy"])
    piped.close()
    daemon: AsyncAppServerClient = AsyncAppServerClient.connect_daemon(handler=AsyncApprover())
    AppServerClient.connect("ws://127.0.0.1:4500", codex_bin="codex")  # type: ignore[call-arg]
    AsyncAppServerClient.connect(42)  # type: ignore[arg-type]
    print(version, daemon)
    return len(listed.data)


async def async_lowlevel_client() -> InitializeResponse:
    async with AsyncAppServerClient.connect("unix://", reconnect=True) as client:
        own: AsyncAppServerClient = client
        await own.thread_loaded_list()
        metadata: InitializeResponse = await own.start()
    await client.close()
    return metadata


def errors(exc: Exception) -> bool:
    if isinstance(exc, (MethodNotFoundError, InvalidParamsError, ServerBusyError)):
        code: int = exc.code
        return code < 0
    return isinstance(exc, JsonRpcError) and is_retryable_error(exc)


def retried(codex: Codex) -> ModelListResponse:
    options: RetryOptions = {"max_attempts": 5, "initial_delay_s": 0.5, "sleep": None}
    tuned: ModelListResponse = retry_on_overload(lambda: codex.models(), **options)
    spelt_out: ModelListResponse = retry_on_overload(lambda: codex.models(), max_delay_s=4.0, jitter_ratio=0.1)
    print(tuned, spelt_out)
    # Calls that must stay type errors (mypy fails on an unused ignore):
    retry_on_overload(lambda: codex.models(), max_attempt=5)  # type: ignore[call-overload]
    retry_on_overload(lambda: codex.models(), jitter_ratio="low")  # type: ignore[call-overload]
    return retry_on_overload(lambda: codex.models())


async def retried_async(codex: AsyncCodex) -> ModelListResponse:
    first: ModelListResponse = await retry_on_overload(lambda: codex.models(), rand=lambda: 0.5)
    print(first)
    await async_retry_on_overload(lambda: codex.models(), max_attempts="3")  # type: ignore[arg-type]
    return await async_retry_on_overload(lambda: codex.models(), max_attempts=2)


def testing_kit(home: str) -> str | None:
    """A user's offline test, as the testing kit documents it."""
    with FakeProvider([Text("Hi!"), HttpError(429)]) as provider:
        config: AppServerConfig = offline_config(provider, home=home)
        tools_config: AppServerConfig = offline_config(provider, home=home, experimental_api=True, request_timeout=None)
        offline_config(provider, home=home, experimental_api="yes")  # type: ignore[arg-type]
        offline_config(provider, home=home, experimental=True)  # type: ignore[call-arg]
        print(tools_config)
        with Codex(config) as codex:
            answer: str | None = codex.thread_start().run("Say hi").final_response
        requests: list[Any] = provider.requests
        print(requests)
        return answer


def accounts_and_listing(codex: Codex) -> list[str]:
    """Logging in, listing every thread, opting out of notifications."""
    with codex.login_chatgpt() as login:
        url: str = login.response.auth_url
        login_id: str | None = login.login_id
        completed: AccountLoginCompletedNotification = login.wait(timeout=300.0)
        print(url, login_id, completed.success)
    key_login: LoginHandle[ApiKeyv2LoginAccountResponse] = codex.login_api_key("sk-...")
    status: CancelLoginAccountStatus = key_login.cancel()
    device: str = codex.login_device_code().response.user_code
    signed_in: GetAccountResponse = codex.account()
    print(status, device, signed_in)
    summaries: Iterator[ThreadModel] = codex.threads(limit=20, sort_direction="desc")
    quiet = AppServerConfig(capabilities={"opt_out_notification_methods": ["item/agentMessage/delta"]})
    typed = AppServerConfig(capabilities=InitializeCapabilities(opt_out_notification_methods=["thread/started"]))
    print(quiet, typed)
    # Calls that must stay type errors (mypy fails on an unused ignore):
    codex.login_api_key(123)  # type: ignore[arg-type]
    print(codex.login_chatgpt().response.user_code)  # type: ignore[attr-defined]
    codex.threads(cursor="x")  # type: ignore[call-arg]
    return [summary.id for summary in summaries]


async def accounts_async(codex: AsyncCodex) -> str | None:
    async with await codex.login_chatgpt() as login:
        print(login.response.auth_url)
        completed: AccountLoginCompletedNotification = await login.wait()
    ids: list[str] = [summary.id async for summary in codex.threads()]
    print(completed, ids)
    return login.login_id


class Answer(BaseModel):
    city: str
    celsius: float


@tool
def get_weather(city: str) -> str:
    """Today's weather.

    Args:
        city: The city's name.
    """
    return f"{city}: sunny"


@tool(namespace="files", description="Read a file.")
async def read_file(path: str) -> str:
    return path


def structured_output(codex: Codex) -> float:
    """``output_type`` types ``result.parsed``; without it, parsed is None."""
    thread = codex.thread_start()
    result = thread.run("Weather in Oslo as JSON", output_type=Answer)
    assert_type(result, RunResult[Answer])
    answer: Answer = result.parsed
    plain = thread.run("Hi")
    assert_type(plain.parsed, None)
    handle: TurnHandle[Answer] = thread.turn("Again", output_type=Answer)
    handle.run()
    assert_type(handle.result.parsed, Answer | None)
    later: Answer | None = handle.result.parsed
    print(later, get_weather("Oslo"))
    with_tools: Thread = codex.thread_start(tools=[get_weather, read_file])
    with_tools.use_tools([get_weather])
    codex.thread_start(tools=[3])  # type: ignore[list-item]
    print(thread.run("x", output_type=Answer).parsed.missing)  # type: ignore[attr-defined]
    return answer.celsius


async def structured_output_async(codex: AsyncCodex) -> str:
    thread = await codex.thread_start()
    result = await thread.run("Weather?", output_type=Answer)
    assert_type(result.parsed, Answer)
    print(await read_file("x"))
    return result.parsed.city
