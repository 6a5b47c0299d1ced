"""An OpenAI-compatible chat-completions judge (vLLM, SGLang, Ollama, LM Studio, hosted APIs).

Frames go as base64 JPEG ``image_url`` parts after DeViBench's prompt. Standard library only
(``urllib``): the key is read from an environment variable at call time, sent in the
``Authorization`` header and never stored in the object, printed, or put into an error message.
Requests are bounded in number (``max_concurrency``), time out (``timeout_s``), and are retried
with exponential backoff on 429 and 5xx answers and on connection errors (``Retry-After`` wins).
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from artic_rl.errors import ArticError
from artic_rl.mllm.judges import DEVIBENCH_PROMPT, Answer, Box, is_refusal

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class JudgeError(ArticError):
    """The backend could not be reached or refused the request for good."""


def jpeg_base64(frame: np.ndarray, quality: int = 90) -> str:
    """An RGB uint8 frame as a base64 JPEG string."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(frame, dtype=np.uint8)).save(buf, "JPEG", quality=quality)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def devibench_messages(frames: Sequence[np.ndarray], question: str, quality: int = 90) -> list:
    """Chat messages in DeViBench's form: prompt, ``Question: ...``, then one image per frame."""
    content: list[dict[str, Any]] = [
        {"type": "text", "text": f"{DEVIBENCH_PROMPT}\nQuestion: {question}"}
    ]
    for frame in frames:
        url = "data:image/jpeg;base64," + jpeg_base64(frame, quality)
        content.append({"type": "image_url", "image_url": {"url": url}})
    return [{"role": "user", "content": content}]


class ChatClient:
    """A minimal chat-completions client with timeouts, a concurrency bound and retries.

    Args:
        base_url: e.g. ``http://127.0.0.1:8000/v1`` (``/chat/completions`` is appended).
        model: the model name the server expects.
        api_key_env: name of the environment variable holding the key (unset: no header).
        timeout_s: per-request timeout.
        max_concurrency: at most this many requests in flight from this client.
        max_retries: retries after the first attempt on 429 / 5xx / connection errors.
        backoff_s: first backoff; doubles each retry, capped at ``max_backoff_s``.
        sleep: injectable for tests.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key_env: str = "OPENAI_API_KEY",
        timeout_s: float = 60.0,
        max_concurrency: int = 4,
        max_retries: int = 4,
        backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key_env = api_key_env
        self.timeout_s = timeout_s
        self.max_concurrency = max(int(max_concurrency), 1)
        self.max_retries = max(int(max_retries), 0)
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.sleep = sleep
        self._slots = threading.BoundedSemaphore(self.max_concurrency)

    def __repr__(self) -> str:
        return f"ChatClient(url={self.url!r}, model={self.model!r}, key from ${self.api_key_env})"

    def _request(self, body: bytes) -> urllib.request.Request:
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env, "") if self.api_key_env else ""
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return urllib.request.Request(self.url, data=body, headers=headers, method="POST")

    def _wait(self, attempt: int, retry_after: str | None) -> None:
        delay = min(self.backoff_s * 2.0**attempt, self.max_backoff_s)
        if retry_after is not None:
            with contextlib.suppress(ValueError):  # an HTTP date: keep our own backoff
                delay = min(max(float(retry_after), 0.0), self.max_backoff_s)
        self.sleep(delay)

    def complete(self, messages: list, max_tokens: int = 64, temperature: float = 0.0) -> str:
        """The first choice's text; retries transient failures, raises ``JudgeError`` otherwise."""
        payload = {
            "model": self.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        body = json.dumps(payload).encode("utf-8")
        last = "no attempt"
        for attempt in range(self.max_retries + 1):
            retry_after = None
            try:
                with (
                    self._slots,
                    urllib.request.urlopen(self._request(body), timeout=self.timeout_s) as resp,
                ):
                    doc = json.loads(resp.read().decode("utf-8"))
                return str(doc["choices"][0]["message"]["content"] or "").strip()
            except urllib.error.HTTPError as err:
                last = f"HTTP {err.code} from {self.url}"
                if err.code not in RETRY_STATUSES:
                    raise JudgeError(last) from None
                retry_after = err.headers.get("Retry-After") if err.headers else None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
                last = f"cannot reach {self.url}: {getattr(err, 'reason', err)}"
            except (KeyError, IndexError, TypeError, json.JSONDecodeError) as err:
                raise JudgeError(f"malformed answer from {self.url}: {err!r}") from None
            if attempt < self.max_retries:
                self._wait(attempt, retry_after)
        raise JudgeError(f"{last} (gave up after {self.max_retries + 1} attempts)")


class OpenAIJudge:
    """Asks a chat model DeViBench's question about the frames (the region is not revealed)."""

    def __init__(
        self,
        client: ChatClient,
        jpeg_quality: int = 90,
        max_tokens: int = 64,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.client = client
        self.name = client.model
        self.jpeg_quality = jpeg_quality
        self.max_tokens = max_tokens
        self.clock = clock

    def answer(
        self, frames: Sequence[np.ndarray], question: str, region: Box | None = None
    ) -> Answer:
        start = self.clock()
        messages = devibench_messages(frames, question, self.jpeg_quality)
        try:
            text = self.client.complete(messages, max_tokens=self.max_tokens)
            error = None
        except JudgeError as err:
            text, error = "", str(err)
        return Answer(text, (self.clock() - start) * 1000.0, self.client.model, error)

    def answer_many(
        self, items: Sequence[tuple[Sequence[np.ndarray], str, Box | None]]
    ) -> list[Answer]:
        """Answers for many questions, ``client.max_concurrency`` at a time, in input order."""
        with ThreadPoolExecutor(max_workers=self.client.max_concurrency) as pool:
            return list(pool.map(lambda item: self.answer(*item), items))


GRADER_PROMPT = (
    "You are grading an answer to a question about a video.\n"
    "Question: {question}\nReference answer: {reference}\nModel answer: {answer}\n"
    "Does the model answer agree in meaning with the reference answer? A refusal, a guess that "
    "hedges between options, or 'cannot tell' is wrong. Reply with exactly one word: yes or no."
)


class LLMGrader:
    """Semantic agreement judged by a chat model; refusals are wrong without asking it."""

    def __init__(self, client: ChatClient) -> None:
        self.client = client

    def grade(self, question: str, answer: str, reference: str) -> bool:
        if is_refusal(answer):
            return False
        prompt = GRADER_PROMPT.format(question=question, reference=reference, answer=answer)
        reply = self.client.complete([{"role": "user", "content": prompt}], max_tokens=4)
        return reply.strip().lower().lstrip("\"'*").startswith("yes")
