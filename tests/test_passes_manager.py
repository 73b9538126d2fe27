"""Pass manager, pipeline strings and the registry."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zenith.ir import Module, parse_module, print_module
from zenith.ir.dtypes import f64
from zenith.passes import PASSES, Pass, PassContext, PassFailure, PassManager, PipelineError, option
from zenith.passes.instrument import IRPrinter, StatisticsReport, TimingReport
from zenith.passes.pipeline import format_entry, parse_pipeline
from zenith.passes.registry import PassRegistry

TEXT = """
func.func @main(%x: tensor<4xf32>) -> (tensor<4xf32>) {
  %a = "zt.exp"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  %b = "zt.exp"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  %dead = "zt.tanh"(%x) : (tensor<4xf32>) -> tensor<4xf32>
  %c = "zt.add"(%a, %b) : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  "func.return"(%c) : (tensor<4xf32>) -> ()
}
"""


def module() -> Module:
    return parse_module(TEXT, "m.zir")


@dataclass(frozen=True)
class Opts(Pass):
    name = "test-opts"
    description = "A pass with one option of each type"
    count: int = option(3, "an int")
    scale: float = option(0.5, "a float")
    flag: bool = option(False, "a bool")
    label: str = option("", "a string")

    def run(self, module: Module, ctx: PassContext) -> None:
        ctx.add("runs")


@dataclass(frozen=True)
class BreakTypes(Pass):
    name = "test-break-types"
    description = "Gives the first op a wrong result type (verify-each must catch it)"

    def run(self, module: Module, ctx: PassContext) -> None:
        op = module.main.body.first
        op.results[0].type = op.results[0].type.with_dtype(f64)


@dataclass(frozen=True)
class Crash(Pass):
    name = "test-crash"
    description = "Raises a Python exception"

    def run(self, module: Module, ctx: PassContext) -> None:
        raise RuntimeError("boom")


def registry() -> PassRegistry:
    reg = PASSES.copy()
    for cls in (Opts, BreakTypes, Crash):
        reg.register(cls)
    return reg


# -- pipeline strings ----------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "",
    "cse",
    "canonicalize,cse,dce",
    "canonicalize{max-iterations=3},cse",
    "test-opts{count=7 flag=true},dce",
    "test-opts{label=\"two words\" scale=1e-3}",
    "test-opts{scale=0.25 count=3}",  # explicit default and user order kept
    "shape-infer{shapes=x:1x128,y:4x? dims=n=2}",
])
def test_pipeline_prints_back_to_the_same_string(text):
    p = parse_pipeline(text, registry())
    assert str(p) == text
    assert str(parse_pipeline(str(p), registry())) == text


def test_pipeline_values_are_typed():
    p = parse_pipeline("test-opts{count=7 scale=2 flag=1 label=a,b}", registry())
    (pass_,) = p.passes
    assert (pass_.count, pass_.scale, pass_.flag, pass_.label) == (7, 2.0, True, "a,b")
    assert type(pass_.scale) is float


def test_pipeline_whitespace_is_normalized():
    assert str(parse_pipeline(" cse , dce ")) == "cse,dce"


def test_programmatic_passes_print_non_defaults():
    assert format_entry(Opts(count=9)) == "test-opts{count=9}"
    assert format_entry(Opts()) == "test-opts"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["cse", "dce", "test-opts", "canonicalize"]),
                          st.integers(0, 99), st.booleans(), st.text("abc,:x?", max_size=5)),
                max_size=5))
def test_pipeline_round_trip_property(items):
    parts = []
    for name, n, b, s in items:
        if name == "test-opts":
            parts.append(f"test-opts{{flag={'true' if b else 'false'} count={n}"
                         + (f" label={s}" if s else "") + "}")
        elif name == "canonicalize" and b:
            parts.append(f"canonicalize{{max-iterations={n + 1}}}")
        else:
            parts.append(name)
    text = ",".join(parts)
    assert str(parse_pipeline(text, registry())) == text


@pytest.mark.parametrize("text, pattern", [
    ("canonicalise", r"unknown pass 'canonicalise' \(did you mean 'canonicalize'\?\); valid passes: "
                     r"canonicalize, constant-fold, cse, dce, (.+, )?shape-infer"),
    ("cse,nope", r"unknown pass 'nope'.*valid passes: canonicalize, "),
    ("canonicalize{max-iteration=2}", r"unknown option 'max-iteration' of pass 'canonicalize' "
                                      r"\(did you mean 'max-iterations'\?\); valid options: max-iterations, "
                                      r"max-rewrites, test-convergence"),
    ("dce{x=1}", r"unknown option 'x' of pass 'dce'; valid options: none"),
    ("canonicalize{max-iterations=many}", r"option 'max-iterations' of pass 'canonicalize': expected an "
                                          r"integer, got 'many'"),
    ("canonicalize{max-iterations=0}", r"invalid options for pass 'canonicalize': max-iterations must be"),
    ("canonicalize{test-convergence=yes}", r"expected true or false, got 'yes'"),
    ("canonicalize{max-iterations=1 max-iterations=2}", r"given twice"),
    ("canonicalize{max-iterations=1", r"expected '}' to close the options of 'canonicalize', found end"),
    ("canonicalize{", r"expected '}' to close the options of 'canonicalize', found end"),
    ("canonicalize{max-iterations=1}x", r"expected ',' between passes, found 'x'"),
    ("canonicalize{=1}", r"expected an option of 'canonicalize' or '}', found '='"),
    ("cse dce", r"expected ',' between passes, found 'd'"),
    ("cse,", r"expected a pass name, found end of pipeline"),
    ("shape-infer{shapes=x:1xq}", r"dim 'q' of 'x' is not a size"),
])
def test_pipeline_errors(text, pattern):
    with pytest.raises(PipelineError) as info:
        parse_pipeline(text)
    assert re.search(pattern, info.value.message), info.value.message
    assert str(info.value).startswith("<pipeline>:1:")


def test_pipeline_error_points_at_the_column():
    with pytest.raises(PipelineError) as info:
        parse_pipeline("cse,bogus")
    assert str(info.value).splitlines()[1:] == ["cse,bogus", "    ^"]


# -- registry ---------------------------------------------------------------------------

def test_registry_rejects_bad_passes():
    reg = PassRegistry()

    @dataclass(frozen=True)
    class Bad(Pass):
        name = "Bad_Name"
        description = "x"

    with pytest.raises(ValueError, match="kebab-case"):
        reg.register(Bad)

    @dataclass(frozen=True)
    class NoDoc(Pass):
        name = "no-doc"

    with pytest.raises(ValueError, match="description"):
        reg.register(NoDoc)

    @dataclass(frozen=True)
    class BadOption(Pass):
        name = "bad-option"
        description = "x"
        items: list = None  # type: ignore[assignment]

    with pytest.raises(TypeError, match="options are int, float, bool or str"):
        reg.register(BadOption)


def test_every_registered_pass_is_documented_and_instantiable():
    assert PASSES.names() == sorted(PASSES.names())
    for cls in PASSES:
        assert cls.description and "\n" not in cls.description
        cls()
        for o in cls.options():
            assert o.doc, f"{cls.name}: option {o.name} has no doc"


# -- the manager -----------------------------------------------------------------------

def test_verify_each_catches_a_broken_pass():
    m = module()
    pm = PassManager.parse("cse,test-break-types,dce", registry())
    with pytest.raises(PassFailure) as info:
        pm.run(m)
    err = info.value
    assert err.pass_name == "test-break-types"
    assert "pass 'test-break-types' produced invalid IR" in err.message
    assert "result #0 has type tensor<4xf64>" in err.message
    assert err.loc.prefix() == "m.zir:3:3"  # the op at fault


def test_verify_each_can_be_turned_off():
    m = module()
    PassManager.parse("test-break-types", registry(), verify_each=False).run(m)
    assert "tensor<4xf64>" in print_module(m)


def test_a_crashing_pass_is_a_diagnostic_with_its_cause():
    with pytest.raises(PassFailure, match="internal error in pass 'test-crash': RuntimeError: boom") as info:
        PassManager.parse("test-crash", registry()).run(module())
    assert isinstance(info.value.__cause__, RuntimeError)


def test_statistics_report():
    out = io.StringIO()
    pm = PassManager.parse("cse,dce,test-opts", registry(), instrumentations=[StatisticsReport(out)])
    pm.run(module())
    text = out.getvalue()
    assert "... Pass statistics report ..." in text
    # One duplicate exp for cse; the unused tanh for dce.
    assert re.search(r"^cse\n  \(S\) 1 ops-erased - duplicate ops erased$", text, re.M)
    assert re.search(r"^dce\n  \(S\) 1 ops-erased - ops erased$", text, re.M)
    assert re.search(r"^test-opts\n  \(S\) 1 runs$", text, re.M)


def test_timing_report_lists_every_pass_and_sums_up():
    out = io.StringIO()
    report = PassManager.parse("canonicalize,cse,dce", instrumentations=[TimingReport(out)]).run(module())
    text = out.getvalue()
    rows = re.findall(r"^\s+(\d+\.\d+) \(\s*(\d+\.\d)%\)  (.+)$", text, re.M)
    names = [r[2] for r in rows]
    assert names == ["canonicalize", "cse", "dce", "(verifier, all passes)", "Total"]
    total = float(rows[-1][0])
    assert abs(sum(float(r[0]) for r in rows[:-1]) - total) < 1e-3
    assert abs(report.seconds - total) < 1e-4
    assert [r.entry.pass_.name for r in report.records] == ["canonicalize", "cse", "dce"]


def test_print_ir_after_change_skips_passes_that_change_nothing():
    out = io.StringIO()
    pm = PassManager.parse("dce,dce,cse,cse", instrumentations=[IRPrinter(after_change=True, stream=out)])
    pm.run(module())
    dumps = re.findall(r"// -----// IR Dump After (\S+) //----- //", out.getvalue())
    assert dumps == ["dce", "cse"]


def test_print_ir_after_all_and_after_failure():
    out = io.StringIO()
    pm = PassManager.parse("dce,test-break-types", registry(),
                           instrumentations=[IRPrinter(after_all=True, after_failure=True, stream=out)])
    with pytest.raises(PassFailure):
        pm.run(module())
    dumps = re.findall(r"// -----// IR Dump After (.+?) //----- //", out.getvalue())
    assert dumps == ["dce", "test-break-types Failed"]
    assert "tensor<4xf64>" in out.getvalue().split("Failed")[1]
