-- wrk -s serve_post.lua: POST one API call with the bearer token.
-- SIMBA_TOKEN: the token `simba-tuner serve` printed; SIMBA_BODY: the JSON arguments.
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("SIMBA_TOKEN")
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("SIMBA_BODY") or "{}"
