#!/usr/bin/env python3
"""End-to-end test of worker-orcd on the host backend (python3 standard library only).

Starts `worker-orcd --device host` on models/stories260K.gguf on a free port (--port 0; the
ready line says which) and checks the HTTP contract of shared/spec/worker-http-api.md: SSE
framing and event order, token indices, every validation error, cancel mid-stream, client
disconnect, the busy queue, /health, /metrics, /tokenize and /detokenize, the OpenAI /v1
shapes, and graceful shutdown (POST /shutdown and SIGTERM exit 0).

Exit 77 (SKIP) when the model or the binary is missing. Every wait has a timeout and every
server is killed at the end, whatever happens.
"""
import http.client
import json
import os
import queue
import random
import re
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
import traceback

SKIP = 77
TOP_SRCDIR = os.environ.get("top_srcdir", os.path.join(os.path.dirname(__file__), "..", ".."))
TOP_BUILDDIR = os.environ.get("top_builddir", TOP_SRCDIR)
BINARY = os.path.join(TOP_BUILDDIR, "server", "worker-orcd")
MODEL = os.path.join(TOP_SRCDIR, "models", "stories260K.gguf")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
RNG = random.Random(int(os.environ.get("SERVER_TEST_SEED", str(int(time.time())))))
WORDS = ["the", "cat", "sat", "on", "a", "mat", "Lily", "Tom", "ran", "to", "park", "happy",
         "big", "red", "ball", "and", "saw", "dog", "tree", "sun", "played", "with", "her"]
# SERVER_TEST_DEVICE=cuda:0 runs the same checks on a GPU (default: the host backend)
DEVICE = os.environ.get("SERVER_TEST_DEVICE", "host")
MAX_BODY = 65536
MAX_DEPTH = 8
ALL_SERVERS = []


def random_text(n_words):
    return " ".join(RNG.choice(WORDS) for _ in range(n_words))


def random_id(prefix="job"):
    return prefix + "-" + "".join(RNG.choice(string.ascii_lowercase + string.digits)
                                  for _ in range(12))


class Server:
    """A worker-orcd child process; its stderr log lines are collected by a thread."""

    def __init__(self, ini_extra="", delay_ms=None, args=(), expect_ready=True):
        self.dir = tempfile.mkdtemp(prefix="worker-orcd-test-")
        self.ini = os.path.join(self.dir, "worker.ini")
        with open(self.ini, "w") as f:
            f.write("[server]\nqueue_size = 1\nmax_body_bytes = %d\n"
                    "connection_timeout_s = 10\n[limits]\nmax_json_depth = %d\n"
                    "inference_timeout_s = 60\n%s" % (MAX_BODY, MAX_DEPTH, ini_extra))
        env = dict(os.environ)
        if delay_ms is not None:
            env["WORKER_ORCD_DEBUG_TOKEN_DELAY_MS"] = str(delay_ms)
        cmd = [BINARY, "--config", self.ini, "--device", DEVICE, "--model", MODEL,
               "--port", "0", "--log-format", "json"] + list(args)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, env=env)
        ALL_SERVERS.append(self)
        self.lines = []
        self.lines_q = queue.Queue()
        self.reader = threading.Thread(target=self._read_log, daemon=True)
        self.reader.start()
        self.port = None
        self.ready = None
        if expect_ready:
            self.ready = self.wait_log("ready", timeout=60)
            assert self.ready, "no ready line within 60 s:\n" + self.log_text()
            self.port = int(self.ready["listen"].rsplit(":", 1)[1])

    def _read_log(self):
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.lines.append(line)
            self.lines_q.put(line)

    def log_text(self):
        return "\n".join(self.lines[-40:])

    def events(self):
        out = []
        for line in list(self.lines):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def wait_log(self, event, timeout):
        deadline = time.monotonic() + timeout
        for ev in self.events():
            if ev.get("event") == event:
                return ev
        while time.monotonic() < deadline:
            try:
                line = self.lines_q.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            if ev.get("event") == event:
                return ev
        return None

    def conn(self, timeout=15):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, headers=None, timeout=15):
        """Returns (status, headers dict, body bytes). body: dict -> JSON, str/bytes -> raw."""
        c = self.conn(timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
            if isinstance(body, str):
                body = body.encode("utf-8")
            hdrs = {"Content-Type": "application/json"}
            hdrs.update(headers or {})
            c.request(method, path, body=body, headers=hdrs)
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def json(self, method, path, body=None, timeout=15):
        status, headers, data = self.request(method, path, body, timeout=timeout)
        return status, json.loads(data.decode("utf-8"))

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def parse_sse(raw):
    """Split an event stream into [(event, data_dict_or_str)]; checks the framing."""
    text = raw.decode("utf-8")
    assert text.endswith("\n\n"), "stream does not end with a blank line: %r" % text[-80:]
    events = []
    for block in text.split("\n\n")[:-1]:
        lines = block.split("\n")
        if all(l.startswith(":") for l in lines):
            continue  # SSE comment (keep-alive)
        name, data = None, None
        for l in lines:
            if l.startswith(":"):
                continue
            field, sep, value = l.partition(": ")
            assert sep, "malformed SSE line %r" % l
            if field == "event":
                name = value
            elif field == "data":
                assert data is None, "several data lines in one event: %r" % block
                data = value
            else:
                raise AssertionError("unknown SSE field %r" % field)
        assert data is not None, "event without data: %r" % block
        events.append((name, data if data == "[DONE]" else json.loads(data)))
    return events


class SSEReader:
    """Incremental reader of a streaming response, event by event."""

    def __init__(self, server, path, body, timeout=20):
        self.c = server.conn(timeout)
        self.c.request("POST", path, body=json.dumps(body),
                       headers={"Content-Type": "application/json"})
        self.resp = self.c.getresponse()
        self.status = self.resp.status

    def next(self):
        name, data = None, None
        while True:
            line = self.resp.readline()
            if not line:
                return None
            line = line.decode("utf-8").rstrip("\r\n")
            if line == "":
                if data is not None:
                    return name, (data if data == "[DONE]" else json.loads(data))
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(": ")
            if field == "event":
                name = value
            elif field == "data":
                data = value

    def close(self):
        try:
            self.c.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.c.close()


# ----------------------------------------------------------------------------------------
# tests on the shared server


def check_execute_order(events, job_id, max_tokens):
    assert events, "no events"
    assert events[0][0] == "started", "first event is %r" % (events[0][0],)
    st = events[0][1]
    assert st["job_id"] == job_id and isinstance(st["model"], str) and st["model"]
    assert RFC3339.match(st["started_at"]), st["started_at"]
    terminal = [e for e in events if e[0] in ("end", "error")]
    assert len(terminal) == 1 and events[-1] is terminal[0], "exactly one terminal event, last"
    tokens = [e[1] for e in events if e[0] == "token"]
    assert [t["i"] for t in tokens] == list(range(len(tokens))), "token indices not 0..n-1"
    for t in tokens:
        assert isinstance(t["t"], str)
    for name, _ in events[1:-1]:
        assert name in ("token", "metrics"), "unexpected event %r mid-stream" % name
    for name, m in events:
        if name == "metrics":
            assert m["tokens_out"] >= 1 and m["vram_bytes"] > 0 and m["tokens_per_sec"] >= 0
    if events[-1][0] == "end":
        end = events[-1][1]
        assert end["tokens_out"] == len(tokens) <= max_tokens
        assert end["decode_time_ms"] >= 0
        assert end["stop_reason"] in ("max_tokens", "eos", "stop_sequence")
        assert isinstance(end["seed"], int) and end["seed"] >= 0
    return tokens


def test_execute_stream(s):
    job_id = random_id()
    max_tokens = RNG.randint(8, 24)
    seed = RNG.randint(0, 2**53)
    body = {"job_id": job_id, "prompt": "Once upon a time, " + random_text(3),
            "max_tokens": max_tokens, "temperature": 0.8, "seed": seed}
    status, headers, raw = s.request("POST", "/execute", body, timeout=30)
    assert status == 200, (status, raw[:200])
    assert headers["content-type"].startswith("text/event-stream")
    events = parse_sse(raw)
    tokens = check_execute_order(events, job_id, max_tokens)
    end = events[-1][1]
    assert events[-1][0] == "end", events[-1]
    assert end["seed"] == seed
    assert tokens, "no tokens generated"
    # same seed, same parameters -> same text (another job id)
    body["job_id"] = random_id()
    status, _, raw2 = s.request("POST", "/execute", body, timeout=30)
    tokens2 = [e[1]["t"] for e in parse_sse(raw2) if e[0] == "token"]
    assert tokens2 == [t["t"] for t in tokens], "same seed gave different text"
    # no seed -> one is generated and reported
    body = {"job_id": random_id(), "prompt": random_text(4), "max_tokens": 3}
    events = parse_sse(s.request("POST", "/execute", body, timeout=30)[2])
    check_execute_order(events, body["job_id"], 3)
    assert isinstance(events[-1][1]["seed"], int)
    # a stop sequence taken from the greedy output ends the job with stop_sequence
    body = {"job_id": random_id(), "prompt": "Once upon a time", "max_tokens": 40,
            "temperature": 0}
    greedy = "".join(e[1]["t"] for e in parse_sse(s.request("POST", "/execute", body)[2])
                     if e[0] == "token")
    words = greedy.split()
    if len(words) > 4:
        body = dict(body, job_id=random_id(), stop=[words[3]])
        events = parse_sse(s.request("POST", "/execute", body)[2])
        assert events[-1][0] == "end" and events[-1][1]["stop_reason"] == "stop_sequence", \
            events[-1]


def expect_400(s, body, what, path="/execute", status=400):
    st, headers, raw = s.request("POST", path, body)
    assert st == status, "%s: expected %d, got %d %r" % (what, status, st, raw[:200])
    assert headers["content-type"].startswith("application/json"), what
    err = json.loads(raw.decode("utf-8"))
    assert err.get("code") == "INVALID_REQUEST", (what, err)
    assert isinstance(err.get("message"), str) and err["message"], (what, err)
    assert err.get("retriable") is False, (what, err)
    return err["message"]


def test_validation(s):
    vocab = s.json("GET", "/health")[1]["vocab_size"]
    base = {"job_id": random_id(), "prompt": random_text(5)}

    def with_(**kw):
        b = dict(base, job_id=random_id())
        for k, v in kw.items():
            if v is KeyError:
                b.pop(k, None)
            else:
                b[k] = v
        return b

    cases = [
        (with_(job_id=KeyError), "missing job_id"),
        (with_(job_id=""), "empty job_id"),
        (with_(job_id=RNG.randint(1, 99)), "job_id not a string"),
        (with_(prompt=KeyError), "missing prompt"),
        (with_(prompt=""), "empty prompt"),
        (with_(prompt=["a"]), "prompt not a string"),
        (with_(prompt="x" * 32769), "prompt over 32768 characters"),
        (with_(max_tokens=0), "max_tokens 0"),
        (with_(max_tokens=2049), "max_tokens 2049"),
        (with_(max_tokens=-RNG.randint(1, 1000)), "max_tokens negative"),
        (with_(max_tokens="12"), "max_tokens string"),
        (with_(max_tokens=1.5), "max_tokens fractional"),
        (with_(max_tokens=True), "max_tokens boolean"),
        (with_(temperature=-0.01), "temperature below 0"),
        (with_(temperature=2.0 + RNG.random() + 0.01), "temperature above 2"),
        (with_(temperature="hot"), "temperature string"),
        (with_(temperature=None), "temperature null"),
        (with_(top_p=-0.1), "top_p below 0"),
        (with_(top_p=1.0 + RNG.random() + 0.01), "top_p above 1"),
        (with_(top_k=-1), "top_k negative"),
        (with_(top_k=vocab + RNG.randint(1, 100)), "top_k above vocab"),
        (with_(top_k=2.5), "top_k fractional"),
        (with_(repetition_penalty=-0.5), "repetition_penalty below 0"),
        (with_(repetition_penalty=2.5), "repetition_penalty above 2"),
        (with_(min_p=1.5), "min_p above 1"),
        (with_(min_p=-0.5), "min_p below 0"),
        (with_(stop="x"), "stop not an array"),
        (with_(stop=["a", "b", "c", "d", "e"]), "five stop sequences"),
        (with_(stop=[RNG.randint(0, 9)]), "stop item not a string"),
        (with_(stop=[""]), "empty stop sequence"),
        (with_(stop=[random_text(60)]), "stop sequence over 32 tokens"),
        (with_(seed=-RNG.randint(1, 10**6)), "negative seed"),
        (with_(seed="abc"), "seed not a number"),
        (with_(seed=1.5), "fractional seed"),
        (with_(seed="18446744073709551616"), "seed above 2^64-1"),
        ('{"job_id": "a", "prompt": ', "truncated JSON"),
        ('{"job_id": "a", "prompt": "b",}', "trailing comma"),
        ('[1, 2, 3]', "not an object"),
        ('"just a string"', "a bare string"),
        ('', "empty body"),
        ('{"job_id": "a", "job_id": "b", "prompt": "c"}', "duplicate keys"),
        ('{"job_id": "a", "prompt": "b", "max_tokens": 99999999999999999999999999}',
         "integer too big for 64 bits"),
        ('{"job_id": "a", "prompt": "b", "temperature": 1e400}', "real overflow"),
        ('{"job_id": "a", "prompt": "b", "x": ' + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
         + "}", "nesting deeper than max_json_depth"),
        ('{"job_id": "a", "prompt": "b", "x": ' + "[" * 5000, "deep unterminated nesting"),
        (b'{"job_id": "a", "prompt": "\xff\xfe"}', "invalid UTF-8"),
        (b'{"job_id": "a", "prompt": "\xc0\xaf"}', "overlong UTF-8"),
        (b'{"job_id": "a", "prompt": "\xed\xa0\x80"}', "UTF-8 encoded surrogate"),
        ('{"job_id": "a", "prompt": "x\\ud800"}', "lone high surrogate"),
        ('{"job_id": "a", "prompt": "x\\udc00y"}', "lone low surrogate"),
        ('{"job_id": "a", "prompt": "x\\ud800\\u0041"}', "high surrogate + non-surrogate"),
        ('{"job_id": "a", "prompt": "x\\u0000y"}', "NUL in a string"),
    ]
    for body, what in cases:
        expect_400(s, body, what)
    # a valid surrogate pair (U+1F600) is accepted
    st, _, raw = s.request("POST", "/execute", '{"job_id": "%s", "prompt": "smile \\ud83d\\ude00",'
                           ' "max_tokens": 2}' % random_id())
    assert st == 200 and parse_sse(raw)[-1][0] == "end", (st, raw[:200])
    # body cap: refused with 413 before it is read
    big = json.dumps({"job_id": random_id(), "prompt": "y" * (MAX_BODY + RNG.randint(1, 999))})
    expect_400(s, big, "body over max_body_bytes", status=413)
    # the worker still serves after all that
    assert s.json("GET", "/health")[0] == 200


def test_cancel_and_disconnect():
    s = Server(delay_ms=20)
    try:
        # cancel mid-stream
        job_id = random_id()
        r = SSEReader(s, "/execute", {"job_id": job_id, "prompt": random_text(4),
                                      "max_tokens": 400})
        assert r.status == 200
        assert r.next()[0] == "started"
        for _ in range(RNG.randint(2, 5)):
            ev = r.next()
            assert ev and ev[0] in ("token", "metrics"), ev
        t0 = time.monotonic()
        st, body = s.json("POST", "/cancel", {"job_id": job_id})
        assert st == 202, (st, body)
        after = 0
        while True:
            ev = r.next()
            assert ev is not None, "stream closed without a terminal event"
            if ev[0] == "token":
                after += 1
                continue
            if ev[0] == "metrics":
                continue
            break
        elapsed = time.monotonic() - t0
        assert ev[0] == "error" and ev[1]["code"] == "CANCELLED", ev
        assert ev[1]["retriable"] is False
        assert elapsed < 1.0, "cancel took %.3f s" % elapsed
        assert after <= 10, "%d tokens after cancel" % after
        assert r.next() is None, "events after the terminal one"
        r.close()
        # idempotent: again, and unknown ids
        assert s.json("POST", "/cancel", {"job_id": job_id})[0] == 202
        assert s.json("POST", "/cancel", {"job_id": random_id("unknown")})[0] == 202
        expect_400(s, {"job_id": 5}, "cancel with a non-string job_id", path="/cancel")
        # client disconnect cancels the job
        before = metric_value(s, 'worker_requests_total{outcome="cancelled"}')
        job_id = random_id()
        r = SSEReader(s, "/execute", {"job_id": job_id, "prompt": random_text(4),
                                      "max_tokens": 400})
        assert r.next()[0] == "started"
        r.next()
        r.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if metric_value(s, 'worker_requests_total{outcome="cancelled"}') > before:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("a disconnected client did not cancel its job")
        assert s.wait_log("client_disconnected", timeout=5)
        # the worker keeps serving
        body = {"job_id": random_id(), "prompt": random_text(3), "max_tokens": 3}
        assert parse_sse(s.request("POST", "/execute", body)[2])[-1][0] == "end"
        # busy queue: queue_size 1 -> one running, one waiting, the third gets 503
        run_id, wait_id = random_id("run"), random_id("wait")
        a = SSEReader(s, "/execute", {"job_id": run_id, "prompt": random_text(3),
                                      "max_tokens": 400})
        assert a.next()[0] == "started"
        waiting = {}

        def queued():
            b = SSEReader(s, "/execute", {"job_id": wait_id, "prompt": random_text(3),
                                          "max_tokens": 400}, timeout=30)
            evs = []
            while True:
                ev = b.next()
                if ev is None:
                    break
                evs.append(ev)
            waiting["events"] = evs
            b.close()

        th = threading.Thread(target=queued, daemon=True)
        th.start()
        deadline = time.monotonic() + 10
        while s.json("GET", "/health")[1]["queue_depth"] < 1:
            assert time.monotonic() < deadline, "second job never queued"
            time.sleep(0.02)
        st, hdr, raw = s.request("POST", "/execute", {"job_id": random_id(),
                                                      "prompt": random_text(3)})
        err = json.loads(raw.decode("utf-8"))
        assert st == 503 and err["code"] == "QUEUE_FULL" and err["retriable"] is True, (st, err)
        # a job id already in use is refused
        expect_400(s, {"job_id": run_id, "prompt": "x"}, "duplicate live job_id")
        # cancel the queued job first: its stream is started -> error CANCELLED at once
        assert s.json("POST", "/cancel", {"job_id": wait_id})[0] == 202
        th.join(10)
        assert not th.is_alive(), "cancelled queued request did not finish"
        evs = waiting["events"]
        assert evs[0][0] == "started" and evs[-1][0] == "error", evs
        assert evs[-1][1]["code"] == "CANCELLED"
        assert s.json("POST", "/cancel", {"job_id": run_id})[0] == 202
        while True:
            ev = a.next()
            assert ev is not None
            if ev[0] in ("end", "error"):
                break
        assert ev[1]["code"] == "CANCELLED"
        a.close()
        # SIGTERM during a job: the stream ends with CANCELLED and the process exits 0
        r = SSEReader(s, "/execute", {"job_id": random_id(), "prompt": random_text(3),
                                      "max_tokens": 400})
        assert r.next()[0] == "started"
        s.proc.send_signal(signal.SIGTERM)
        while True:
            ev = r.next()
            assert ev is not None, "stream cut without a terminal event on SIGTERM"
            if ev[0] in ("end", "error"):
                break
        assert ev[0] == "error" and ev[1]["code"] == "CANCELLED", ev
        r.close()
        rc = s.wait_exit(30)
        assert rc == 0, "SIGTERM exit status %r\n%s" % (rc, s.log_text())
        assert s.wait_log("stopped", timeout=1)
    finally:
        s.kill()


def metric_value(s, name):
    st, _, raw = s.request("GET", "/metrics")
    for line in raw.decode("utf-8").splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError("metric %s missing" % name)


def test_health(s):
    st, h = s.json("GET", "/health")
    assert st == 200
    spec = {"status": str, "model": str, "resident": bool, "quant_kind": str,
            "vram_bytes_used": int, "tokenizer_kind": str, "vocab_size": int,
            "context_length": int, "uptime_seconds": (int, float)}
    for k, t in spec.items():
        assert k in h and isinstance(h[k], t), "health field %s: %r" % (k, h.get(k))
    assert "sm" in h and "cuda_runtime_version" in h  # null on the host backend
    if DEVICE != "host":
        assert isinstance(h["sm"], int) and isinstance(h["cuda_runtime_version"], int), h
    assert h["status"] == "healthy" and h["resident"] is True
    assert h["vocab_size"] > 0 and h["context_length"] > 0 and h["vram_bytes_used"] > 0
    assert h["model"] == s.ready["model"]
    time.sleep(0.05)
    assert s.json("GET", "/health")[1]["uptime_seconds"] > h["uptime_seconds"]


def test_metrics(s):
    st, headers, raw = s.request("GET", "/metrics")
    assert st == 200 and headers["content-type"].startswith("text/plain")
    text = raw.decode("utf-8")
    for name in ["worker_vram_bytes", 'worker_requests_total{outcome="success"}',
                 'worker_requests_total{outcome="invalid"}', "worker_tokens_generated_total",
                 'worker_inference_duration_ms_bucket{le="+Inf"}', "worker_inference_duration_ms_sum",
                 "worker_inference_duration_ms_count", "worker_uptime_seconds",
                 'worker_time_to_first_token_ms_bucket{le="+Inf"}',
                 'worker_token_latency_ms_bucket{le="+Inf"}']:
        assert re.search("^" + re.escape(name) + r" [0-9.e+]+$", text, re.M), name
    for fam in ["worker_vram_bytes gauge", "worker_requests_total counter",
                "worker_inference_duration_ms histogram"]:
        assert "# TYPE " + fam in text, fam
    before = metric_value(s, "worker_tokens_generated_total")
    n = RNG.randint(3, 9)
    body = {"job_id": random_id(), "prompt": random_text(3), "max_tokens": n}
    got = len([e for e in parse_sse(s.request("POST", "/execute", body)[2]) if e[0] == "token"])
    assert metric_value(s, "worker_tokens_generated_total") == before + got
    # histogram buckets are cumulative and end at _count
    counts = [float(m) for m in re.findall(
        r'^worker_inference_duration_ms_bucket\{le="[^"]+"\} (\S+)$', text, re.M)]
    total = float(re.search(r"^worker_inference_duration_ms_count (\S+)$", text, re.M).group(1))
    assert counts and counts == sorted(counts) and counts[-1] == total, (counts, total)


def test_tokenize(s):
    for _ in range(5):
        text = random_text(RNG.randint(1, 12))
        st, t = s.json("POST", "/tokenize", {"content": text})
        assert st == 200 and t["tokens"] and all(isinstance(x, int) for x in t["tokens"])
        st, d = s.json("POST", "/detokenize", {"tokens": t["tokens"]})
        assert st == 200 and d["content"].strip() == text.strip(), (text, d)
        st, t2 = s.json("POST", "/tokenize", {"content": text, "add_special": True})
        assert st == 200 and len(t2["tokens"]) >= len(t["tokens"])
    vocab = s.json("GET", "/health")[1]["vocab_size"]
    expect_400(s, {"tokens": [0, vocab + RNG.randint(0, 50)]}, "id out of range",
               path="/detokenize")
    expect_400(s, {"tokens": "abc"}, "tokens not an array", path="/detokenize")
    expect_400(s, {"tokens": [1.5]}, "fractional id", path="/detokenize")
    expect_400(s, {"content": 5}, "content not a string", path="/tokenize")
    expect_400(s, {}, "missing content", path="/tokenize")


def test_openai(s):
    st, m = s.json("GET", "/v1/models")
    assert st == 200 and m["object"] == "list" and m["data"][0]["id"] == s.ready["model"]
    assert m["data"][0]["object"] == "model"
    prompt = "Once upon a time"
    n = RNG.randint(5, 15)
    st, c = s.json("POST", "/v1/completions", {"model": "x", "prompt": prompt, "max_tokens": n,
                                                "temperature": 0})
    assert st == 200, c
    assert c["object"] == "text_completion" and c["id"] and isinstance(c["created"], int)
    ch = c["choices"][0]
    assert ch["index"] == 0 and isinstance(ch["text"], str) and ch["finish_reason"] in ("stop",
                                                                                      "length")
    u = c["usage"]
    assert u["completion_tokens"] <= n and u["prompt_tokens"] > 0
    assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"]
    # greedy /v1/completions and greedy /execute agree
    body = {"job_id": random_id(), "prompt": prompt, "max_tokens": n, "temperature": 0}
    text = "".join(e[1]["t"] for e in parse_sse(s.request("POST", "/execute", body)[2])
                   if e[0] == "token")
    assert text == ch["text"], (text, ch["text"])
    # streamed completion: chunks then [DONE], same text
    st, hdr, raw = s.request("POST", "/v1/completions", {"prompt": prompt, "max_tokens": n,
                                                         "temperature": 0, "stream": True})
    assert st == 200 and hdr["content-type"].startswith("text/event-stream")
    evs = parse_sse(raw)
    assert evs[-1] == (None, "[DONE]")
    chunks = [e[1] for e in evs[:-1]]
    assert all(c["object"] == "text_completion" for c in chunks)
    assert "".join(c["choices"][0]["text"] for c in chunks) == ch["text"]
    assert chunks[-1]["choices"][0]["finish_reason"] in ("stop", "length")
    # chat, not streamed and streamed
    msgs = [{"role": "system", "content": "You tell stories."},
            {"role": "user", "content": random_text(4)}]
    st, cc = s.json("POST", "/v1/chat/completions", {"messages": msgs, "max_tokens": n,
                                                     "temperature": 0})
    assert st == 200, cc
    assert cc["object"] == "chat.completion"
    assert cc["choices"][0]["message"]["role"] == "assistant"
    assert isinstance(cc["choices"][0]["message"]["content"], str)
    st, hdr, raw = s.request("POST", "/v1/chat/completions",
                             {"messages": msgs, "max_tokens": n, "temperature": 0,
                              "stream": True})
    evs = parse_sse(raw)
    assert evs[-1] == (None, "[DONE]")
    chunks = [e[1] for e in evs[:-1]]
    assert chunks[0]["choices"][0]["delta"].get("role") == "assistant"
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    streamed = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert streamed == cc["choices"][0]["message"]["content"]
    # OpenAI-style errors
    for path, body in [("/v1/chat/completions", {"max_tokens": 3}),
                       ("/v1/chat/completions", {"messages": []}),
                       ("/v1/chat/completions", {"messages": [{"role": "tool", "content": "x"}]}),
                       ("/v1/chat/completions", {"messages": [{"role": "user", "content": 5}]}),
                       ("/v1/completions", {"prompt": "x", "n": 2}),
                       ("/v1/completions", {"prompt": "x", "temperature": 3}),
                       ("/v1/completions", {"max_tokens": 3}),
                       ("/v1/completions", "{broken")]:
        st, hdr, raw = s.request("POST", path, body)
        e = json.loads(raw.decode("utf-8"))
        assert st == 400 and isinstance(e["error"]["message"], str), (path, body, st, e)


def test_routes(s):
    st, hdr, raw = s.request("GET", "/nope")
    assert st == 404 and json.loads(raw.decode("utf-8"))["code"] == "INVALID_REQUEST"
    st, hdr, raw = s.request("GET", "/execute")
    assert st == 405
    st, hdr, raw = s.request("GET", "/health", headers={"X-Request-Id": "my-req-42"})
    assert hdr.get("x-request-id") == "my-req-42"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if any(e.get("event") == "request" and e.get("request_id") == "my-req-42"
               for e in s.events()):
            break
        time.sleep(0.02)
    else:
        raise AssertionError("no request log line with the request id")


def test_shutdown(s):
    st, body = s.json("POST", "/shutdown")
    assert st == 202, body
    rc = s.wait_exit(30)
    assert rc == 0, "exit status %r after /shutdown\n%s" % (rc, s.log_text())


def test_timeout_and_callback():
    """--inference-timeout-sec ends a job with INFERENCE_TIMEOUT; --callback-url receives
    {worker_id, vram_bytes, uri} once ready; SIGINT exits 0."""
    import http.server
    got = queue.Queue()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            got.put((self.path, json.loads(self.rfile.read(n).decode("utf-8"))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    hs = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    th = threading.Thread(target=hs.serve_forever, daemon=True)
    th.start()
    worker_id = random_id("worker")
    s = None
    try:
        s = Server(delay_ms=20, args=["--inference-timeout-sec", "1", "--worker-id", worker_id,
                                      "--callback-url",
                                      "http://127.0.0.1:%d/ready" % hs.server_address[1]])
        path, cb = got.get(timeout=30)
        assert path == "/ready", path
        assert cb["worker_id"] == worker_id and cb["vram_bytes"] > 0, cb
        assert cb["uri"].endswith(":%d" % s.port), cb
        t0 = time.monotonic()
        body = {"job_id": random_id(), "prompt": random_text(3), "max_tokens": 2000}
        events = parse_sse(s.request("POST", "/execute", body, timeout=30)[2])
        elapsed = time.monotonic() - t0
        check_execute_order(events, body["job_id"], 2000)
        assert events[-1][0] == "error" and events[-1][1]["code"] == "INFERENCE_TIMEOUT", \
            events[-1]
        assert 0.9 < elapsed < 5, elapsed
        assert metric_value(s, 'worker_requests_total{outcome="timeout"}') == 1
        s.proc.send_signal(signal.SIGINT)
        assert s.wait_exit(30) == 0, s.log_text()
    finally:
        hs.shutdown()
        if s:
            s.kill()
    # a callback nobody answers is a start-up failure (exit 1)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    dead_port = sock.getsockname()[1]
    sock.close()
    p = subprocess.run([BINARY, "--device", DEVICE, "--model", MODEL, "--port", "0",
                        "--callback-url", "http://127.0.0.1:%d/x" % dead_port],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 1 and b"callback" in p.stderr, p.stderr[-300:]


def test_startup_failures():
    missing = os.path.join(tempfile.gettempdir(), random_id("missing") + ".gguf")
    p = subprocess.run([BINARY, "--device", DEVICE, "--model", missing, "--port", "0",
                        "--log-format", "json"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 1, p.returncode
    err = p.stderr.decode("utf-8", "replace")
    fail = [json.loads(l) for l in err.splitlines() if '"startup_failed"' in l]
    assert fail and fail[0]["model"] == missing and fail[0]["code"] != 0, err
    assert "message" in fail[0] and "gpu" in fail[0] and "detail" in fail[0]
    # bad flags
    # (no --model at all is not a failure: the default model is served)
    for args in (["--port", "70000"], ["--device", "tpu:0"], ["--log-format", "xml"]):
        p = subprocess.run([BINARY] + args + ["--model", MODEL],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=60)
        assert p.returncode == 1, (args, p.returncode)
    p = subprocess.run([BINARY, "--help"], stdout=subprocess.PIPE, timeout=60)
    assert p.returncode == 0 and b"--device" in p.stdout
    p = subprocess.run([BINARY, "--version"], stdout=subprocess.PIPE, timeout=60)
    assert p.returncode == 0 and p.stdout.startswith(b"worker-orcd ")
    # the default device without a GPU suggests --device host
    if not os.path.exists("/dev/nvidia0") and not os.path.exists("/dev/nvidiactl"):
        p = subprocess.run([BINARY, "--model", MODEL, "--port", "0"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=60)
        assert p.returncode == 1 and b"--device host" in p.stderr, p.stderr[-400:]


def main():
    if not os.path.exists(MODEL):
        print("SKIP: %s is missing (make it with the converter)" % MODEL)
        return SKIP
    if not os.access(BINARY, os.X_OK):
        print("SKIP: %s is not built" % BINARY)
        return SKIP
    failures = 0
    s = Server()
    try:
        for t in (test_health, test_execute_stream, test_validation, test_metrics,
                  test_tokenize, test_openai, test_routes):
            t0 = time.monotonic()
            try:
                t(s)
                print("PASS %s (%.2f s)" % (t.__name__, time.monotonic() - t0))
            except Exception:
                failures += 1
                print("FAIL %s\n%s" % (t.__name__, traceback.format_exc()))
        for t in (test_cancel_and_disconnect, test_timeout_and_callback, test_startup_failures):
            t0 = time.monotonic()
            try:
                t()
                print("PASS %s (%.2f s)" % (t.__name__, time.monotonic() - t0))
            except Exception:
                failures += 1
                print("FAIL %s\n%s" % (t.__name__, traceback.format_exc()))
        try:
            test_shutdown(s)
            print("PASS test_shutdown")
        except Exception:
            failures += 1
            print("FAIL test_shutdown\n%s" % traceback.format_exc())
    finally:
        for srv in ALL_SERVERS:
            srv.kill()
        if failures:
            print("---- server log (tail) ----\n" + s.log_text())
    print("%d failure(s)" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
