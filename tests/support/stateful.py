"""Schemathesis' state machine over the published OpenAPI links, through the session's client.

The same arrangement as :mod:`tests.support.contract` (read its docstring): schemathesis
generates and judges, requests go through an ``httpx.AsyncClient`` over ASGI on the session
loop, Hypothesis runs in a worker thread. :func:`explore_links` follows the links the document
publishes (create → read → act …) in seeded scenarios and collects what the checks find over
the whole run instead of stopping at the first failure.
"""

from __future__ import annotations

import asyncio
import unicodedata
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky
from hypothesis.stateful import Bundle
from schemathesis import Case, CheckFunction, GenerationMode
from schemathesis.core import NOT_SET
from schemathesis.core.failures import FailureGroup
from schemathesis.core.transport import Response
from schemathesis.engine.errors import is_inconsistent_replay
from schemathesis.generation.feedback import NO_FEEDBACK
from schemathesis.generation.stateful import run_state_machine_as_test
from schemathesis.generation.stateful.state_machine import APIStateMachine, StepInput, StepOutput
from schemathesis.hooks import HookContext
from schemathesis.specs.openapi.schemas import OpenApiSchema
from schemathesis.specs.openapi.stateful import _step_case_strategy, transition

from tests.support.contract import RunReport, record_failures, send_case

__all__ = ["LinkWalk", "Template", "explore_links", "use_known_values"]

_MAX_ROUNDS = 30
"""Rounds (one seed each) before a run gives up reaching its scenario count; see
:func:`explore_links` on why a round can end early."""


@dataclass
class LinkWalk:
    """What a state-machine run did: the contract report plus how far the links carried it."""

    report: RunReport
    scenarios: int = 0
    linked_steps: int = 0
    answered: Counter[str] = field(default_factory=Counter)
    """Link (``source -> status -> name -> target``) → 2xx answers after following it."""
    rounds_cut_short: list[str] = field(default_factory=list)
    calls: Counter[tuple[str, int]] = field(default_factory=Counter)
    """(operation, status) → how often it answered so."""

    def render_calls(self) -> str:
        by_operation: dict[str, dict[int, int]] = {}
        for (label, status), seen in sorted(self.calls.items()):
            by_operation.setdefault(label, {})[status] = seen
        return "\n".join(f"  {label}: {statuses}" for label, statuses in by_operation.items())

    def render(self) -> str:
        return (
            f"{self.scenarios} scenarios ({len(self.rounds_cut_short)} rounds cut short), "
            f"{self.report.examples} requests, {self.linked_steps} along a link, "
            f"{len(self.answered)} distinct links answered 2xx"
        )


def _substitute(
    values: Mapping[str, Sequence[str]], current: dict[str, Any]
) -> st.SearchStrategy[dict[str, Any]]:
    keys = sorted(k for k in current if values.get(k))
    if not keys:
        return st.just(current)
    # Known values first: Hypothesis favours a ``one_of``'s first branch.
    choices = {k: st.one_of(st.sampled_from(list(values[k])), st.just(current[k])) for k in keys}
    return st.fixed_dictionaries(choices).map(lambda chosen: {**current, **chosen})


def use_known_values(
    schema: OpenApiSchema,
    *,
    path: Mapping[str, Sequence[str]],
    body: Mapping[str, Sequence[str]],
) -> None:
    """Let generation pick existing resources for generated path parameters and body fields.

    Values a link supplies are not generated, so the hook never overrides a link. Each field is
    swapped or kept by a Hypothesis draw (seeded, like everything else in the run).
    """

    def flatmap_path_parameters(context: HookContext, value: Any) -> st.SearchStrategy[Any]:
        return _substitute(path, value) if isinstance(value, dict) else st.just(value)

    def flatmap_body(context: HookContext, value: Any) -> st.SearchStrategy[Any]:
        return _substitute(body, value) if isinstance(value, dict) else st.just(value)

    schema.hooks.register_hook_with_name(flatmap_path_parameters, "flatmap_path_parameters")
    schema.hooks.register_hook_with_name(flatmap_body, "flatmap_body")


def _readable(value: Any) -> Any:
    if isinstance(value, str):
        kept = "".join(c for c in value if unicodedata.category(c)[0] != "C")
        return kept or ("甲" if value else value)
    if isinstance(value, list):
        return [_readable(v) for v in value]
    if isinstance(value, dict):
        return {k: _readable(v) for k, v in value.items()}
    return value


def _printable(case: Case[Any]) -> Case[Any]:
    """Without control characters, which the API rightly refuses in every text field."""
    if isinstance(case.body, dict):
        case.body = _readable(case.body)
    return case


Template = Callable[[uuid.UUID], dict[str, Any]]
"""A plausible body for a fresh resource, given a fresh id."""


def _starts(schema: OpenApiSchema, starts: Mapping[str, Template | None]) -> dict[str, Any]:
    """Scenario-starting rules: positive requests to the operations named in ``starts``.

    Schemathesis would start scenarios at any POST or list operation, mostly actions on
    resources that do not exist; a walk that begins where a client begins (creating a resource,
    listing) gets further along the links. A template, when given, is used for half the
    requests, so creates succeed often enough to feed the links that follow.
    """
    rules: dict[str, Any] = {}
    for operation_id, template in starts.items():
        operation = schema.find_operation_by_id(operation_id)

        def positive(body: Any = NOT_SET, operation: Any = operation) -> st.SearchStrategy[Any]:
            return _step_case_strategy(
                operation, [GenerationMode.POSITIVE], feedback=NO_FEEDBACK, body=body
            )

        cases = positive().map(_printable)
        if template is not None:
            cases = st.one_of(st.uuids().map(template).flatmap(positive), cases)
        name = f"START_{operation_id}"
        rules[name] = transition(
            name=name,
            target=Bundle("catch_all"),
            input=cases.map(StepInput.initial),
            precondition=lambda machine: True,
        )
    return rules


def _explorer(
    base: type[APIStateMachine],
    *,
    send: Callable[[Case[Any]], httpx.Response],
    judge: Callable[[Case[Any], httpx.Response], None],
    walk: LinkWalk,
    starts: dict[str, Any],
) -> type[APIStateMachine]:
    class Explorer(base):  # type: ignore[valid-type, misc]
        """Sends through ``send`` and hands every answer to ``judge`` instead of raising."""

        _sent: httpx.Response

        def setup(self) -> None:
            walk.scenarios += 1

        def step(self, input: StepInput) -> StepOutput:
            output: StepOutput = super().step(input)
            if input.transition is not None and input.is_applied:
                walk.linked_steps += 1
                if 200 <= output.response.status_code < 300:
                    walk.answered[input.transition.id] += 1
            return output

        def call(self, case: Case[Any], **kwargs: Any) -> Response:
            self._sent = send(case)
            return Response.from_httpx(self._sent, verify=False)

        def validate_response(
            self,
            response: Response,
            case: Case[Any],
            additional_checks: Any = None,
            **kwargs: Any,
        ) -> None:
            judge(case, self._sent)

    for name in base.root_rules:  # no longer rules: the starts replace them
        setattr(Explorer, name, None)
    for name, rule in starts.items():
        setattr(Explorer, name, rule)
    Explorer.root_rules = frozenset(starts)
    return Explorer


def explore_links(
    *,
    schema: OpenApiSchema,
    client: httpx.AsyncClient,
    loop: asyncio.AbstractEventLoop,
    headers: Mapping[str, str],
    checks: Sequence[CheckFunction],
    scenarios: int,
    max_steps: int,
    random_seed: int,
    prepare: Callable[[Case[Any]], None] | None = None,
    starts: Mapping[str, Template | None],
) -> LinkWalk:
    """Run schemathesis' state machine over ``schema``'s links; return what the checks found.

    ``scenarios`` sequences of up to ``max_steps`` calls each, seeded, no example database, no
    shrinking (nothing is raised, so there is nothing to shrink). ``prepare`` may adjust a case
    just before it is sent; ``starts`` names the operations that open a scenario (see
    :func:`_starts`). Runs Hypothesis synchronously: call it from a worker thread.

    The API is state Hypothesis cannot see: replaying a prefix may answer differently (a
    create that succeeded now finds a duplicate), so which links can be followed next changes
    and Hypothesis ends the run as flaky. Schemathesis' own runner ends the suite there too;
    this one starts another round with the next seed until ``scenarios`` have run.
    """
    walk = LinkWalk(report=RunReport(operation="stateful links"))
    report = walk.report

    def send(case: Case[Any]) -> httpx.Response:
        if prepare is not None:
            prepare(case)
        response = send_case(client, loop, case, headers)
        report.examples += 1
        report.statuses[response.status_code] = report.statuses.get(response.status_code, 0) + 1
        walk.calls[case.operation.label, response.status_code] += 1
        return response

    def judge(case: Case[Any], response: httpx.Response) -> None:
        try:
            case.validate_response(response, checks=list(checks), headers=dict(headers))
        except FailureGroup as group:
            record_failures(report, response, group, operation=case.operation.label)

    machine = _explorer(
        schema.as_state_machine(),
        send=send,
        judge=judge,
        walk=walk,
        starts=_starts(schema, starts),
    )
    for round_ in range(_MAX_ROUNDS):
        if walk.scenarios >= scenarios:
            break
        run_settings = settings(
            max_examples=scenarios - walk.scenarios,
            stateful_step_count=max_steps,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=False,
        )
        try:
            run_state_machine_as_test(seed(random_seed + round_)(machine), settings=run_settings)
        except Flaky as exc:
            walk.rounds_cut_short.append(type(exc).__name__)
        except AssertionError as exc:
            if not is_inconsistent_replay(exc):
                raise
            walk.rounds_cut_short.append("inconsistent replay")
    return walk
