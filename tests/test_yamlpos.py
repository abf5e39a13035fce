"""YAML with lines: libyaml composes it when present, with the same data, lines and errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from workflows.definition import yamlpos

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted([*ROOT.glob("definitions/**/*.yaml"), *ROOT.glob("examples/*.yaml")])


def test_libyaml_composes_when_pyyaml_has_it() -> None:
    """Every command parses the definitions: with libyaml installed, libyaml does it."""
    assert yaml.__with_libyaml__
    assert yamlpos._FAST_LOADER is yaml.CSafeLoader


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_same_data_and_lines_as_pyyaml(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each shipped YAML file loads to the same data, lines and node count with either parser."""
    text = path.read_text(encoding="utf-8")
    fast = yamlpos.load_located(text)
    monkeypatch.setattr(yamlpos, "_FAST_LOADER", yaml.SafeLoader)
    slow = yamlpos.load_located(text)
    assert (fast.data, fast.lines, fast.duplicate_keys, fast.nodes) == (
        slow.data,
        slow.lines,
        slow.duplicate_keys,
        slow.nodes,
    )


def test_a_syntax_error_quotes_the_line() -> None:
    """A syntax error still carries PyYAML's mark with the offending line quoted."""
    with pytest.raises(yaml.MarkedYAMLError) as raised:
        yamlpos.load_located("kind: task\nstates: [a, b\ntitle: x\n")
    assert raised.value.problem_mark is not None
    assert "title: x" in str(raised.value)


@pytest.mark.parametrize("libyaml", [True, False], ids=["libyaml", "pyyaml"])
def test_text_keys_keep_unquoted_numbers_as_written(libyaml: bool) -> None:
    """`code: 1.10` under a text key reads "1.10" with either parser; other keys are numbers."""
    text = "code: 1.10\nitems:\n  - {code: 7, points: 1.50}\n  - code: '2.0'\n"
    located = yamlpos.load_located(text, text_keys=frozenset({"code"}), libyaml=libyaml)
    expected = {"code": "1.10", "items": [{"code": "7", "points": 1.5}, {"code": "2.0"}]}
    assert located.data == expected
    assert located.nodes == yamlpos.load_located(text).nodes
