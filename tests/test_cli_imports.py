"""The command line imports neither torch, numpy, matplotlib nor pysam until a command runs,
so `rnatools --help` and shell completion stay fast."""

from __future__ import annotations

import subprocess
import sys


def test_loading_every_command_imports_no_heavy_library():
    code = (
        "import sys, rnatools.cli.main\n"
        "from rnatools.cli.commands import modules\n"
        "modules()\n"
        "print(','.join(m for m in ('torch', 'numpy', 'matplotlib', 'pysam') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
