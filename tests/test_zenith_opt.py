"""``zenith-opt`` in-process: flags, exit codes, input formats, diagnostics checking.

The FileCheck suite (tests/filecheck, run by test_filecheck.py) drives the real
command line; these tests cover what is awkward to express there.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from zenith.ir import parse_module
from zenith.passes import PASSES
from zenith.tools import inputs
from zenith.tools.zenith_opt import main

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = str(ROOT / "tests" / "filecheck" / "plugins" / "broken_passes.py")

GOOD = """func.func @main(%x: tensor<4xf32>) -> (tensor<4xf32>) {
  %a = "zt.exp"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  %b = "zt.exp"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  %c = "zt.add"(%a, %b) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  "func.return"(%c) : (tensor<4xf32>) -> ()
}
"""


@pytest.fixture
def private_registry(monkeypatch):
    """Passes registered during the test (plugins) vanish afterwards."""
    monkeypatch.setattr(PASSES, "_passes", dict(PASSES._passes))


def write(tmp_path: Path, text: str, name: str = "in.zir") -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_list_passes_shows_every_pass_and_option(capsys):
    assert main(["--list-passes"]) == 0
    out = capsys.readouterr().out
    for cls in PASSES:
        assert re.search(rf"^  {cls.name}\s+{re.escape(cls.description)}$", out, re.M)
        for o in cls.options():
            assert f"      {o.name}=" in out
    assert ".zir" in out


def test_output_file_and_round_trip(tmp_path, capsys):
    out = tmp_path / "out.zir"
    assert main([write(tmp_path, GOOD), "--passes", "cse", "-o", str(out)]) == 0
    assert capsys.readouterr().out == ""
    m = parse_module(out.read_text())
    assert [op.name for op in m.main.body] == ["zt.exp", "zt.add", "func.return"]


def test_split_input_file_keeps_line_numbers_and_goes_on_after_an_error(tmp_path, capsys):
    bad = GOOD.replace('"zt.add"(%a, %b)', '"zt.add"(%a)').replace(
        "(tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>", "(tensor<4xf32>) -> tensor<4xf32>")
    text = GOOD + "// -----\n" + bad + "// -----\n" + GOOD
    code = main([write(tmp_path, text), "--split-input-file", "--passes", "cse"])
    cap = capsys.readouterr()
    assert code == 1
    bad_line = GOOD.count("\n") + 2 + 3  # the add of the second chunk
    assert re.match(rf".*in\.zir:{bad_line}:3: error: 'zt.add' op expects 2 operand\(s\), got 1", cap.err)
    assert cap.out.count("func.func @main") == 2
    assert cap.out.count("// -----\n") == 1


def test_verify_diagnostics_reports_missing_and_unexpected(tmp_path, capsys):
    text = """// expected-error @+2 {{use of undefined value '%y'}}
func.func @main(%x: tensor<4xf32>) -> (tensor<4xf32>) {
  "func.return"(%y) : (tensor<4xf32>) -> ()
}
// -----
func.func @main(%x: tensor<4xf32>) -> (tensor<4xf32>) {
  // expected-error @+1 {{this text is not in the message}}
  "func.return"(%x, %x) : (tensor<4xf32>, tensor<4xf32>) -> ()
}
// -----
// expected-error @unknown {{never emitted}}
""" + GOOD
    code = main([write(tmp_path, text), "--split-input-file", "--verify-diagnostics"])
    err = capsys.readouterr().err.splitlines()
    assert code == 1
    assert any(re.search(r"in\.zir:8:3: error: unexpected error: 'func.return' op returns", e) for e in err)
    assert any(re.search(r"in\.zir:7: error: expected error at line 8 was not produced: "
                         r"\{\{this text is not in the message\}\}", e) for e in err)
    assert any("expected error at an unknown location was not produced" in e for e in err)
    assert len(err) == 3  # chunk 1 matched


def test_verify_diagnostics_succeeds_when_everything_is_expected(tmp_path, capsys):
    text = """func.func @main(%x: tensor<4xf32>) -> (tensor<4xf32>) {
  %a = "zt.add"(%x) : (tensor<4xf32>) -> tensor<4xf32> // expected-error {{expects 2 operand(s), got 1}}
  "func.return"(%a) : (tensor<4xf32>) -> ()
}
"""
    assert main([write(tmp_path, text), "--verify-diagnostics"]) == 0
    assert capsys.readouterr().err == ""


def test_registered_input_format_and_unknown_suffix(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(inputs, "INPUT_FORMATS", dict(inputs.INPUT_FORMATS))

    def load_upper(data: bytes, filename: str):
        return parse_module(data.decode().replace("EXP", "zt.exp"), filename)

    inputs.register_input_format(".up", load_upper, "test format")
    path = write(tmp_path, GOOD.replace("zt.exp", "EXP"), "m.up")
    assert main([path, "--passes", "cse"]) == 0
    assert capsys.readouterr().out.count('"zt.exp"') == 1
    assert main([write(tmp_path, GOOD, "m.txt")]) == 1
    err = capsys.readouterr().err
    assert "zenith-opt: error: unknown input format '.txt'; known formats: .onnx, .up, .zir" in err
    assert main([write(tmp_path, GOOD.replace("zt.exp", "EXP"), "m.txt"), "--input-format", "up"]) == 0


def test_lazy_input_format_that_cannot_be_imported(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(inputs.LAZY_FORMATS, ".nope", ("zenith.no_such_frontend:load", "missing", False))
    assert main([write(tmp_path, "x", "m.nope")]) == 1
    assert "input format '.nope' is unavailable: No module named 'zenith.no_such_frontend'" in \
        capsys.readouterr().err


def test_check_semantics_names_the_pass_that_changed_results(tmp_path, capsys, private_registry):
    path = write(tmp_path, GOOD)
    code = main([path, "--load-plugin", PLUGIN, "--passes", "cse,test-swap-sub,dce", "--check-semantics",
                 "--check-semantics-trials", "2", "--check-semantics-seed", "7"])
    err = capsys.readouterr().err
    assert code == 1
    assert re.search(r"error: check-semantics: pass 'test-swap-sub' changed result #0 of '@main': "
                     r"\d+ of 4 elements outside rtol=0.0001 atol=1e-05 \(max abs error [0-9.e+-]+; "
                     r"trial 0, seed 7\)", err), err


def test_check_semantics_reports_agreement(tmp_path, capsys):
    assert main([write(tmp_path, GOOD), "--passes", "canonicalize,cse,dce", "--check-semantics"]) == 0
    assert "check-semantics: 3 pass(es) x 3 trial(s), results agree; max abs error 0" in \
        capsys.readouterr().err


def test_errors_are_diagnostics_not_tracebacks(tmp_path, capsys, private_registry):
    path = write(tmp_path, GOOD)
    assert main([path, "--load-plugin", PLUGIN, "--passes", "test-crash"]) == 1
    err = capsys.readouterr().err
    assert err == "zenith-opt: error: internal error in pass 'test-crash': RuntimeError: boom\n"
    assert main([str(tmp_path / "missing.zir")]) == 1
    assert "cannot read" in capsys.readouterr().err
    assert main([path, "--load-plugin", str(tmp_path / "nope.py")]) == 1
    assert "cannot load plugin" in capsys.readouterr().err


def test_no_verify_lets_broken_ir_through(tmp_path, capsys, private_registry):
    path = write(tmp_path, GOOD)
    assert main([path, "--load-plugin", PLUGIN, "--passes", "test-break-types"]) == 1
    assert "pass 'test-break-types' produced invalid IR" in capsys.readouterr().err
    assert main([path, "--load-plugin", PLUGIN, "--passes", "test-break-types", "--no-verify"]) == 0
    assert "tensor<4xf64>" in capsys.readouterr().out


def test_runs_as_a_module_from_stdin():
    proc = subprocess.run([sys.executable, "-m", "zenith.tools.zenith_opt", "--passes", "cse"],
                          input=GOOD, capture_output=True, text=True, cwd=ROOT, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count('"zt.exp"') == 1


def test_check_semantics_judges_lower_precision_at_half_tolerance(tmp_path, capsys):
    """lower-precision changes f32 results by design: checked at f16 tolerance, not f32's."""
    src = """func.func @main(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>) -> (tensor<4x16xf32>) {
  %h = "zt.linear"(%x, %w) : (tensor<4x8xf32>, tensor<16x8xf32>) -> tensor<4x16xf32>
  %g = "zt.gelu"(%h) : (tensor<4x16xf32>) -> tensor<4x16xf32>
  "func.return"(%g) : (tensor<4x16xf32>) -> ()
}
"""
    path = write(tmp_path, src)
    assert main([path, "--passes", "lower-precision{dtype=f16}", "--check-semantics"]) == 0
    err = capsys.readouterr().err
    m = re.search(r"results agree; max abs error ([0-9.e+-]+)", err)
    assert m and 0 < float(m.group(1)) < 0.05, err  # a real f16 error, within f16 tolerance
