"""Train the answer model (bot/answer_model.json) on candidate sentences of the development sets.

    python -m benchmarks.train_answer_model --set dev QUESTIONS DIR --set dev2 QUESTIONS DIR \
        [--cache DIR] [--out bot/answer_model.json] [--report PATH]

For every question of every set, the bot's own retrieval runs on an index of that set's
corpus and every candidate sentence of the passages it reads becomes one row: the
features of bot.sentences, labelled positive when the sentence contains an expected
answer phrase. A logistic regression (scikit-learn, seeded) is fitted on the rows, and a
second one, each coefficient bounded to the sign its input can only have (QUESTION_SIGNS),
on each question's best candidate (is the question answerable at all?);
their thresholds are chosen on the training rows only, each row scored by models fitted
without its release (out-of-fold, see fit):
  * abstain_below — the highest P(answerable) of the question model that keeps false
    abstentions on the training questions at most TARGET_FALSE_ABSTAIN;
  * short_above   — the lowest probability at which short answers on the training questions
    are right at least TARGET_SHORT_PRECISION of the time;
  * second_ratio  — the lowest share of the best sentence's probability at which a second
    sentence joins, such that the median answer on the training questions, written as the bot
    writes it (bot.extractive.compose: short answer, quotes, release language), stays within
    MAX_MEDIAN_ANSWER_CHARS (a second sentence often holds the fact; a long answer hides it).
It reports, for the chosen settings, each set with the model trained on the other
("cross-set", both ways) and 5-fold cross-validation over both sets grouped by
release (no release in two folds), then writes the model trained on all rows.
Indexes are kept under --cache, so a second run embeds nothing.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from .eval import short_answer_holds
from .signed_logistic import SignedLogisticRegression

SEED = 0
TARGET_FALSE_ABSTAIN = 0.04  # leaves a margin under the 0.05 the product promises
TARGET_SHORT_PRECISION = 0.9
MAX_MEDIAN_ANSWER_CHARS = 220
REGULARISATION_C = 1.0  # scikit-learn's default; not tuned
INNER_FOLDS = 5  # thresholds are chosen on out-of-fold predictions (see fit)
# The sign each question-model input can only have (+1 raises P(answerable), -1 lowers it, 0 either):
# a likelier best sentence, a release that uses the question's words, a definition found, the question's
# rare words and meaning shared speak for an answer; no sentence of the asked type, a year that
# conflicts, a name the index lacks speak against. How likely the runner-up is can mean either.
QUESTION_SIGNS = {
    "best_probability": +1,
    "runner_up": 0,
    "coverage": +1,
    "typed_missing": -1,
    "definition": +1,
    "date_conflict": -1,
    "missing": -1,
    "rare_overlap": +1,
    "meaning": +1,
}


@dataclass
class QuestionRows:
    """The candidate sentences of one question, with what the question expects."""

    set_name: str
    id: str
    kind: str
    group: str  # release the question is about (or its id when unanswerable): CV never splits one
    answerable: bool
    expected: tuple[str, ...]
    leads: bool  # a short answer may lead (bot.forms.Asked.leads)
    x: np.ndarray  # (n, features)
    y: np.ndarray  # (n,) 1 = holds an expected phrase
    heading: np.ndarray  # (n,) bool: never given as an answer
    shorts: list[str | None]  # the single typed thing each sentence would lead with
    texts: list[str]  # the sentences, for reading the errors
    candidates: list[Any]  # the bot.sentences.Candidate of each row, as bot.extractive reads them
    lang: str = "en"  # the question's language
    releases: list[tuple[str | None, str]] = field(default_factory=list)  # each row's release language and source

    def answer_text(self, given: list[int], short: str | None) -> str:
        """The answer bot.extractive would write with these rows and this short answer."""
        from bot.extractive import Quoted, compose

        releases = self.releases or [(None, "")] * len(self.texts)
        quoted = [Quoted(self.texts[k].strip(), self.candidates[k].hit + 1, *releases[k]) for k in given]
        return compose(self.lang, quoted, short)


def holds(text: str, phrase: str) -> bool:
    return " ".join(phrase.casefold().split()) in " ".join(text.casefold().split())


def collect(set_name: str, questions_path: Path, corpus: Path, cache: Path) -> list[QuestionRows]:
    """Index the corpus (incrementally, under cache) and turn every question into its candidate rows."""
    from benchmarks.eval import answer_order, load_questions
    from bot.answer import Bot
    from bot.confidence import missing_terms
    from bot.extractive import PASSAGES_READ, release_of
    from bot.query import prepare
    from bot.sentences import FEATURES, candidate_sentences
    from index.settings import Settings
    from index.update import build

    settings = Settings(
        home=cache / set_name, chroma_url=None, records_url=None, collection="train", embeddings="bundled", llm=None
    )
    summary = build([str(corpus)], settings)
    print(f"{set_name}: {summary.line()}", file=sys.stderr)
    questions = load_questions(questions_path)
    by_id = {q.id: q for q in questions}
    bot = Bot(settings)
    searcher = bot.searcher
    snapshot = searcher.cache.current()
    heading_at = FEATURES.index("heading")
    rows = []
    for q in answer_order(questions):
        history = None
        if q.follows:  # the conversation's user turns; what the bot said does not change the features
            chain, current = [], by_id[q.follows]
            while True:
                chain.insert(0, current)
                if not current.follows:
                    break
                current = by_id[current.follows]
            history = [
                turn
                for c in chain
                for turn in ({"role": "user", "content": c.question}, {"role": "assistant", "content": ""})
            ]
        query = prepare(q.question, history)
        ranking = searcher.rank(query, k=PASSAGES_READ)
        candidates = candidate_sentences(
            query,
            ranking,
            bot._vectors,
            snapshot,
            passages=PASSAGES_READ,  # noqa: SLF001
            missing=bool(missing_terms(query, snapshot)),
        )
        x = np.array([c.features for c in candidates], dtype=np.float64).reshape(-1, len(FEATURES))
        y = np.array([any(holds(c.text, p) for p in q.answer_contains) for c in candidates], dtype=int)
        rows.append(
            QuestionRows(
                set_name,
                q.id,
                q.kind,
                q.relevant[0] if q.relevant else q.id,
                q.answerable,
                q.answer_contains,
                query.asks.leads,
                x,
                y,
                x[:, heading_at] > 0,
                [c.typed[0] if len(c.typed) == 1 else None for c in candidates],
                [c.text for c in candidates],
                candidates,
                query.lang,
                [release_of(ranking.hits[c.hit].metadata) for c in candidates],
            )
        )
    bot.close()
    return rows


@dataclass
class Fitted:
    """Both models and their thresholds, as fitted on some rows."""

    scaler: Any
    sentences: Any
    question_scaler: Any
    questions: Any
    bars: dict[str, float]

    def sentence_probabilities(self, row: QuestionRows) -> np.ndarray:
        if not len(row.x):
            return np.zeros(0)
        return self.sentences.predict_proba(self.scaler.transform(row.x))[:, 1]

    def answerable(self, row: QuestionRows, p: np.ndarray) -> float:
        x = question_row(row, p)
        return 0.0 if x is None else float(self.questions.predict_proba(self.question_scaler.transform(x[None]))[0, 1])


def _scaled(x: np.ndarray) -> Any:
    from sklearn.preprocessing import StandardScaler

    scaler = StandardScaler().fit(x)
    scaler.scale_ = np.where(scaler.scale_ > 0, scaler.scale_, 1.0)
    return scaler


def question_row(row: QuestionRows, p: np.ndarray) -> np.ndarray | None:
    """The question model's inputs for this question, computed as the bot does (bot.answer_model).

    None without candidates."""
    from bot.answer_model import question_features

    order = givable(row, p)
    if not order:
        return None
    runner_up = p[order[1]] if len(order) > 1 else 0.0
    return question_features(row.candidates[order[0]], float(p[order[0]]), float(runner_up))


def fit(rows: list[QuestionRows], inner_folds: int = INNER_FOLDS) -> Fitted:
    """Both models on these rows; the thresholds on out-of-fold predictions over the same rows.

    Thresholds set on the models' own training rows were too confident: answerable questions
    score higher there than on questions the models never saw, so the abstention bar chosen
    for 4 % false abstentions gave 19-22 % on the other set. Each row's decision inputs
    therefore come from models fitted without its release (grouped K-fold, as cross_validate).
    """
    fitted = _fit_models(rows)
    if inner_folds > 1 and len({_group(r) for r in rows}) >= inner_folds:
        from sklearn.model_selection import GroupKFold

        held_out: dict[int, Fitted] = {}
        splits = GroupKFold(n_splits=inner_folds).split(np.zeros(len(rows)), groups=[_group(r) for r in rows])
        for train, test in splits:
            inner = _fit_models([rows[i] for i in train])
            held_out.update({int(i): inner for i in test})
        fitted.bars = thresholds(rows, held_out)
    else:
        fitted.bars = thresholds(rows, {i: fitted for i in range(len(rows))})
    return fitted


def _group(row: QuestionRows) -> str:
    return f"{row.set_name}:{row.group}"


def _fit_models(rows: list[QuestionRows]) -> Fitted:
    """The sentence model, then the question model on its outputs (no thresholds yet)."""
    from sklearn.linear_model import LogisticRegression

    from bot.answer_model import QUESTION_FEATURES

    x = np.vstack([r.x for r in rows if len(r.x)])
    y = np.concatenate([r.y for r in rows if len(r.x)])
    scaler = _scaled(x)
    sentences = LogisticRegression(C=REGULARISATION_C, max_iter=2000, random_state=SEED).fit(scaler.transform(x), y)
    fitted = Fitted(scaler, sentences, None, None, {})
    qx, qy = [], []
    for row in rows:
        features = question_row(row, fitted.sentence_probabilities(row))
        if features is not None:
            qx.append(features)
            qy.append(int(row.answerable))
    qx_arr = np.array(qx)
    fitted.question_scaler = _scaled(qx_arr)
    # balanced: unanswerable questions are few (14 of 132), and each must count; signed: see QUESTION_SIGNS
    fitted.questions = SignedLogisticRegression(
        [QUESTION_SIGNS[name] for name in ("best_probability", "runner_up", *QUESTION_FEATURES)], C=REGULARISATION_C
    ).fit(fitted.question_scaler.transform(qx_arr), np.array(qy))
    return fitted


def chosen(row: QuestionRows, p: np.ndarray, second_ratio: float) -> list[int]:
    """The sentences the bot would give (bot.extractive.choose over the givable ones), as row indices."""
    from bot.extractive import Scored, choose

    at = {id(c): i for i, c in enumerate(row.candidates)}
    order = givable(row, p)
    picked = choose([Scored(row.candidates[i], float(p[i])) for i in order], second_ratio)
    return [at[id(s.candidate)] for s in picked]


def givable(row: QuestionRows, p: np.ndarray) -> list[int]:
    """Row indices of the sentences that may be given (no headings), most probable first."""
    return [int(i) for i in np.argsort(-p, kind="stable") if not row.heading[i]]


def thresholds(rows: list[QuestionRows], models: dict[int, Fitted]) -> dict[str, float]:
    """abstain_below, second_ratio and short_above chosen on these (training) rows, each row scored by
    models[its index]."""
    answerable_scores, shorts, decided = [], [], []
    for n, row in enumerate(rows):
        p = models[n].sentence_probabilities(row)
        picked = givable(row, p)[:1]
        score = models[n].answerable(row, p)
        decided.append((row, p, score))
        if row.answerable:
            answerable_scores.append(score)
            if picked and row.leads and row.shorts[picked[0]] and row.expected:
                shorts.append((p[picked[0]], any(short_answer_holds(row.shorts[picked[0]], e) for e in row.expected)))
    ordered = np.sort(answerable_scores)
    allowed = int(np.floor(TARGET_FALSE_ABSTAIN * len(ordered)))  # answerable questions that may fall under the bar
    abstain_below = max(float(ordered[allowed]) - 1e-9 if len(ordered) > allowed else 0.0, 0.0)
    short_above = 1.0
    for t in sorted({s for s, _ in shorts}):
        above = [ok for s, ok in shorts if s >= t]
        if above and np.mean(above) >= TARGET_SHORT_PRECISION and len(above) >= 3:
            short_above = float(t)
            break
    answered = [
        (row, p, short_of(row, p, short_above)) for row, p, score in decided if score >= abstain_below and len(p)
    ]
    second_ratio = 1.0
    for ratio in np.round(np.arange(0.30, 1.0001, 0.05), 2):
        # the answers as the bot writes them: their length is what MAX_MEDIAN_ANSWER_CHARS bounds
        lengths = [len(row.answer_text(chosen(row, p, ratio), short)) for row, p, short in answered]
        if lengths and np.median(lengths) <= MAX_MEDIAN_ANSWER_CHARS:
            second_ratio = float(ratio)
            break
    return {"abstain_below": abstain_below, "short_above": short_above, "second_ratio": second_ratio}


def short_of(row: QuestionRows, p: np.ndarray, short_above: float) -> str | None:
    """The short answer the bot would lead with (bot.extractive.short_answer on the best givable sentence)."""
    from bot.extractive import Scored, short_answer

    best = givable(row, p)[:1]
    return short_answer(Scored(row.candidates[best[0]], float(p[best[0]])), row.leads, short_above) if best else None


def _mean(values: list[float]) -> float | None:
    return float(np.mean(values)) if values else None


def measure(rows: list[QuestionRows], fitted: Fitted | dict[int, Fitted]) -> dict[str, float | int | None]:
    """Question-level figures on held-out rows: one fitted model for all, or one per question (cross-validation)."""
    from sklearn.metrics import roc_auc_score

    fig: dict[str, list[float]] = {
        k: []
        for k in (
            "best_sentence_holds",
            "answer_holds",
            "abstain",
            "false_abstain",
            "short_coverage",
            "short_precision",
            "answer_chars",
        )
    }
    ys, ps = [], []
    for i, row in enumerate(rows):
        model = fitted[i] if isinstance(fitted, dict) else fitted
        bars = model.bars
        p = model.sentence_probabilities(row)
        ys.append(row.y)
        ps.append(p)
        given = chosen(row, p, bars["second_ratio"])
        best = givable(row, p)[:1]
        found = bool(given) and model.answerable(row, p) >= bars["abstain_below"]
        short = short_of(row, p, bars["short_above"])
        if found:
            fig["answer_chars"].append(float(len(row.answer_text(given, short))))
        if row.answerable:
            fig["false_abstain"].append(0.0 if found else 1.0)
            fig["best_sentence_holds"].append(1.0 if found and row.y[best[0]] else 0.0)
            fig["answer_holds"].append(1.0 if found and any(row.y[k] for k in given) else 0.0)
            if found and row.leads and row.expected:
                fig["short_coverage"].append(1.0 if short else 0.0)
                if short:
                    fig["short_precision"].append(
                        1.0 if any(short_answer_holds(short, e) for e in row.expected) else 0.0
                    )
        else:
            fig["abstain"].append(0.0 if found else 1.0)
    y, p = np.concatenate(ys), np.concatenate(ps)
    out: dict[str, float | int | None] = {
        "questions": len(rows),
        "sentence_auc": float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else None,
    }
    out.update({k: _mean(v) for k, v in fig.items() if k != "answer_chars"})
    out["median_answer_chars"] = float(np.median(fig["answer_chars"])) if fig["answer_chars"] else None
    return out


def cross_validate(rows: list[QuestionRows], folds: int = 5) -> dict[str, float | int | None]:
    """Grouped K-fold over questions: a release's questions are all in one fold; thresholds from the training folds."""
    from sklearn.model_selection import GroupKFold

    groups = [_group(r) for r in rows]
    per_question: dict[int, Fitted] = {}
    for train, test in GroupKFold(n_splits=folds).split(np.zeros(len(rows)), groups=groups):
        fitted = fit([rows[i] for i in train])
        per_question.update({int(i): fitted for i in test})
    return measure(rows, per_question)  # each question predicted by the models that did not see its release


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.train_answer_model", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--set", nargs=3, action="append", required=True, metavar=("NAME", "QUESTIONS", "DIR"), dest="sets"
    )
    parser.add_argument(
        "--cache", type=Path, default=Path(".train-cache"), help="where the sets' indexes are kept between runs"
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "bot" / "answer_model.json")
    parser.add_argument("--report", type=Path, help="also write the figures as JSON")
    parser.add_argument(
        "--rows", type=Path, help="keep the collected rows in this file and reuse them (features unchanged)"
    )
    args = parser.parse_args(argv)

    from bot.answer_model import QUESTION_FEATURES, AnswerModel
    from bot.sentences import FEATURES

    if args.rows and args.rows.is_file():
        by_set = pickle.loads(args.rows.read_bytes())
    else:
        by_set = {name: collect(name, Path(q), Path(c), args.cache.resolve()) for name, q, c in args.sets}
        if args.rows:
            args.rows.write_bytes(pickle.dumps(by_set))
    every = [r for rows in by_set.values() for r in rows]
    report: dict[str, Any] = {
        "features": list(FEATURES),
        "cross_set": {},
        "sets": {n: len(r) for n, r in by_set.items()},
    }
    names = list(by_set)
    for test_name in names:
        train_rows = [r for n in names if n != test_name for r in by_set[n]]
        if not train_rows:
            continue
        fitted = fit(train_rows)
        report["cross_set"][f"train {'+'.join(n for n in names if n != test_name)} -> test {test_name}"] = {
            **measure(by_set[test_name], fitted),
            **fitted.bars,
        }
    report["grouped_cv_5"] = cross_validate(every)
    fitted = fit(every)
    report["final"] = {**measure(every, fitted), **fitted.bars, "note": "on its own training questions"}
    trained = AnswerModel(
        features=FEATURES,
        mean=fitted.scaler.mean_,
        scale=fitted.scaler.scale_,
        coef=fitted.sentences.coef_[0],
        intercept=float(fitted.sentences.intercept_[0]),
        question_mean=fitted.question_scaler.mean_,
        question_scale=fitted.question_scaler.scale_,
        question_coef=fitted.questions.coef_[0],
        question_intercept=float(fitted.questions.intercept_[0]),
        version=f"{date.today().isoformat()} trained on "
        + ", ".join(f"{n} ({len(r)} questions)" for n, r in by_set.items()),
        **fitted.bars,
    )
    args.out.write_text(json.dumps(trained.to_json(), indent=1) + "\n", encoding="utf-8")
    report["coefficients"] = dict(zip(FEATURES, (round(float(c), 3) for c in fitted.sentences.coef_[0])))
    report["question_coefficients"] = dict(
        zip(
            ["best_probability", "runner_up", *QUESTION_FEATURES],
            (round(float(c), 3) for c in fitted.questions.coef_[0]),
        )
    )
    text = json.dumps(report, indent=1)
    print(text)
    if args.report:
        args.report.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
