"""The shared infrastructure: config precedence, list parsing, atomic writes, error mapping."""

import json
import os
from pathlib import Path
from typing import Annotated

import pytest
import typer

from helpers import assert_one_line_error, run_cli
from resnet_cli import __version__
from resnet_cli.commands.common import ConfigOpt, JsonOpt, OutOpt, check_outputs
from resnet_cli.config import parse_choices, parse_float_list, parse_int_list, preset_names, require, resolve
from resnet_cli.errors import ConfigError
from resnet_cli.report import fmt, rows_to_csv, to_jsonable, write_atomic, write_output

demo = typer.Typer()


@demo.callback()
def _cb() -> None:
    """demo"""


@demo.command("demo")
def _demo(
    ctx: typer.Context,
    k: Annotated[int, typer.Option("--k")] = 3,
    eta: Annotated[float, typer.Option("--eta")] = 0.1,
    student: Annotated[str, typer.Option("--student")] = "resnet",
    config: ConfigOpt = None,
    out: OutOpt = None,
    json_out: JsonOpt = False,
) -> None:
    opts = resolve(ctx, config, "demo")
    require(opts["k"] >= 1, "--k must be at least 1")
    check_outputs(opts["out"], None)
    if opts["out"]:
        write_output(opts["out"], opts, [opts])
    typer.echo(json.dumps(opts))


def _run(*args):
    return run_cli(*args, application=demo)


def test_defaults_and_flags():
    r = _run("demo", "--k", "7")
    assert r.code == 0
    assert json.loads(r.stdout) == {"k": 7, "eta": 0.1, "student": "resnet", "out": None, "json_out": False}


def test_config_precedence(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('k = 5\neta = 2\nstudent = "cnn"\n')
    r = _run("demo", "--config", str(cfg))
    assert json.loads(r.stdout)["k"] == 5 and json.loads(r.stdout)["eta"] == 2.0
    r = _run("demo", "--config", str(cfg), "--k", "9")
    got = json.loads(r.stdout)
    assert got["k"] == 9 and got["student"] == "cnn"


def test_config_section_table(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('k = 5\n[demo]\nk = 6\n[other]\nk = 1\n')
    assert json.loads(_run("demo", "--config", str(cfg)).stdout)["k"] == 6


@pytest.mark.parametrize(
    "text",
    ['k = = 1\n', 'bogus = 1\n', 'k = "three"\n', 'k = 1.5\n', 'eta = "x"\n', 'k = true\n'],
)
def test_bad_config_is_one_line_exit_2(tmp_path, text):
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    assert_one_line_error(_run("demo", "--config", str(cfg)))


def test_missing_config_and_unknown_preset(tmp_path):
    assert_one_line_error(_run("demo", "--config", str(tmp_path / "missing.toml")))
    assert_one_line_error(_run("demo", "--config", "no-such-preset"))


def test_usage_errors_are_one_line():
    assert_one_line_error(_run("demo", "--k", "x"))
    assert_one_line_error(_run("demo", "--nope"))
    assert_one_line_error(_run("demo", "--k", "0"))


def test_out_bad_extension_and_folder(tmp_path):
    assert_one_line_error(_run("demo", "--out", str(tmp_path / "x.txt")))
    assert_one_line_error(_run("demo", "--out", str(tmp_path / "nope" / "x.json")))


def test_out_written_atomically(tmp_path):
    target = tmp_path / "r.json"
    assert _run("demo", "--out", str(target)).code == 0
    assert json.loads(target.read_text())["k"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_write_atomic_leaves_old_file_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "r.csv"
    write_atomic(target, "old\n")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        write_atomic(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["r.csv"]


def test_parse_lists():
    assert parse_int_list("4,9,16") == [4, 9, 16]
    assert parse_int_list("1:4") == [1, 2, 3, 4]
    assert parse_int_list("2:32:x2") == [2, 4, 8, 16, 32]
    assert parse_int_list("1:9:4,20") == [1, 5, 9, 20]
    assert parse_float_list("1e-3,0.5") == [1e-3, 0.5]
    grid = parse_float_list("logspace:-2:0:3")
    assert grid == pytest.approx([0.01, 0.1, 1.0])
    assert parse_choices("cnn,resnet", ["cnn", "resnet"], "m") == ["cnn", "resnet"]
    for bad in ("", "a,b", "1:x", ","):
        with pytest.raises(ConfigError):
            parse_int_list(bad)
    with pytest.raises(ConfigError):
        parse_float_list("logspace:1:2")
    with pytest.raises(ConfigError):
        parse_choices("cnn,vgg", ["cnn", "resnet"], "m")


def test_jsonable_and_csv():
    import numpy as np

    obj = {"a": np.float64(1.5), "b": np.arange(3), "c": float("nan"), "d": np.inf, "e": (np.int64(2),)}
    assert to_jsonable(obj) == {"a": 1.5, "b": [0, 1, 2], "c": "nan", "d": "inf", "e": [2]}
    assert rows_to_csv([{"x": 1, "y": 2}, {"x": 3, "z": 4}]) == "x,y,z\n1,2,\n3,,4\n"
    assert fmt(float("nan")) == "nan" and fmt(0.5) == "0.5" and fmt(1e-7) == "1.000e-07"


def test_version_and_help():
    r = run_cli("--version")
    assert r.code == 0 and __version__ in r.stdout
    r = run_cli("--help")
    assert r.code == 0 and "Usage" in r.stdout


def test_presets_parse():
    from resnet_cli.config import load_toml

    for name in preset_names():
        assert isinstance(load_toml(name), dict)
