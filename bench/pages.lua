-- Measurement 7's load (bench/http.py runs it): wrk's connections, each request as the next
-- logged-in agency inspector, in turn on the firm list and on one of the inspector's own
-- inspection pages, back to back with no pause.
--
--   wrk -t1 -c8 -d30s -s bench/pages.lua http://127.0.0.1:PORT -- SESSIONS_FILE FIRM_LIST_PATH
--
-- SESSIONS_FILE has a line per inspector: the Cookie header of its session, then its inspection
-- pages' paths, separated by tabs. done() prints one line, "bench-json " and a JSON object: the
-- run's duration and wrk's own counts, then per page the requests, their statuses and latency
-- percentiles in milliseconds. Every answer but a 200 is an error.
--
-- wrk does not say which request a response answers, so each request carries an X-Request-ID
-- naming its thread and number, which the portal sends back (portal/request_log.py); the
-- latency per page is measured from that here, with the monotonic clock.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock_id, bench_timespec *now);
]])
local CLOCK_MONOTONIC = 1
local clock = ffi.new("bench_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

local PAGES = { "firm list", "inspection page" }

-- Setup and done: their own environment, which sees the threads only through get().
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

-- Running: one environment per thread, shared by its connections.
local sessions = {}
local firm_list_path
local sequence = 0
local pending = {} -- request number -> { page, started }

-- Read by done(): flat tables of numbers and strings only (all that get() may copy).
latencies_firm_list = {}
latencies_inspection_page = {}
statuses = {} -- "page status" -> count
unmatched = 0 -- answers without a request id of ours

function init(args)
  firm_list_path = args[2]
  for line in io.lines(args[1]) do
    local fields = {}
    for field in line:gmatch("[^\t]+") do
      table.insert(fields, field)
    end
    table.insert(sessions, { cookie = fields[1], inspections = { unpack(fields, 2) } })
  end
  -- Threads start at different inspectors, so that they do not move in step.
  sequence = (thread_number - 1) * 7
end

function request()
  sequence = sequence + 1
  local turn = sequence - 1
  local session = sessions[turn % #sessions + 1]
  -- All the inspectors on one page, then all on the other, so that each gets both.
  local page = math.floor(turn / #sessions) % 2 + 1
  local path = firm_list_path
  if page == 2 then
    local round = math.floor(turn / (2 * #sessions))
    path = session.inspections[round % #session.inspections + 1]
  end
  local id = string.format("bench-%d-%d", thread_number, sequence)
  pending[id] = { page = page, started = now_ms() }
  return wrk.format("GET", path, {
    ["Cookie"] = session.cookie,
    -- The TLS proxy's header (BEHIND_TLS_PROXY=true): the request came in over HTTPS.
    ["X-Forwarded-Proto"] = "https",
    ["X-Request-ID"] = id,
  })
end

function response(status, headers, body)
  local id
  for name, value in pairs(headers) do
    if name:lower() == "x-request-id" then
      id = value
    end
  end
  local sent = id and pending[id]
  if not sent then
    unmatched = unmatched + 1
    return
  end
  pending[id] = nil
  local elapsed = now_ms() - sent.started
  if sent.page == 1 then
    table.insert(latencies_firm_list, elapsed)
  else
    table.insert(latencies_inspection_page, elapsed)
  end
  local key = PAGES[sent.page] .. " " .. status
  statuses[key] = (statuses[key] or 0) + 1
end

local function percentile(sorted, p)
  if #sorted == 0 then
    return nil
  end
  local rank = math.max(1, math.ceil(p / 100 * #sorted))
  return sorted[rank]
end

local function json(value)
  local kind = type(value)
  if kind == "nil" then
    return "null"
  elseif kind == "number" then
    if value ~= value or value == math.huge or value == -math.huge then
      return "null"
    end
    return string.format("%.3f", value)
  elseif kind == "string" then
    return '"' .. value:gsub('[%c"\\]', function(c)
      return string.format("\\u%04x", c:byte())
    end) .. '"'
  end
  local parts = {}
  for name, item in pairs(value) do
    table.insert(parts, json(tostring(name)) .. ":" .. json(item))
  end
  table.sort(parts)
  return "{" .. table.concat(parts, ",") .. "}"
end

local function summary_of(samples)
  table.sort(samples)
  return {
    requests = #samples,
    median_ms = percentile(samples, 50),
    p95_ms = percentile(samples, 95),
    p99_ms = percentile(samples, 99),
    max_ms = samples[#samples],
  }
end

function done(summary, latency, requests)
  local pages = {}
  local together = {}
  local counts = {}
  local lost = 0
  for _, thread in ipairs(threads) do
    for page, name in ipairs({ "latencies_firm_list", "latencies_inspection_page" }) do
      pages[page] = pages[page] or {}
      for _, elapsed in ipairs(thread:get(name)) do
        table.insert(pages[page], elapsed)
        table.insert(together, elapsed)
      end
    end
    for key, count in pairs(thread:get("statuses")) do
      counts[key] = (counts[key] or 0) + count
    end
    lost = lost + thread:get("unmatched")
  end
  local report = {
    seconds = summary.duration / 1e6,
    requests = summary.requests,
    unmatched = lost,
    errors = summary.errors,
    wrk_latency_ms = {
      median = latency:percentile(50) / 1000,
      p95 = latency:percentile(95) / 1000,
      max = latency.max / 1000,
    },
    together = summary_of(together),
    pages = {},
  }
  for page, name in ipairs(PAGES) do
    local entry = summary_of(pages[page] or {})
    entry.statuses = {}
    for key, count in pairs(counts) do
      local status = key:match("^" .. name .. " (%d+)$")
      if status then
        entry.statuses[status] = count
      end
    end
    report.pages[name] = entry
  end
  io.write("bench-json ", json(report), "\n")
end
