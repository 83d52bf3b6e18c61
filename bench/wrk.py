"""The load generator of the gunicorn bench: wrk (Debian's package) with a Lua
script that picks each request's user, subject or Idempotency-Key, and counts
the submissions it saw acknowledged (201). A submit posts ``body`` with
``{i}`` replaced by the request's number."""

from __future__ import annotations

import re
import secrets
import subprocess
from pathlib import Path

# The plain support form's submission (the conditional one: bench/gunicorn_bench.py).
SUBMIT_BODY = ('{"values":{"email":"u0@example.com","name":"User","company":"Acme","subject":"S{i}",'
               '"priority":"normal","message":"Hello"}}')

LUA = r"""
local tokens, i = {}, 0
acked, bad = 0, 0  -- globals: done() reads them from each thread
local threads, counter = {}, 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  local id = wrk.thread:get("id")
  for line in io.lines(args[1]) do tokens[#tokens + 1] = line end
  mode, path, round, rounds, nthreads = args[2], args[3], tonumber(args[4]), tonumber(args[5]), tonumber(args[6])
  nonce = args[7]  -- per wrk run: keys never meet another run's (a replay would look like a lost submission)
  head, tail = (args[8] or ""):match("^(.-){i}(.*)$")  -- a submit's body, around the request's number
  local slice = math.floor(#tokens / rounds)
  start = round * slice + id * math.floor(slice / nthreads)
  tag = string.format("%s-%d-%d-", nonce, round, id)
end
function request()
  i = i + 1
  local token = tokens[1]
  local p = path
  if mode == "users" then token = tokens[(start + i) % #tokens + 1] end
  if mode == "subject" then p = path .. "?subject=S" .. tag .. i end
  local headers = {["Authorization"] = "Bearer " .. token}
  if mode == "submit" then
    headers["Content-Type"] = "application/json"
    headers["Idempotency-Key"] = tag .. i
    return wrk.format("POST", p, headers, head .. i .. tail)
  end
  return wrk.format("GET", p, headers)
end
function response(status, headers, body)
  if status == 201 then acked = acked + 1 end
  if status >= 400 then bad = bad + 1 end
end
function done(summary, latency, requests)
  local a, b = 0, 0
  for _, t in ipairs(threads) do a = a + t:get("acked"); b = b + t:get("bad") end
  io.write(string.format("ACKED %d\nBAD %d\n", a, b))
end
"""


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(port: int, mode: str, path: str, tokens_file: Path, script: Path, seconds: float, rnd: int, rounds: int,
        threads: int, connections: int, body: str = SUBMIT_BODY) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "-s", str(script),
         f"http://127.0.0.1:{port}", "--", str(tokens_file), mode, path, str(rnd), str(rounds), str(threads),
         secrets.token_hex(6), body],
        capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    latency = re.search(r"Latency\s+(\S+)\s+(\S+)\s+(\S+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": _ms(re.search(r"^\s+50%\s+(\S+)$", out, re.M).group(1)),  # the distribution's lines
        "p99_ms": _ms(re.search(r"^\s+99%\s+(\S+)$", out, re.M).group(1)),
        "max_ms": _ms(latency.group(3)),
        "acked": int(re.search(r"ACKED (\d+)", out).group(1)),
        "errors": int(re.search(r"BAD (\d+)", out).group(1)),
    }
