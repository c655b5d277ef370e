"""The mctrt command: `mctrt <command>` runs python -m mctrt.<command>, installed as a console script."""

import subprocess
import sys
from pathlib import Path

from mctrt.cli import COMMANDS, main


def test_the_installed_mctrt_command_runs_a_sub_command():
    script = Path(sys.executable).parent / "mctrt"
    assert script.is_file(), "pip install . puts the mctrt command beside python ([project.scripts])"
    result = subprocess.run([str(script), "info"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.startswith("mctrt "), result.stderr


def test_every_command_names_itself_in_its_help(capsys):
    for name in COMMANDS:
        try:
            main([name, "--help"])
        except SystemExit as done:  # argparse exits after printing help
            assert done.code == 0
        assert capsys.readouterr().out.startswith(f"usage: mctrt {name}"), name


def test_an_unknown_command_is_refused_with_the_closest_one(capsys):
    assert main(["evl"]) == 2
    assert "mctrt has no command 'evl'; did you mean eval?" in capsys.readouterr().err
    assert main([]) == 2 and "usage: mctrt <command>" in capsys.readouterr().err
