"""The processes that serve requests and resolve events never load the matching engine
(Splink, DuckDB, Arrow): only a matching run does, in the job consumer or a command.
Each of those libraries adds tens of megabytes to every process that imports it."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("splink", "duckdb", "pyarrow")


def test_the_app_the_resolver_and_the_job_definitions_load_without_the_engine() -> None:
    code = (
        "import sys\n"
        "import accord.app, accord.jobs, accord.resolve.process, accord.cli.main\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "", out.stdout
