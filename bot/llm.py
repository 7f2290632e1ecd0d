"""LLM mode: answers written by a chat model through LangChain, from the same numbered passages.

Chosen by COMMUNIQUE_LLM=ollama:<model> or openai:<model> (any OpenAI-compatible server
via OPENAI_BASE_URL / OPENAI_API_KEY). Prompts are the text files in prompts/. The
model never sees passages as instructions: they are fenced and the prompt says so, and
whatever it writes goes through the same citation check as the extractive answer.
"""
from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from index.settings import Settings

from .citations import Passage
from .confidence import ABSTAIN_TEXT
from .query import Query

PROMPTS = Path(__file__).resolve().parent.parent / "prompts"


class LLMConfigError(ValueError):
    """COMMUNIQUE_LLM names no chat model we can build."""


def prompt(name: str) -> str:
    return (PROMPTS / f"{name}.txt").read_text(encoding="utf-8")


@lru_cache(maxsize=4)
def chat_model(spec: str) -> BaseChatModel:
    """The LangChain chat model named by a COMMUNIQUE_LLM value."""
    provider, _, model = spec.partition(":")
    if not model:
        raise LLMConfigError(f"COMMUNIQUE_LLM={spec!r}: use 'ollama:<model>' or 'openai:<model>'")
    if provider == "ollama":
        from langchain_ollama import ChatOllama

        return ChatOllama(model=model, temperature=0)
    if provider == "openai":
        from langchain_openai import ChatOpenAI

        return ChatOpenAI(model=model, temperature=0, timeout=120, max_retries=1)
    raise LLMConfigError(f"COMMUNIQUE_LLM={spec!r}: unknown provider {provider!r} (ollama or openai)")


def format_passages(passages: list[Passage]) -> str:
    """Numbered, fenced passages with their release title, date and language."""
    blocks = []
    for p in passages:
        meta = p.metadata
        header = f"[{p.n}] {meta.get('title', '')} ({meta.get('date') or 'undated'}, {meta.get('lang', '?')})"
        text = p.text.replace("<<<", "‹‹‹").replace(">>>", "›››")   # a passage cannot close its own fence
        blocks.append(f"{header}\n<<<\n{text}\n>>>")
    return "\n\n".join(blocks)


def messages_for(query: Query, passages: list[Passage]) -> list:
    system = prompt("answer").format(question_lang=query.lang, not_found=ABSTAIN_TEXT.get(query.lang, ABSTAIN_TEXT["en"]),
                                     passages=format_passages(passages))
    return [SystemMessage(content=system), HumanMessage(content=query.question)]


def stream_answer(query: Query, passages: list[Passage], settings: Settings) -> Iterator[str]:
    """The model's answer, piece by piece as it streams."""
    model = chat_model(settings.llm or "")
    for chunk in model.stream(messages_for(query, passages)):
        text = chunk.content if isinstance(chunk.content, str) else "".join(
            part.get("text", "") for part in chunk.content if isinstance(part, dict))
        if text:
            yield text


def rewrite_question(question: str, history: list[dict], settings: Settings) -> str:
    """A follow-up rewritten to stand alone, by the model, from the conversation."""
    turns = "\n".join(f"{m.get('role')}: {m.get('content')}" for m in history[-6:] if isinstance(m.get("content"), str))
    reply = chat_model(settings.llm or "").invoke([HumanMessage(content=prompt("rewrite").format(history=turns, question=question))])
    text = reply.content if isinstance(reply.content, str) else ""
    text = text.strip().strip('"').strip()
    return text if 0 < len(text) < 500 else question


def says_not_found(text: str) -> bool:
    return any(message.rstrip(".").lower() in text.lower() for message in ABSTAIN_TEXT.values())
