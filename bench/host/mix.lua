-- wrk: half the requests wait on the "server" (/bench/wait/), half are the
-- login page; a request that does not answer 200 counts as an error.
local paths = {"/bench/wait/", "/webclient/login/"}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n % 2) + 1])
end
