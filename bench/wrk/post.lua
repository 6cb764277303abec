-- wrk script: POST the body in WRK_BODY to the path given on the command
-- line, with the token in WRK_TOKEN.
wrk.method = "POST"
wrk.body = os.getenv("WRK_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Vault-Token"] = os.getenv("WRK_TOKEN")
