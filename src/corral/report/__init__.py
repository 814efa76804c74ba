"""Turning a simulation result into files on disk and tables on the console."""

from corral.report.run_files import summary_json, write_run
from corral.report.summary_table import summary_table

__all__ = ["summary_json", "summary_table", "write_run"]
