"""Judges and graders: the OpenAI-compatible backend against a local server, the OCR judge."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from artic_rl.mllm.judges import DEVIBENCH_PROMPT, Box, ExactMatchGrader, is_refusal, normalise
from artic_rl.mllm.openai_judge import ChatClient, JudgeError, LLMGrader, OpenAIJudge


class FakeServer:
    """A chat-completions server on 127.0.0.1 scripted by the test."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.fail_first: list[int] = []  # HTTP statuses to return before succeeding
        self.reply = "61:30"
        self.delay_s = 0.0
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests.append(body)
                    server.headers.append(dict(self.headers))
                    status = server.fail_first.pop(0) if server.fail_first else 200
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                time.sleep(server.delay_s)
                with server.lock:
                    server.in_flight -= 1
                if status != 200:
                    self.send_response(status)
                    self.send_header("Retry-After", "0")
                    self.end_headers()
                    return
                out = json.dumps({"choices": [{"message": {"content": server.reply}}]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as s:
        yield s


def frames(n: int = 2) -> list[np.ndarray]:
    return [np.full((36, 64, 3), 40 * i, dtype=np.uint8) for i in range(n)]


def test_openai_judge_sends_devibench_prompt_and_jpegs(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_JUDGE_KEY", "sk-secret-123")
    client = ChatClient(server.url, "qwen-vl", api_key_env="TEST_JUDGE_KEY", timeout_s=5)
    judge = OpenAIJudge(client)
    ans = judge.answer(frames(2), "What is the time on the scoreboard?")
    assert ans.text == "61:30" and ans.error is None and ans.model == "qwen-vl"
    assert ans.latency_ms >= 0.0
    body = server.requests[0]
    assert body["model"] == "qwen-vl" and body["temperature"] == 0.0
    content = body["messages"][0]["content"]
    assert content[0] == {
        "type": "text",
        "text": f"{DEVIBENCH_PROMPT}\nQuestion: What is the time on the scoreboard?",
    }
    assert len(content) == 3
    url = content[1]["image_url"]["url"]
    assert url.startswith("data:image/jpeg;base64,")
    img = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert img.format == "JPEG" and img.size == (64, 36)
    assert server.headers[0]["Authorization"] == "Bearer sk-secret-123"
    assert "sk-secret" not in repr(client) and "sk-secret" not in repr(vars(client))


def test_retries_on_429_and_5xx_with_backoff(server: FakeServer) -> None:
    waits: list[float] = []
    client = ChatClient(server.url, "m", api_key_env="", max_retries=3, sleep=waits.append)
    server.fail_first = [429, 503]
    assert client.complete([{"role": "user", "content": "hi"}]) == "61:30"
    assert len(server.requests) == 3
    assert waits == [0.0, 0.0]  # Retry-After: 0 wins over the exponential backoff
    assert "Authorization" not in server.headers[0]


def test_gives_up_and_does_not_retry_client_errors(server: FakeServer) -> None:
    waits: list[float] = []
    client = ChatClient(
        server.url, "m", api_key_env="", max_retries=2, backoff_s=0.5, sleep=waits.append
    )
    client._wait(0, None)
    client._wait(2, None)
    assert waits == [0.5, 2.0]
    server.fail_first = [500, 500, 500]
    with pytest.raises(JudgeError, match="gave up after 3 attempts"):
        client.complete([])
    server.fail_first = [400]
    n = len(server.requests)
    with pytest.raises(JudgeError, match="HTTP 400"):
        client.complete([])
    assert len(server.requests) == n + 1
    # a judge turns a failure into an answer with an error, never an exception
    server.fail_first = [401]
    ans = OpenAIJudge(client).answer(frames(1), "q")
    assert ans.text == "" and "HTTP 401" in (ans.error or "")


def test_unreachable_server_times_out_cleanly() -> None:
    client = ChatClient(
        "http://127.0.0.1:9/v1", "m", api_key_env="", max_retries=1, sleep=lambda s: None
    )
    with pytest.raises(JudgeError, match="cannot reach"):
        client.complete([])


def test_concurrency_is_bounded(server: FakeServer) -> None:
    server.delay_s = 0.05
    client = ChatClient(server.url, "m", api_key_env="", max_concurrency=2)
    answers = OpenAIJudge(client).answer_many([(frames(1), f"q{i}", None) for i in range(6)])
    assert [a.text for a in answers] == ["61:30"] * 6
    assert server.max_in_flight == 2


def test_llm_grader_counts_refusals_wrong(server: FakeServer) -> None:
    grader = LLMGrader(ChatClient(server.url, "m", api_key_env=""))
    server.reply = "Yes."
    assert grader.grade("What time?", "It shows 61:30", "61:30:00")
    prompt = server.requests[-1]["messages"][0]["content"]
    assert "Reference answer: 61:30:00" in prompt and "Model answer: It shows 61:30" in prompt
    server.reply = "no"
    assert not grader.grade("What time?", "12:00", "61:30:00")
    n = len(server.requests)
    assert not grader.grade("What time?", "I cannot determine the time from the video.", "61:30")
    assert len(server.requests) == n  # refusals never reach the model


def test_exact_match_grader() -> None:
    g = ExactMatchGrader()
    assert normalise("The  Third-Man!") == ["third", "man"]
    assert normalise("1,000 USD") == ["1000", "usd"]
    assert g.grade("q", "The Third Man", "third man")
    assert g.grade("q", "The year is 1949.", "1949")
    assert not g.grade("q", "19", "1949")
    assert not g.grade("q", "1949", "")
    assert not ExactMatchGrader(allow_containment=False).grade("q", "The year is 1949", "1949")
    for refusal in ("", "Sorry", "The text is too blurry to read", "It is not legible"):
        assert is_refusal(refusal)
    assert not g.grade("q", "The text is too blurry to read, maybe 1949", "1949")
    assert not is_refusal("Blue")


def test_box_crop() -> None:
    frame = np.arange(100 * 200, dtype=np.int64).reshape(100, 200)[:, :, None].repeat(3, axis=2)
    crop = Box(0.25, 0.5, 0.5, 0.6).crop(frame)
    assert crop.shape[:2] == (10, 50)
    assert crop[0, 0, 0] == 50 * 200 + 50
    with pytest.raises(ValueError):
        Box(0.5, 0.0, 0.4, 1.0)


def text_frame(text: str, size: int = 40) -> tuple[np.ndarray, Box]:
    img = Image.new("RGB", (640, 360), (200, 200, 190))
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=size)
    draw.text((120, 150), text, fill=(10, 10, 10), font=font)
    return np.asarray(img), Box(120 / 640, 140 / 360, 520 / 640, 210 / 360)


def test_ocr_judge_reads_the_region_offline() -> None:
    from artic_rl.mllm.ocr_judge import OcrJudge

    frame, box = text_frame("EXIT 42B")
    judge = OcrJudge()
    ans = judge.answer([frame], "What is written on the sign?", box)
    assert ans.model == "rapidocr-ppocrv4" and ans.latency_ms > 0
    assert ExactMatchGrader().grade("q", ans.text, "EXIT 42B"), ans.text
    # a smeared frame is not read correctly
    blurred = np.asarray(Image.fromarray(frame).resize((40, 22)).resize((640, 360)))
    assert not ExactMatchGrader().grade("q", judge.answer([blurred], "q", box).text, "EXIT 42B")
