"""lit configuration of the zenith-opt FileCheck suite.

``zenith-opt`` runs as ``<this python> -m zenith.tools.zenith_opt`` with the
repository root on PYTHONPATH, and ``filecheck`` as ``<this python> -m filecheck``,
so the suite tests the checkout it sits in, with the interpreter that runs lit.
"""

import os
import sys

import lit.formats

config = globals()["config"]  # provided by lit

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PY = sys.executable

config.name = "zenith-opt"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".zir"]
config.excludes = ["plugins", "Output", "inputs"]
config.test_source_root = HERE
config.test_exec_root = os.path.join(HERE, "Output")

config.environment["PYTHONPATH"] = os.pathsep.join(
    p for p in (ROOT, os.environ.get("PYTHONPATH", "")) if p)
config.environment["PYTHONDONTWRITEBYTECODE"] = "1"

# A tool name is replaced only where it stands alone (not inside a path or a flag).
_ALONE = r"(?<![\w/.%-]){}(?![\w/.-])"
config.substitutions.append((_ALONE.format("zenith-opt"), f'"{PY}" -m zenith.tools.zenith_opt'))
config.substitutions.append((_ALONE.format("filecheck"), f'"{PY}" -m filecheck'))
config.substitutions.append(("%plugins", os.path.join(HERE, "plugins")))
