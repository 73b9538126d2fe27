"""Runs the zenith-opt FileCheck suite (tests/filecheck) under lit, as CI does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SUITE = Path(__file__).resolve().parent / "filecheck"


def test_filecheck_suite():
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from lit.main import main; sys.exit(main())",
         "-j2", "-q", "--no-progress-bar", str(SUITE)],
        capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-20000:] + proc.stderr[-5000:]
    assert len(list(SUITE.glob("*.zir"))) >= 40
