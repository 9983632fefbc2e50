-- wrk script of `make bench`: POST a JSON body, stop after a fixed number of responses.
--
-- wrk itself only knows durations (-d). Each wrk thread here stops after its share of
-- BENCH_REQUESTS responses and prints "bench: thread done"; bench/load.py then sends
-- SIGINT, which makes wrk stop waiting for -d and run done(). The rate is measured here,
-- from the threads' start to their last response, so the idle tail up to the SIGINT
-- never counts. done() prints one line, "bench-result {json}", for bench/wrk_output.py.
-- Environment: BENCH_BODY_FILE (the body), BENCH_REQUESTS (the total count),
-- BENCH_WRK_THREADS (wrk's -t, to split the count).

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("bench_timespec")

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) * 1000000 + math.floor(tonumber(timespec.tv_nsec) / 1000)
end

local function read_file(path)
  local file = assert(io.open(path, "rb"))
  local text = file:read("*a")
  file:close()
  return text
end

wrk.method = "POST"
wrk.body = read_file(assert(os.getenv("BENCH_BODY_FILE"), "BENCH_BODY_FILE is not set"))
wrk.headers["Content-Type"] = "application/json"

local total = tonumber(os.getenv("BENCH_REQUESTS") or "")
assert(total and total > 0, "BENCH_REQUESTS must be a positive number")

-- setup() runs in the main Lua state once per wrk thread, before they start.
local threads = {}
local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  threads[thread_count] = thread
  thread:set("thread_index", thread_count)
end

-- The rest runs in each thread's own Lua state (globals are per thread).
function init(args)
  -- Split the total as evenly as possible: the first (total % n) threads take one more.
  local n = tonumber(os.getenv("BENCH_WRK_THREADS") or "1")
  quota = math.floor(total / n) + ((thread_index <= total % n) and 1 or 0)
  counted = 0
  first_us = now_us()
  last_us = first_us
end

function response(status, headers, body)
  counted = counted + 1
  -- Every response, not only the quota-th: responses already read when the thread
  -- stops still arrive here, and a run cut short by -d still has a true window.
  last_us = now_us()
  if counted == quota then
    wrk.thread:stop()
    io.write("bench: thread done\n")
    io.flush()
  end
end

function done(summary, latency, requests)
  local first, last, counted_all = nil, nil, 0
  for _, thread in ipairs(threads) do
    local f, l = thread:get("first_us"), thread:get("last_us")
    if f and (first == nil or f < first) then first = f end
    if l and (last == nil or l > last) then last = l end
    counted_all = counted_all + (thread:get("counted") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'bench-result {"requests": %d, "counted": %d, "window_us": %d, "duration_us": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"latency_us": {"p50": %d, "p90": %d, "p99": %d, "max": %d, "mean": %.1f}}\n',
    summary.requests, counted_all, (last or 0) - (first or 0), summary.duration,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
