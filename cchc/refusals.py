"""Refusals worded for officials: one Vietnamese sentence from the engine's reason code and facts.

The engine says why it refused as a reason code (``not_permitted`` …), the rule that decided
(``role_held`` …) and facts (the actor, the roles needed, the state …); its English sentence is
for developers (the error's ``str()`` and the audit trail's reason). This module is the one
place that turns the code and facts into Vietnamese.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from workflows.errors import TransitionRefusedError

REFUSAL_LABELS = {
    "not_permitted": "không có quyền",
    "trigger_not_allowed": "thao tác không hợp lệ ở trạng thái này",
    "guard_failed": "không đáp ứng điều kiện",
    "payload_invalid": "thiếu thông tin bắt buộc",
    "separation_of_duties": "người đã nộp không được tự quyết định",
    "identity_refused": "không được hành động thay người khác",
    "account_refused": "thao tác với tài khoản bị từ chối",
    "sign_in_refused": "đăng nhập bị từ chối",
    "invite_invalid": "liên kết đặt mật khẩu không hợp lệ",
}
"""Reason code → the short Vietnamese label (the audit history shows it too)."""

GUARD_TEXTS = {
    "not_creator": "người tạo hồ sơ không được tự quyết định về hồ sơ đó",
    "payload_has_attachment": "phải đính kèm ít nhất một tệp",
    "own_unit": "việc này thuộc đơn vị {owner_unit}, không phải đơn vị của người thực hiện"
    " ({actor_unit})",
    "own_unit_or_focal": "việc này thuộc đơn vị {owner_unit}, không phải đơn vị của người thực"
    " hiện ({actor_unit}); chỉ công chức đầu mối CCHC được làm thay đơn vị khác",
    "own_unit_or_ward": "việc này thuộc đơn vị {owner_unit}, không phải đơn vị của người thực"
    " hiện ({actor_unit}); chỉ lãnh đạo UBND được làm thay đơn vị khác",
    "hash_matches": "tệp đang lưu không phải phiên bản người duyệt đã xem (mã SHA-256 khác nhau)",
    "explained_if_incomplete": "tài liệu kiểm chứng chưa đầy đủ thì phải có giải trình",
}
"""Guard name → what it requires, in Vietnamese (``{fact}`` filled from the guard's facts)."""

FIELD_LABELS = {
    "reason": "lý do",
    "sha256": "mã SHA-256 của tệp đã xem",
    "points": "điểm tự chấm",
    "product": "sản phẩm",
    "decision_number": "số quyết định",
    "decision_date": "ngày quyết định",
    "notice_number": "số thông báo",
}
"""Payload field → its Vietnamese name."""

NONE = "không có"


def refusal_label(code: str) -> str:
    """The short Vietnamese label of a reason code (the code itself when unknown)."""
    return REFUSAL_LABELS.get(code, code)


def refusal_sentence(
    error: TransitionRefusedError, role_labels: Mapping[str, str] | None = None
) -> str:
    """One Vietnamese sentence saying why ``error`` was refused, from its code and facts.

    ``role_labels`` names roles (``focal_official`` → ``Công chức đầu mối CCHC``); without it
    the role names are shown. A refusal without facts (raised by code that gave none) gets
    the label of its code.
    """
    facts = error.facts
    roles = dict(role_labels or {})
    rule = str(facts.get("rule", ""))
    wording = _WORDINGS.get(rule)
    label = refusal_label(error.reason_code)
    if wording is None:  # a refusal this module does not know: its code's label and detail
        return f"Thao tác bị từ chối – {label} ({error})."
    text = wording(_Facts(facts, roles))
    return f"Thao tác bị từ chối – {label}: {text}{'' if text.endswith('?') else '.'}"


class _Facts:
    """The facts of a refusal with the few phrases every wording needs."""

    def __init__(self, facts: Mapping[str, Any], roles: Mapping[str, str]) -> None:
        self.facts = facts
        self.roles = roles

    def __getitem__(self, name: str) -> str:
        value = self.facts.get(name)
        return "" if value is None else str(value)

    def actor(self) -> str:
        return self["actor"] or "người thực hiện"

    def item(self) -> str:
        """``nhiệm vụ kế hoạch CCHC KH-01/NV-03``: the kind's title and the instance's ref."""
        title = self["kind_title"] or self["kind"]
        title = title[:1].lower() + title[1:]
        return f"{title} {self['ref']}".strip()

    def action(self, name: str = "trigger") -> str:
        """The trigger's label in quotes (``“Chấp thuận”``)."""
        text = self[f"{name}_label"] or self[name]
        return f"“{text}”"

    def role_list(self, name: str) -> str:
        names: Sequence[str] = self.facts.get(name) or ()
        return ", ".join(self.roles.get(r, r) for r in names) or NONE

    def state(self) -> str:
        return f"“{self['state_label'] or self['state']}”"


def _same_tenant(f: _Facts) -> str:
    return (
        f"{f.actor()} thuộc {f['actor_tenant']} nên không được thao tác trên {f.item()} "
        f"của {f['tenant']}"
    )


def _known_trigger(f: _Facts) -> str:
    text = f"{f.item()} không có thao tác “{f['trigger']}”"
    if f["suggestion"]:
        text += f"; có phải ý là {f.action('suggestion')} (“{f['suggestion']}”)?"
    return text


def _trigger_from_state(f: _Facts) -> str:
    possible = ", ".join(f"“{p}”" for p in f.facts.get("possible_labels") or ()) or NONE
    return (
        f"{f.item()} đang ở trạng thái {f.state()} nên không thể {f.action()}; "
        f"các thao tác làm được lúc này: {possible}"
    )


def _role_held(f: _Facts) -> str:
    return (
        f"{f.actor()} không có quyền {f.action()} đối với {f.item()}; việc này cần một trong "
        f"các vai trò {f.role_list('roles')}, người này giữ vai trò {f.role_list('held')}"
    )


def _replay_role_held(f: _Facts) -> str:
    return (
        f"{f.actor()} không có quyền lặp lại thao tác “{f['trigger']}” trên {f.item()}; việc "
        f"này cần một trong các vai trò {f.role_list('roles')}, người này giữ vai trò "
        f"{f.role_list('held')}"
    )


def _create_role_held(f: _Facts) -> str:
    title = f["kind_title"] or f["kind"]
    return (
        f"{f.actor()} không có quyền tạo {title[:1].lower() + title[1:]}; việc này cần một "
        f"trong các vai trò {f.role_list('roles')}, người này giữ vai trò {f.role_list('held')}"
    )


def _payload_complete(f: _Facts) -> str:
    missing = ", ".join(FIELD_LABELS.get(m, m) for m in f.facts.get("missing") or ())
    return f"{f.action()} đối với {f.item()} cần có {missing} (không được để trống)"


def _separation_of_duties(f: _Facts) -> str:
    fired = f.facts.get("fired") or ()
    labels = f.facts.get("fired_labels") or fired
    done = ", ".join(
        "tạo hồ sơ" if trigger == "create" else f"“{label}”"
        for trigger, label in zip(fired, labels, strict=False)
    )
    return (
        f"{f.actor()} là người đã {done} ở {f.item()} nên không được tự {f.action()}; việc "
        "này phải do người khác làm"
    )


def _guards(f: _Facts) -> str:
    template = GUARD_TEXTS.get(f["guard"])
    facts = {k: ("" if v is None else str(v)) for k, v in f.facts.items()}
    why = template.format_map(_Blank(facts)) if template else f"điều kiện “{f['guard']}”"
    return f"không thể {f.action()} đối với {f.item()} vì {why} (điều kiện {f['guard']})"


def _evidence_unit(f: _Facts) -> str:
    return (
        f"{f.actor()} (đơn vị {f['actor_unit'] or NONE}) không được nộp tài liệu kiểm chứng "
        f"cho {f['target']} của kế hoạch {f['plan']}; mục này thuộc đơn vị "
        f"{f['owner_unit'] or NONE}"
    )


def _city_tenant(f: _Facts) -> str:
    return (
        f"{f.actor()} thuộc {f['actor_tenant']} nên không được xếp hạng các phường, xã của "
        f"{f['city']}; chỉ công chức của thành phố làm việc này"
    )


def _command_role(f: _Facts) -> str:
    return (
        f"{f.actor()} không có quyền làm việc này (“{f['what']}”); việc này cần một trong các "
        f"vai trò {f.role_list('roles')}, người này giữ vai trò {f.role_list('held')}"
    )


def _import_other_units(f: _Facts) -> str:
    units = ", ".join(f.facts.get("units") or ())
    return (
        f"{f.actor()} (đơn vị {f['actor_unit'] or NONE}) chỉ được nhập số liệu của đơn vị mình, "
        f"không được nhập số liệu của đơn vị {units}; việc này cần một trong các vai trò "
        f"{f.role_list('roles')}"
    )


def _cli_identity(f: _Facts) -> str:
    mapped = f["mapped"] or "không ai trong tổ chức"
    return (
        f"tài khoản hệ điều hành “{f['account']}” ứng với {mapped}, nên lệnh không được chạy "
        f"với tư cách {f.actor()} (CCHC_CLI_IDENTITY=os)"
    )


def _read_scope(f: _Facts) -> str:
    return f"{f.actor()} không có quyền xem nội dung này (“{f['what']}”)"


class _Blank(dict[str, str]):
    """Facts for ``str.format_map``: a fact the guard did not give reads as an empty text."""

    def __missing__(self, key: str) -> str:
        return ""


_WORDINGS = {
    "same_tenant": _same_tenant,
    "known_trigger": _known_trigger,
    "trigger_from_state": _trigger_from_state,
    "role_held": _role_held,
    "replay_role_held": _replay_role_held,
    "create_role_held": _create_role_held,
    "payload_complete": _payload_complete,
    "separation_of_duties": _separation_of_duties,
    "guards": _guards,
    "evidence_unit": _evidence_unit,
    "city_tenant": _city_tenant,
    "command_role": _command_role,
    "import_other_units": _import_other_units,
    "read_scope": _read_scope,
    "cli_identity": _cli_identity,
}
"""The engine's rules (and the application's own refusals) → their Vietnamese wording."""

WORDED_RULES = frozenset(_WORDINGS)
"""The rules this module words (any other refusal gets the label of its code)."""
