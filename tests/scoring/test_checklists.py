"""Checklist YAML format: packaged checklists load; bad files give line-numbered errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from callqa.scoring import (
    ChecklistError,
    load_checklist,
    load_checklists,
    packaged_checklist_dir,
    parse_checklist,
)

MINIMAL = textwrap.dedent("""\
    format: 1
    id: tiny
    version: "2"
    stages:
      - id: contact
        items:
          - id: greeting
            patterns: [добрый день]
""")


def test_packaged_checklists_load_with_versions_and_stages() -> None:
    checklists = {c.id: c for c in load_checklists()}
    assert {"inbound_lead", "outbound_cold", "upsell_service"} <= set(checklists)
    for checklist in checklists.values():
        assert checklist.version
        assert checklist.format_version == 1
        stage_ids = [s.id for s in checklist.stages]
        assert "contact" in stage_ids and "closing" in stage_ids and "objections" in stage_ids
        assert any(item.critical for _, item in checklist.items())
        for _, item in checklist.items():
            assert item.has_positive or item.forbidden or item.forbidden_regex
    cold = checklists["outbound_cold"]
    disclosure = next(i for _, i in cold.items() if i.id == "advertising_disclosure")
    assert disclosure.critical and disclosure.window is not None and disclosure.window.first_s is not None
    assert cold.applies_to.direction == ("outbound",)
    inbound = checklists["inbound_lead"]
    assert {"needs", "presentation"} <= {s.id for s in inbound.stages}


def test_load_by_packaged_id_path_and_folder(tmp_path: Path) -> None:
    assert load_checklist("inbound_lead").id == "inbound_lead"
    path = tmp_path / "tiny.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    tiny = load_checklist(path)
    assert (tiny.id, tiny.version) == ("tiny", "2")
    assert tiny.stages[0].items[0].speaker == "manager"
    assert [c.id for c in load_checklists(tmp_path)] == ["tiny"]
    assert len(load_checklists([path, packaged_checklist_dir() / "outbound_cold.yaml"])) == 2
    with pytest.raises(FileNotFoundError, match="packaged"):
        load_checklist("no_such_checklist")


def test_same_id_and_version_twice_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(MINIMAL, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(MINIMAL, encoding="utf-8")
    with pytest.raises(ValueError, match="defined twice"):
        load_checklists(tmp_path)


def _errors(text: str) -> list[tuple[int, str]]:
    with pytest.raises(ChecklistError) as info:
        parse_checklist(textwrap.dedent(text), source="bad.yaml")
    assert "bad.yaml:" in str(info.value)
    return info.value.errors


def test_unknown_field_is_reported_on_its_line_with_a_suggestion() -> None:
    errors = _errors("""\
        id: x
        version: 1
        stages:
          - id: contact
            items:
              - id: greeting
                patterns: [добрый день]
                weigth: 2
    """)
    assert len(errors) == 1
    line, message = errors[0]
    assert line == 8
    assert "weigth" in message and "did you mean 'weight'" in message


def test_several_errors_each_with_its_line() -> None:
    errors = _errors("""\
        id: x
        version: 1
        stages:
          - id: contact
            items:
              - id: greeting
                speaker: boss
                patterns: [добрый день]
              - id: greeting
                regex: '(unclosed'
              - id: name
                patterns: ["{company_name}"]
                window: {first_s: -5}
              - id: nothing
                weight: 1
    """)
    by_line = {line: message for line, message in errors}
    assert "speaker 'boss' is not one of: manager, client, any" in by_line[7]
    assert "duplicate item id" in by_line[9]
    assert "bad regular expression" in by_line[10]
    assert "unknown placeholder '{company_name}'" in by_line[12]
    assert "first_s must be >= 0" in by_line[13]
    assert "needs at least one of patterns" in by_line[14]


def test_structure_errors() -> None:
    errors = _errors("""\
        id: Bad-Id
        stages: []
        applies_to: {direction: [sideways], class: [lead]}
        critical_cap: 140
    """)
    messages = " | ".join(m for _, m in errors)
    assert "field 'version' is required" in messages
    assert "lower-case letters" in messages
    assert "stages must be a non-empty list" in messages
    assert "'sideways' is not one of" in messages
    assert "critical_cap must be between 0 and 100" in messages
    assert all(line >= 1 for line, _ in errors)


def test_yaml_syntax_error_has_a_line() -> None:
    errors = _errors("id: x\nversion: 1\nstages:\n  - id: [unclosed\n")
    assert errors[0][0] >= 4 and "YAML syntax error" in errors[0][1]


def test_empty_document_and_wrong_format_version() -> None:
    assert "empty document" in _errors("")[0][1]
    errors = _errors(MINIMAL.replace("format: 1", "format: 7"))
    assert errors == [(1, "format 7 is not supported (supported: 1)")]


def test_trigger_needs_an_answer() -> None:
    errors = _errors("""\
        id: x
        version: 1
        stages:
          - id: objections
            items:
              - id: handled
                trigger: [дорого]
                forbidden: [это ваши проблемы]
    """)
    assert errors[0][0] == 7 and "trigger needs patterns, regex or topics" in errors[0][1]
