-- wrk script of `make bench`: POST BENCH_BODY_FILE as JSON, count responses by status,
-- and print one line from done() for bench/wrk.py: bench-result {"requests": N,
-- "duration_us": N, "statuses": {"200": N}, "errors": {...}, "latency_us": {...}}.
local path = assert(os.getenv("BENCH_BODY_FILE"), "BENCH_BODY_FILE is not set")
local file = assert(io.open(path, "rb"))
wrk.method, wrk.body = "POST", file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"

local threads = {}
function setup(thread) table.insert(threads, thread) end  -- main state, per wrk thread
function init(args) statuses = {} end  -- each thread's own state
function response(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end

function done(summary, latency, requests)
  local counts, parts = {}, {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses") or {}) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  for status, n in pairs(counts) do table.insert(parts, string.format('"%d": %d', status, n)) end
  local e = summary.errors
  io.write(string.format(
    'bench-result {"requests": %d, "duration_us": %d, "statuses": {%s}, "errors": ' ..
    '{"connect": %d, "read": %d, "write": %d, "timeout": %d}, "latency_us": ' ..
    '{"p50": %d, "p90": %d, "p99": %d, "max": %d}}\n',
    summary.requests, summary.duration, table.concat(parts, ", "), e.connect, e.read,
    e.write, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
