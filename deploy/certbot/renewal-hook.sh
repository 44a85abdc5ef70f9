#!/usr/bin/env bash
# certbot deploy hook: reload nginx after a certificate was renewed.
# Install once on the VPS (runs as root from certbot's renew timer/cron):
#   install -m 755 deploy/certbot/renewal-hook.sh /etc/letsencrypt/renewal-hooks/deploy/reload-nginx.sh
# nginx runs either in a container (NGINX_CONTAINER, default "nginx") or on the host.
# The config is tested first, so a broken config never takes the running nginx down.
set -euo pipefail

container="${NGINX_CONTAINER:-nginx}"
log() { printf '%s renewal-hook: %s\n' "$(date -u +%FT%TZ)" "$*"; }

if command -v docker >/dev/null 2>&1 \
    && [[ "$(docker inspect -f '{{.State.Running}}' "$container" 2>/dev/null || true)" == "true" ]]; then
    docker exec "$container" nginx -t
    docker exec "$container" nginx -s reload
    log "reloaded nginx in container $container (renewed: ${RENEWED_LINEAGE:-unknown})"
elif command -v nginx >/dev/null 2>&1; then
    nginx -t
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nginx; then
        systemctl reload nginx
    else
        nginx -s reload
    fi
    log "reloaded host nginx (renewed: ${RENEWED_LINEAGE:-unknown})"
else
    log "no nginx container '$container' running and no nginx binary found" >&2
    exit 1
fi
