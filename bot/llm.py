"""LLM mode: answers written by a chat model through LangChain, from the same numbered passages.

Chosen by COMMUNIQUE_LLM=ollama:<model> or openai:<model> (any OpenAI-compatible server
via OPENAI_BASE_URL / OPENAI_API_KEY, read by the openai SDK; Ollama's address by OLLAMA_HOST).
Prompts are the text files in prompts/: `<name>.txt` is the system message (instructions only),
`<name>-user.txt` the user message (the data: passages, conversation, question).

What this module must never do: put retrieved text into the system message, or let a passage
close its fence. The model may still be fooled by a passage; whatever it writes goes through
the same citation check as the extractive answer (bot.citations), and the caller decides
found / not found. Provider failures surface as one-line `LLMError`s, never raw tracebacks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from index.errors import CommuniqueError, UsageError
from index.language import LANG_NAMES
from index.settings import Settings

from .citations import Passage
from .confidence import ABSTAIN_TEXT
from .query import Query

PROMPTS = Path(__file__).resolve().parent.parent / "prompts"
PROVIDERS = ("ollama", "openai")
READ_TIMEOUT = 120.0  # seconds the server may stay silent (a local model's first token can be slow)
CONNECT_TIMEOUT = 10.0
MAX_RETRIES = 1
HISTORY_TURNS = 6  # messages of the conversation the rewrite sees
HISTORY_CHARS = 600  # of each message
MAX_REWRITE_CHARS = 300

_FENCE_RUN = re.compile(r"<{3,}|>{3,}")
_PASSAGE_MARKER = re.compile(r"\[(\d{1,3})\]")
_REWRITE_LABEL = re.compile(
    r"^\s*(?:rewritten question|question reformulée|question|last question|dernière question)\s*:\s*", re.I
)


class LLMConfigError(UsageError, ValueError):
    """COMMUNIQUE_LLM names no chat model we can build (or its provider is missing a setting)."""


class LLMError(CommuniqueError, RuntimeError):
    """The chat model could not be reached or failed; str() is one line for the user."""


def prompt(name: str) -> str:
    return (PROMPTS / f"{name}.txt").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- the model


def parse_spec(spec: str | None) -> tuple[str, str]:
    """('openai', 'gpt-4o-mini') from 'openai:gpt-4o-mini'; LLMConfigError for anything else."""
    provider, _, model = (spec or "").partition(":")
    provider, model = provider.strip().lower(), model.strip()
    if provider not in PROVIDERS:
        raise LLMConfigError(
            f"COMMUNIQUE_LLM={spec!r}: unknown provider {provider!r}; use 'ollama:<model>' or 'openai:<model>'"
        )
    if not model:
        raise LLMConfigError(f"COMMUNIQUE_LLM={spec!r}: no model named; use '{provider}:<model>'")
    return provider, model


def chat_model(spec: str) -> BaseChatModel:
    """The LangChain chat model named by a COMMUNIQUE_LLM value (streaming, temperature 0, bounded waits).

    Built per call (a few ms) rather than cached, so that a changed OPENAI_BASE_URL / OLLAMA_HOST
    is honoured; the SDKs keep their HTTP connection pools themselves.
    """
    import httpx

    provider, model = parse_spec(spec)
    timeout = httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT)
    if provider == "ollama":
        from langchain_ollama import ChatOllama

        return ChatOllama(model=model, temperature=0, client_kwargs={"timeout": timeout})
    import openai
    from langchain_openai import ChatOpenAI

    try:
        return ChatOpenAI(model=model, temperature=0, timeout=timeout, max_retries=MAX_RETRIES)
    except openai.OpenAIError as exc:  # no API key: the SDK refuses to build a client
        raise LLMConfigError(
            f"COMMUNIQUE_LLM={spec!r}: {_one_line(exc)} (any value will do for a local server)"
        ) from exc


def stream_answer(query: Query, passages: list[Passage], settings: Settings) -> Iterator[str]:
    """The model's answer, piece by piece as it streams; LLMError if the model fails or says nothing."""
    model = chat_model(settings.llm or "")
    said = False
    with _calling(settings.llm or ""):
        for chunk in model.stream(messages_for(query, passages)):
            text = _text_of(chunk.content)
            if text:
                said = True
                yield text
    if not said:
        raise LLMError(f"The language model ({settings.llm}) returned an empty answer.")


def rewrite_question(question: str, history: list[dict], settings: Settings) -> str | None:
    """A follow-up rewritten by the model to stand alone, or None when its reply is not usable as a question."""
    model = chat_model(settings.llm or "")
    with _calling(settings.llm or ""):
        reply = model.invoke(rewrite_messages(question, history))
    lines = [line.strip() for line in _text_of(reply.content).splitlines() if line.strip()]
    text = _REWRITE_LABEL.sub("", lines[0]).strip().strip("\"'“”«»").strip() if lines else ""
    return text if 0 < len(text) <= MAX_REWRITE_CHARS else None


# --------------------------------------------------------------------------- prompts


def messages_for(query: Query, passages: list[Passage]) -> list[BaseMessage]:
    """System: the rules only. User: the fenced passages, then the question."""
    system = prompt("answer").format(
        question_lang=LANG_NAMES["en"].get(query.lang, query.lang), not_found=not_found_text(query.lang)
    )
    user = prompt("answer-user").format(passages=format_passages(passages), question=_one_line_text(query.question))
    return [SystemMessage(content=system), HumanMessage(content=user)]


def rewrite_messages(question: str, history: list[dict]) -> list[BaseMessage]:
    """System: how to rewrite. User: the recent conversation (fenced) and the follow-up."""
    turns = [
        f"{m.get('role', 'user')}: {_one_line_text(m['content'])[:HISTORY_CHARS]}"
        for m in history[-HISTORY_TURNS:]
        if isinstance(m.get("content"), str) and m["content"].strip()
    ]
    user = prompt("rewrite-user").format(history=fence("\n".join(turns)), question=_one_line_text(question))
    return [SystemMessage(content=prompt("rewrite")), HumanMessage(content=user)]


def format_passages(passages: list[Passage]) -> str:
    """Numbered, fenced passages: `[n] title (date, lang)` then the text between `<<<` and `>>>` lines."""
    blocks = []
    for p in passages:
        meta = p.metadata
        title = _neutral(_one_line_text(str(meta.get("title") or "untitled"))[:200])
        header = f"[{p.n}] {title} ({meta.get('date') or 'undated'}, {_neutral(str(meta.get('lang') or '?'))})"
        blocks.append(f"{header}\n{fence(p.text)}")
    return "\n\n".join(blocks)


def fence(text: str) -> str:
    """Text between a `<<<` line and a `>>>` line that nothing inside can close or reopen."""
    return f"<<<\n{_neutral(text).strip()}\n>>>"


def _neutral(text: str) -> str:
    """Runs of <<< / >>> become ‹‹‹ / ››› (a passage cannot close its fence); [n] becomes (n) (not a marker)."""
    text = _FENCE_RUN.sub(lambda m: ("‹" if m.group()[0] == "<" else "›") * len(m.group()), text)
    return _PASSAGE_MARKER.sub(r"(\1)", text)


# --------------------------------------------------------------------------- the reply


def not_found_text(lang: str) -> str:
    return ABSTAIN_TEXT.get(lang, ABSTAIN_TEXT["en"])


def not_found_reply(text: str, *, cited: bool) -> str | None:
    """The canonical not-found sentence when the reply is a not-found reply, else None.

    It is one when it holds the sentence and cites nothing it was given, or opens with the sentence
    (then anything after it is set aside: the question was not answered).
    """
    sentence = _not_found_sentence(text)
    if sentence is None:
        return None
    opens_with_it = _normal(text).startswith(_normal(sentence).rstrip("."))
    return sentence if not cited or opens_with_it else None


def _not_found_sentence(text: str) -> str | None:
    normal = _normal(text)
    return next((s for s in ABSTAIN_TEXT.values() if _normal(s).rstrip(".") in normal), None)


def _normal(text: str) -> str:
    text = _PASSAGE_MARKER.sub("", text).replace("’", "'").replace("`", "'").lower()
    return " ".join(text.split())


# --------------------------------------------------------------------------- provider failures


@contextmanager
def _calling(spec: str) -> Iterator[None]:
    """Turn the providers' connection, timeout and HTTP errors into a one-line LLMError."""
    try:
        yield
    except _provider_errors() as exc:
        raise LLMError(f"The language model ({spec}{_where(exc)}) did not answer: {_one_line(exc)}") from exc


def _provider_errors() -> tuple[type[BaseException], ...]:
    import httpx
    import ollama
    import openai

    return (openai.APIError, ollama.ResponseError, ollama.RequestError, httpx.HTTPError, ConnectionError, TimeoutError)


def _where(exc: BaseException) -> str:
    try:
        request = getattr(exc, "request", None)
        return f" at {request.url.scheme}://{request.url.netloc.decode()}" if request is not None else ""
    except (RuntimeError, AttributeError):  # httpx raises RuntimeError when an error has no request
        return ""


def _one_line(exc: BaseException) -> str:
    import openai

    if isinstance(exc, openai.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}  # the SDK passes the "error" object when there is one
        body = body["error"] if isinstance(body.get("error"), dict) else body
        detail = body.get("message")
        text = f"HTTP {exc.status_code}" + (f": {detail}" if detail else "")
    else:
        text = str(exc) or type(exc).__name__
    text = _one_line_text(text)
    return text if len(text) <= 200 else text[:199] + "…"


def _one_line_text(text: str) -> str:
    return " ".join(text.split())


def _text_of(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text", "") if isinstance(part, dict) else str(part)
            for part in content
            if not isinstance(part, dict) or part.get("type", "text") == "text"
        )
    return ""
