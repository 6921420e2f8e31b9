-- wrk script for bench/run.py: replays the requests of BENCH_REQUESTS (one per line:
-- METHOD <tab> PATH <tab> BODY), each thread from its own offset, cycling; counts
-- answers by HTTP status and, when BENCH_PATTERN is set, by the pattern's first
-- capture in the body; done() prints one JSON line that starts with "BENCH ".
local requests = {}
local threads = {}
local counter = 1

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local file = assert(io.open(os.getenv("BENCH_REQUESTS"), "r"))
  for line in file:lines() do
    local method, path, body = line:match("^([^\t]*)\t([^\t]*)\t?(.*)$")
    if body == "" then body = nil end
    table.insert(requests, wrk.format(method, path, nil, body))
  end
  file:close()
  pattern = os.getenv("BENCH_PATTERN")
  if pattern == "" then pattern = nil end
  statuses = {}
  answers = {}
  -- Spread the threads over the list so no two replay the same request at once.
  local nthreads = tonumber(os.getenv("BENCH_THREADS") or "1")
  index = math.floor((id - 1) * #requests / nthreads)
end

function request()
  index = index % #requests + 1
  return requests[index]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if pattern ~= nil then
    local answer = body:match(pattern) or "none"
    answers[answer] = (answers[answer] or 0) + 1
  end
end

local function encode(counts)
  local parts = {}
  for key, value in pairs(counts) do
    table.insert(parts, string.format('"%s": %d', tostring(key), value))
  end
  return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency, requests_)
  local statuses_all, answers_all = {}, {}
  for _, thread in ipairs(threads) do
    for key, value in pairs(thread:get("statuses")) do
      statuses_all[key] = (statuses_all[key] or 0) + value
    end
    for key, value in pairs(thread:get("answers")) do
      answers_all[key] = (answers_all[key] or 0) + value
    end
  end
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "connect_errors": %d, ' ..
    '"read_errors": %d, "write_errors": %d, "timeouts": %d, "p50_us": %d, ' ..
    '"p90_us": %d, "p99_us": %d, "max_us": %d, "statuses": %s, "answers": %s}\n',
    summary.requests, summary.duration, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, encode(statuses_all), encode(answers_all)))
end
