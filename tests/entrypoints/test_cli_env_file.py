"""`--env-file`: before or after the sub-command, and a named file that is not there is an error.

The service runs `salesbot --env-file /etc/salesbot/salesbot.env run`; an operator types
`salesbot check --env-file …` as often. A typo in the path must not run the command on
defaults and the environment alone.
"""

from __future__ import annotations

import pytest

from salesbot.entrypoints.cli import COMMANDS, DEFAULT_ENV_FILE, _env_file, build_parser, main
from tests.entrypoints.test_settings import SEED


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_the_option_is_taken_before_and_after_every_sub_command(command):
    parser = build_parser()
    extra = {"account": ["list"], "campaign": ["import", "leads.csv", "--name", "x"]}.get(
        command, []
    )
    before = parser.parse_args(["--env-file", "a.env", command, *extra])
    after = parser.parse_args([command, "--env-file", "b.env", *extra])
    neither = parser.parse_args([command, *extra])
    assert (before.env_file, after.env_file, neither.env_file) == ("a.env", "b.env", None)


def test_the_option_is_taken_after_a_nested_sub_command_too():
    parser = build_parser()
    args = parser.parse_args(["account", "login", "--phone", "+79001112233", "--env-file", "c.env"])
    assert args.env_file == "c.env"
    assert parser.parse_args(["account", "--env-file", "d.env", "list"]).env_file == "d.env"


def test_given_twice_the_one_after_the_sub_command_wins():
    args = build_parser().parse_args(["--env-file", "a.env", "check", "--env-file", "b.env"])
    assert args.env_file == "b.env"


@pytest.mark.parametrize("where", ["before", "after"])
def test_a_named_file_that_is_missing_is_an_error_with_exit_status_2(where, tmp_path, capsys):
    missing = tmp_path / "salesbot.env"
    option = ["--env-file", str(missing)]
    argv = [*option, "check"] if where == "before" else ["check", *option]
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2
    assert f"--env-file {missing}: no such file" in capsys.readouterr().err


def test_a_folder_is_no_env_file(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["check", "--env-file", str(tmp_path)])
    assert stopped.value.code == 2
    assert "no such file" in capsys.readouterr().err


def test_check_reads_the_file_named_after_the_sub_command(monkeypatch, tmp_path, capsys):
    for name in SEED:
        monkeypatch.delenv(name, raising=False)
    env_file = tmp_path / "salesbot.env"
    env_file.write_text(
        "\n".join(f"{k}={v}" for k, v in {**SEED, "API_ID": "abc"}.items()) + "\n",
        encoding="utf-8",
    )
    assert main(["check", "--env-file", str(env_file)]) != 0
    assert 'API_ID: expected an integer, got "abc"' in capsys.readouterr().err


def test_without_the_option_a_missing_dot_env_is_no_error(monkeypatch, tmp_path):
    """The default stays optional: environment variables alone are a valid configuration."""
    monkeypatch.chdir(tmp_path)
    parser = build_parser()
    assert _env_file(parser, parser.parse_args(["check"]).env_file) == DEFAULT_ENV_FILE
