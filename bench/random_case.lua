-- wrk script: each request asks for a random case among the seeded ones, so the benchmark
-- does not measure one hot row. Arguments: URL prefix (e.g. /cases/), number of cases.
local prefix = "/cases/"
local cases = 10000

init = function(args)
  prefix = args[1] or prefix
  cases = tonumber(args[2] or cases)
  math.randomseed(42)
end

request = function()
  return wrk.format(nil, prefix .. math.random(1, cases))
end
