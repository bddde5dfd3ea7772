-- wrk script of bench/http_start.py: each request starts one instance,
--   POST /v1/workflows/<RF_BENCH_WORKFLOW>/instances  {"business_key": K, "input": {"order_ref": K}}
-- with a business key never used before (thread number and a counter), so every request is a
-- durable start, as in rf_bench_service's engine-only run. done() prints one JSON line.
-- Environment: RF_BENCH_TOKEN (an operator token), RF_BENCH_WORKFLOW (default bench_order).

local token = os.getenv("RF_BENCH_TOKEN") or ""
local workflow = os.getenv("RF_BENCH_WORKFLOW") or "bench_order"
local path = "/v1/workflows/" .. workflow .. "/instances"
local headers = {
  ["Authorization"] = "Bearer " .. token,
  ["Content-Type"] = "application/json",
}

local threads = {}
function setup(thread)
  thread:set("thread_no", #threads + 1)
  table.insert(threads, thread)
end

local counter = 0
function request()
  counter = counter + 1
  local key = "W-" .. thread_no .. "-" .. counter
  local body = '{"business_key":"' .. key .. '","input":{"order_ref":"' .. key .. '"}}'
  return wrk.format("POST", path, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"bench":"wrk","requests":%d,"duration_s":%.6f,"starts_per_s":%.3f,"p50_ms":%.3f,"p99_ms":%.3f,' ..
    '"errors_status":%d,"errors_connect":%d,"errors_read":%d,"errors_write":%d,"errors_timeout":%d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1e3, latency:percentile(99) / 1e3,
    e.status, e.connect, e.read, e.write, e.timeout))
end
