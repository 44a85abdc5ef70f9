#!/usr/bin/env bash
# Failed authentications through nginx count per client, and never lock out a valid key.
#
#   scripts/e2e_auth_per_client.sh [--insecure] BASE_URL API_KEY [CACHE_TTL_SECONDS]
#
# Loopback only (scripts/e2e_prod_topology.sh runs it): nginx sets X-Forwarded-For from
# the connection's address, so the clients are real peers on 127.0.0.2 and 127.0.0.3
# (curl --interface), not a header a client could forge. From 127.0.0.2 bad keys are sent
# until they get 429 (AUTH_FAILURE_LIMIT); then a bad key from 127.0.0.3 must still get
# 401 (its own count: the API saw the clients, not nginx), and API_KEY must get 200 from
# both, sent after CACHE_TTL_SECONDS (the API's key cache TTL) so it is looked up again.
set -euo pipefail

curl_opts=(--silent --max-time 30 -o /dev/null -w '%{http_code}')
if [[ "${1:-}" == "--insecure" || "${CURL_INSECURE:-0}" == "1" ]]; then
    curl_opts+=(--insecure)
    [[ "${1:-}" == "--insecure" ]] && shift
fi
if [[ $# -lt 2 ]]; then
    echo "usage: $0 [--insecure] BASE_URL API_KEY [CACHE_TTL_SECONDS]" >&2
    exit 2
fi
base="${1%/}"
key="$2"
ttl="${3:-0}"
failures=0

me() { # CLIENT_ADDRESS KEY -> HTTP status of GET /api/v1/me
    curl "${curl_opts[@]}" --interface "$1" -H "X-API-Key: $2" "$base/api/v1/me" || echo 000
}
check() { # NAME GOT WANT
    if [[ "$2" == "$3" ]]; then
        printf 'PASS  %s -> %s\n' "$1" "$2"
    else
        printf 'FAIL  %s -> %s (want %s)\n' "$1" "$2" "$3"
        failures=$((failures + 1))
    fi
}

bad="cs_live_$(printf 'b%.0s' {1..32})"
sent=0
status=""
while [[ "$sent" -lt 200 ]]; do
    status="$(me 127.0.0.2 "$bad")"
    sent=$((sent + 1))
    [[ "$status" == "401" ]] || break
done
check "bad keys from 127.0.0.2 end in 429 (after $((sent - 1)) x 401)" "$status" 429
check "a bad key from 127.0.0.3 has its own count" "$(me 127.0.0.3 "$bad")" 401
sleep "$(awk -v t="$ttl" 'BEGIN { print (t > 0) ? t + 1 : 0 }')"
check "the valid key from the throttled 127.0.0.2" "$(me 127.0.0.2 "$key")" 200
check "the valid key from 127.0.0.3" "$(me 127.0.0.3 "$key")" 200
check "bad keys from 127.0.0.2 are still refused" "$(me 127.0.0.2 "$bad")" 429

[[ "$failures" -eq 0 ]]
