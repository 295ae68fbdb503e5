"""The README's settings tables (English and Russian) and deploy/salesbot.env.example are
checked against the settings class: every setting is in each, with the code's default.

The names come from `Settings.model_fields`, so a setting added without its docs fails here.
"""

from __future__ import annotations

import enum
import re
import typing
from pathlib import Path

import pytest

from salesbot.entrypoints.settings import RUN_REQUIRED, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
EXAMPLE = ROOT / "deploy" / "salesbot.env.example"
RUSSIAN_HEADING = "## Руководство оператора (по-русски)"
# The words a table uses for "no default"; per language.
REQUIRED = {"en": "required", "ru": "обязательно"}
UNSET = {"en": "unset", "ru": "не задано"}
# Unset means a fallback described in words (the embedded server, a generated key).
FALLBACK_WHEN_UNSET = {"DATABASE_URL", "SESSION_SECRET"}

ROW = re.compile(r"^\| ((?:`[A-Z][A-Z0-9_]*`(?:, )?)+) \| ([^|]*) \|(.*)\|$")
EXAMPLE_LINE = re.compile(r"^#? ?([A-Z][A-Z0-9_]*)=(.*)$")

SETTINGS = sorted(Settings.model_fields)


def readme_part(language: str) -> str:
    text = README.read_text(encoding="utf-8")
    assert RUSSIAN_HEADING in text
    english, russian = text.split(RUSSIAN_HEADING, 1)
    return english if language == "en" else russian.split("\n## ", 1)[0]


def table_rows(text: str) -> dict[str, tuple[str, str]]:
    """Setting name -> (default cell, the whole row) from every settings table in `text`."""
    rows: dict[str, tuple[str, str]] = {}
    for line in text.splitlines():
        found = ROW.match(line)
        if found is None:
            continue
        for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", found.group(1)):
            assert name not in rows, f"{name} has two rows"
            rows[name] = (found.group(2).strip(), line)
    return rows


def example_values() -> dict[str, str]:
    """Name -> value of the first `NAME=value` or `# NAME=value` line of the example."""
    values: dict[str, str] = {}
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        found = EXAMPLE_LINE.match(line)
        if found is not None:
            values.setdefault(found.group(1), found.group(2).strip())
    return values


def plain_default(name: str) -> str | None:
    """The default as the docs write it, or None where it is no plain value (unset, a path
    or one computed at run time: the docs describe it in words)."""
    field = Settings.model_fields[name]
    if field.default_factory is not None:
        return None
    value = field.default
    if value is None or value == () or isinstance(value, Path):
        return None
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def choices(name: str) -> list[str]:
    """The values a Literal or enum setting accepts."""
    annotation = Settings.model_fields[name].annotation
    if typing.get_origin(annotation) is typing.Literal:
        return [str(v) for v in typing.get_args(annotation)]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [str(member.value) for member in annotation]
    return []


@pytest.mark.parametrize("language", ["en", "ru"])
def test_every_setting_has_a_row_in_the_readme_with_the_codes_default(language):
    rows = table_rows(readme_part(language))
    missing = [name for name in SETTINGS if name not in rows]
    assert missing == [], f"README ({language}) has no row for {missing}"
    unknown = sorted(set(rows) - set(SETTINGS))
    assert unknown == [], f"README ({language}) documents settings the code lacks: {unknown}"
    wrong = {}
    for name in SETTINGS:
        cell = rows[name][0].replace("`", "")
        expected = plain_default(name)
        if name in RUN_REQUIRED:
            expected = REQUIRED[language]
        elif expected is None and Settings.model_fields[name].default in (None, ()):
            expected = None if name in FALLBACK_WHEN_UNSET else UNSET[language]
        if expected is not None and cell != expected:
            wrong[name] = (cell, expected)
    assert wrong == {}, f"README ({language}) defaults (written, code): {wrong}"


@pytest.mark.parametrize("language", ["en", "ru"])
def test_a_setting_with_a_fixed_set_of_values_names_them_all(language):
    rows = table_rows(readme_part(language))
    for name in SETTINGS:
        row = rows[name][1]
        absent = [value for value in choices(name) if f"`{value}`" not in row]
        assert absent == [], f"README ({language}) row {name} does not name {absent}"


def test_every_setting_is_in_the_example_env_with_the_codes_default():
    values = example_values()
    missing = [name for name in SETTINGS if name not in values]
    assert missing == [], f"deploy/salesbot.env.example lacks {missing}"
    unknown = sorted(set(values) - set(SETTINGS))
    assert unknown == [], f"the example sets what the code does not read: {unknown}"
    wrong = {
        name: (values[name], plain_default(name))
        for name in SETTINGS
        if name not in RUN_REQUIRED
        and plain_default(name) is not None
        and values[name] != plain_default(name)
    }
    assert wrong == {}, f"example values (written, code default): {wrong}"


def test_the_example_is_a_valid_configuration_for_our_reader(monkeypatch):
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(RUN_REQUIRED, env_file=EXAMPLE)
    assert settings.BOT_TOKEN is not None


def github_anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def test_the_readmes_links_point_at_what_the_repository_has():
    """A link to a file that is not there (the old DESIGN.md) or to a missing heading fails."""
    text = README.read_text(encoding="utf-8")
    anchors = {
        github_anchor(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")
    }
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+:", target):
            continue  # https:, mailto:
        path, _, anchor = target.partition("#")
        if path:
            assert (ROOT / path).exists(), f"README links to {path}, which is not there"
        elif anchor:
            assert anchor in anchors, f"README links to #{anchor}, which no heading has"
