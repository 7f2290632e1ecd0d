"""`python -m benchmarks.bench`: how fast this machine indexes and answers, measured the way a user runs it.

    python -m benchmarks.bench [--corpus DIR] [--questions PATH] [--json PATH] [--quick | --tiny] [--sizes N ...]

It prints figures, it is not a test: nothing here passes or fails on a threshold. The default
profile grows the index to N = 1,000, 10,000 and 30,000 releases in both modes (embedded Chroma
and a `chroma run` server) within a time budget (15 min by default; a size that would overrun it
is skipped and named in the notes); --quick (N=100 only, 15 questions) ~3 min; --tiny (3 small
releases, N=10, 4 questions: the e2e test) ~1 min. The output is a Markdown table to paste into
the README's "Performance" section; --json PATH keeps every raw figure.

One module per job:

  synthetic    the corpus copied to a temp folder, and synthetic copies of its releases
  instruments  timers wrapped around the models and Chroma, peak RSS, disk use, latency summaries
  machine      the machine the figures come from (the report's header)
  phases       the measurements: build, no-op update, bulk load, add/remove 1, answer (first and warm)
  runner       one fresh process per measurement (environment, log, time limit)
  profile      which phases run at which sizes, in which order, within the budget
  report       the Markdown table, its header and notes
  cli          flags and exit codes

Scale uses releases GENERATED from the dev corpus (see `synthetic`): a copy costs no model
call, so growing the index measures the vector store and the record manager; the release
added at each N is new text, all embedded.
"""

from __future__ import annotations

from ..stats import percentile
from .cli import main
from .errors import BenchError
from .instruments import latency_summary
from .profile import load_question_texts, spread
from .report import format_table
from .runner import child_env
from .synthetic import nato_date_line, synthetic_date, write_synthetic_releases

__all__ = [
    "BenchError",
    "child_env",
    "format_table",
    "latency_summary",
    "load_question_texts",
    "main",
    "nato_date_line",
    "percentile",
    "spread",
    "synthetic_date",
    "write_synthetic_releases",
]
