"""Many users at once: answers per second and latency of the app's /chat at 1, 8 and 50 concurrent clients.

    python -m benchmarks.load [--corpus DIR] [--clients 1,8,50] [--rounds 3] [--json PATH]

Starts `python app.py` on a temporary index of DIR (default: plainly fictional releases
written by this script), then, for each number of clients, runs that many
`gradio_client` clients at once, each asking `--rounds` questions in turn, and prints
per level: answers/s, p50 / p95 / max seconds per answer, and how many calls failed.
Gradio's queue holds what the chat's concurrency limit cannot take at once, so a
burst waits its turn instead of timing out; the figure to watch is p95 at 50 clients
(issue 12: under 10 s on 2 cores, nothing failing). Only talks to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .chroma_server import free_port
from .stats import percentile

QUESTIONS = [
    "Where was the Lantern Harbour exercise held?",
    "Who chaired the Copper Bridge meeting?",
    "How many teams took part in the Quartz Kettle trial?",
    "Quand le Groupe Lanterne s'est-il réuni ?",
]
START_TIMEOUT = 180.0


def write_fictional_corpus(folder: Path) -> Path:
    """A few invented releases (nato.int text layout) for a self-contained run."""
    folder.mkdir(parents=True, exist_ok=True)
    texts = {
        "lantern-harbour-en.txt": (
            "Fictional exercise Lantern Harbour concludes",
            "03 Mar. 2097",
            "This is an invented release written for the load benchmark. Exercise Lantern Harbour "
            "was held in the fictional port of Examplestad, where twelve imaginary ships trained "
            "together for a week.",
        ),
        "copper-bridge-en.txt": (
            "Fictional Copper Bridge meeting",
            "15 Jun. 2098",
            "This is an invented release written for the load benchmark. The Copper Bridge meeting "
            "was chaired by Admiral Jane Quill, who opened the session on imaginary bridges.",
        ),
        "quartz-kettle-en.txt": (
            "Fictional Quartz Kettle trial",
            "20 Sep. 2096",
            "This is an invented release written for the load benchmark. Eight teams took part in "
            "the Quartz Kettle trial of invented field kettles.",
        ),
        "lanterne-fr.txt": (
            "Réunion fictive du Groupe Lanterne",
            "12 juin 2098",
            "Ceci est un communiqué inventé pour le banc d'essai de charge. Le Groupe Lanterne s'est "
            "réuni le 12 juin 2098 dans la ville imaginaire de Villexemple.",
        ),
    }
    for name, (title, day, body) in texts.items():
        (folder / name).write_text(
            f"{title}\n\n  • {day} -\n  • |\n  • Last updated: {day} 10:00\n\n{body}\n", encoding="utf-8"
        )
    return folder


def start_app(home: Path, corpus: Path, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "COMMUNIQUE_HOME": str(home), "COMMUNIQUE_CORPUS": str(corpus)}
    root = Path(__file__).resolve().parents[1]
    with open(log, "w") as out:
        return subprocess.Popen(
            [sys.executable, "app.py", "--host", "127.0.0.1", "--port", str(port)],
            cwd=root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def wait_until_answering(url: str, deadline: float) -> None:
    """The app is up and its start-up build is done: a question gets an answer, not a 'being built' note."""
    from gradio_client import Client

    while time.monotonic() < deadline:
        try:
            reply = Client(url, verbose=False).predict(QUESTIONS[0], api_name="/chat")
            if reply.get("found") or reply.get("mode") == "abstain":
                return
        except Exception:  # not up yet
            pass
        time.sleep(1.0)
    raise RuntimeError(f"the app at {url} did not answer within {START_TIMEOUT:.0f} s")


def run_level(url: str, clients: int, rounds: int) -> dict[str, Any]:
    """`clients` concurrent clients, each asking `rounds` questions one after the other."""
    from gradio_client import Client

    def one_client(k: int) -> list[tuple[float, bool]]:
        client = Client(url, verbose=False)
        out = []
        for r in range(rounds):
            start = time.perf_counter()
            try:
                reply = client.predict(QUESTIONS[(k + r) % len(QUESTIONS)], api_name="/chat")
                ok = reply.get("mode") != "error"
            except Exception:
                ok = False
            out.append((time.perf_counter() - start, ok))
        return out

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = [item for batch in pool.map(one_client, range(clients)) for item in batch]
    wall = time.perf_counter() - started
    seconds = [s for s, _ in results]
    return {
        "clients": clients,
        "answers": len(results),
        "failed": sum(not ok for _, ok in results),
        "answers_per_s": len(results) / wall if wall else None,
        "p50_s": percentile(seconds, 50),
        "p95_s": percentile(seconds, 95),
        "max_s": max(seconds) if seconds else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load", description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, help="release folder to serve (default: fictional releases)")
    parser.add_argument("--clients", default="1,8,50", help="comma-separated numbers of concurrent clients")
    parser.add_argument("--rounds", type=int, default=3, help="questions each client asks in turn")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    levels = [int(n) for n in args.clients.split(",") if n.strip()]
    with tempfile.TemporaryDirectory(prefix="communique-load-") as tmp:
        work = Path(tmp)
        corpus = args.corpus.resolve() if args.corpus else write_fictional_corpus(work / "corpus")
        port = free_port()
        url = f"http://127.0.0.1:{port}/"
        process = start_app(work / "home", corpus, port, work / "app.log")
        try:
            wait_until_answering(url, time.monotonic() + START_TIMEOUT)
            rows = [run_level(url, n, args.rounds) for n in levels]
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
    print(f"benchmarks.load · {os.cpu_count()} CPUs · {args.rounds} questions per client")
    print(f"{'clients':>8} {'answers':>8} {'failed':>7} {'answers/s':>10} {'p50 s':>7} {'p95 s':>7} {'max s':>7}")
    for row in rows:
        print(
            f"{row['clients']:>8} {row['answers']:>8} {row['failed']:>7} {row['answers_per_s']:>10.1f} "
            f"{row['p50_s']:>7.2f} {row['p95_s']:>7.2f} {row['max_s']:>7.2f}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")
    return 1 if any(row["failed"] for row in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
