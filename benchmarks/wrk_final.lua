-- wrk script: GET /users/{id}/recommendations?k=10 on final with random user ids, an
-- independent cross-check of benchmarks.loadtest's closed mode. Ids are drawn uniformly from
-- 1..max_id (wrk -s benchmarks/wrk_final.lua http://127.0.0.1:8000 -- <max_id>); ids above
-- the warehouse's largest user are cold users.
local max_id = 100000
function init(args)
  if args[1] then max_id = tonumber(args[1]) end
  math.randomseed(42 + (tonumber(tostring({}):sub(8)) or 0) % 1000)
end
function request()
  return wrk.format("GET", "/users/" .. math.random(1, max_id) .. "/recommendations?k=10")
end
