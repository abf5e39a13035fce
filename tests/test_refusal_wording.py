"""Refusals carry a reason code and facts; the application words them in Vietnamese.

The engine's rules and guards give their own messages (not docstrings, which ``python -OO``
drops); ``cchc.refusals`` turns the code and facts into one Vietnamese sentence.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cchc import refusals
from cchc.runtime import registry as runtime_registry
from tests.conftest import DEFINITIONS, ROOT, TENANT, Db
from tests.helpers import instance_in
from workflows.database import unit_of_work
from workflows.engine import Engine
from workflows.errors import GuardFailedError, TransitionRefusedError, TriggerNotAllowedError
from workflows.registry import Actor
from workflows.rules import FIRE_RULES

ROLE_LABELS = {"author": "Người soạn thảo", "reviewer": "Người xem xét"}


def _refused(db: Db, engine: Engine, instance_id: int, trigger: str, actor: Actor) -> Exception:
    with pytest.raises(TransitionRefusedError) as refused, unit_of_work(db.sessions) as session:
        engine.fire(session, instance_id, trigger, actor=actor)
    return refused.value


def test_a_trigger_refused_in_a_state_gives_its_code_facts_and_a_vietnamese_sentence(
    db: Db, engine: Engine, author: Actor
) -> None:
    """Resubmitting a submitted request: reason code, rule and state facts; the sentence names
    the state and the possible actions by their labels, without the English text."""
    instance_id = instance_in(db, engine, "submitted", author, author, "REQ-1")
    error = _refused(db, engine, instance_id, "resubmit", author)
    assert isinstance(error, TriggerNotAllowedError)
    assert error.reason_code == "trigger_not_allowed"
    assert error.facts["rule"] == "trigger_from_state"
    assert error.facts["state_label"] == "Đã trình, chờ xem xét"
    assert "accept" in error.facts["possible"]
    sentence = refusals.refusal_sentence(error, ROLE_LABELS)
    assert sentence.startswith("Thao tác bị từ chối – thao tác không hợp lệ ở trạng thái này: ")
    assert "đang ở trạng thái “Đã trình, chờ xem xét” nên không thể “Trình lại”" in sentence
    assert "“Chấp thuận”" in sentence
    assert "cannot fire" not in sentence
    assert "cannot fire from there" in str(error)


def test_a_missing_role_is_worded_with_the_role_labels(
    db: Db, engine: Engine, author: Actor
) -> None:
    """An author accepting: the sentence names the roles needed and held by their labels."""
    instance_id = instance_in(db, engine, "submitted", author, author, "REQ-1")
    error = _refused(db, engine, instance_id, "accept", author)
    assert (error.reason_code, error.facts["rule"]) == ("not_permitted", "role_held")
    sentence = refusals.refusal_sentence(error, ROLE_LABELS)
    assert "lan.author không có quyền “Chấp thuận” đối với đề nghị phê duyệt REQ-1" in sentence
    assert "vai trò Người xem xét, người này giữ vai trò Người soạn thảo" in sentence


def test_a_failed_guard_gives_its_own_message_and_a_vietnamese_reason(
    db: Db, engine: Engine, author: Actor
) -> None:
    """A guard's refusal is its own message (not its docstring) and is worded per guard."""
    both = Actor.of("hoa", "author", "reviewer", tenant=TENANT)
    instance_id = instance_in(db, engine, "submitted", both, author, "REQ-1")
    error = _refused(db, engine, instance_id, "accept", both)
    assert isinstance(error, GuardFailedError)
    assert error.facts["guard"] == "not_creator"
    assert "four-eyes rule" in str(error)
    sentence = refusals.refusal_sentence(error)
    assert "người tạo hồ sơ không được tự quyết định về hồ sơ đó" in sentence


def test_every_rule_and_guard_has_a_vietnamese_wording() -> None:
    """Each rule of the fire path, the create and replay rules and every registered guard are
    worded by cchc.refusals (a new rule or guard without wording fails here)."""
    named = {rule.name for rule in FIRE_RULES} | {"create_role_held", "replay_role_held"}
    assert named <= set(refusals.WORDED_RULES)
    assert set(runtime_registry().guards) <= set(refusals.GUARD_TEXTS)
    assert set(refusals.REFUSAL_LABELS) >= {rule.code for rule in FIRE_RULES}


OPTIMIZED = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from pathlib import Path

    from cchc.refusals import refusal_sentence
    from cchc.runtime import registry
    from notifications.catalog import template_names
    from workflows.database import make_engine, session_factory, unit_of_work
    from workflows.definition.loader import load_definitions
    from workflows.engine import Engine
    from workflows.errors import GuardFailedError
    from workflows.registry import Actor
    from workflows.schema import Base

    assert sys.flags.optimize == 2 and Engine.fire.__doc__ is None
    db = make_engine(f"sqlite:///{sys.argv[1]}")
    Base.metadata.create_all(db)
    sessions = session_factory(db)
    definitions = load_definitions([Path(sys.argv[2])], registry=registry(),
                                   templates=template_names())
    engine = Engine(definitions, registry(), clock=lambda: datetime(2025, 11, 3, tzinfo=UTC))
    both = Actor.of("hoa", "author", "reviewer", tenant="t")
    author = Actor.of("lan", "author", tenant="t")
    with unit_of_work(sessions) as session:
        made = engine.create(session, "approval_request", actor=both, ref="REQ-1")
        engine.fire(session, made.instance_id, "submit", actor=author)
    try:
        with unit_of_work(sessions) as session:
            engine.fire(session, made.instance_id, "accept", actor=both)
    except GuardFailedError as exc:
        print(exc)
        print(refusal_sentence(exc))
    """
)


def test_a_guards_refusal_message_survives_python_oo(tmp_path: Path) -> None:
    """Under ``python -OO`` (no docstrings) a failed guard still says why, in the error and in
    the Vietnamese sentence."""
    script = tmp_path / "optimized.py"
    script.write_text(OPTIMIZED, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-OO", str(script), str(tmp_path / "oo.sqlite3"), str(DEFINITIONS)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr
    error_line, sentence = done.stdout.splitlines()
    assert "refused by guard 'not_creator': Prevents anyone from deciding" in error_line
    assert "người tạo hồ sơ không được tự quyết định" in sentence
