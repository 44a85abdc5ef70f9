# shellcheck shell=bash
# Helpers to run the real nginx site conf (deploy/nginx/course-supporter.conf) on
# loopback, in a throwaway prefix, with a throwaway self-signed certificate.
# Nothing under /etc/nginx is read or written. Source this file, then:
#   nginx_loopback_prepare PREFIX API_UPSTREAM HTTP_PORT HTTPS_PORT
#   nginx_loopback_cmd PREFIX -t              # nginx -t
#   nginx_loopback_cmd PREFIX -g 'daemon off;' &   # run in the foreground

NGINX_LOOPBACK_REPO="${NGINX_LOOPBACK_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"

nginx_loopback_prepare() {
    local prefix="$1" api_upstream="$2" http_port="$3" https_port="$4"
    local domain="api.pythoncourse.me"
    mkdir -p "$prefix"/{certs,logs,tmp,acme/.well-known/acme-challenge}

    openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
        -keyout "$prefix/certs/privkey.pem" -out "$prefix/certs/fullchain.pem" \
        -subj "/CN=$domain" -addext "subjectAltName=DNS:$domain,DNS:localhost,IP:127.0.0.1" \
        >/dev/null 2>&1
    cp "$prefix/certs/fullchain.pem" "$prefix/certs/chain.pem"

    # netdata basic auth: user "ops", password "loopback-test".
    printf 'ops:%s\n' "$(openssl passwd -apr1 loopback-test)" >"$prefix/htpasswd"

    "$NGINX_LOOPBACK_REPO/deploy/nginx/render.sh" \
        --listen 127.0.0.1 --http-port "$http_port" --https-port "$https_port" \
        --cert-dir "$prefix/certs" --resolver 127.0.0.1 \
        --api-upstream "$api_upstream" --netdata-upstream "http://127.0.0.1:9" \
        --acme-root "$prefix/acme" --htpasswd "$prefix/htpasswd" \
        --log-dir "$prefix/logs" >"$prefix/site.conf"

    local user_line=""
    if [[ "$(id -u)" -eq 0 ]]; then
        user_line="user root root;"
    fi
    cat >"$prefix/nginx.conf" <<CONF
# Loopback wrapper around the rendered production site conf.
$user_line
worker_processes 2;
pid $prefix/nginx.pid;
error_log $prefix/logs/error.log warn;
events { worker_connections 512; }
http {
    types {
        text/html html;
        text/plain txt;
        application/json json;
    }
    default_type application/octet-stream;
    sendfile on;
    client_body_temp_path $prefix/tmp/client_body;
    proxy_temp_path $prefix/tmp/proxy;
    fastcgi_temp_path $prefix/tmp/fastcgi;
    uwsgi_temp_path $prefix/tmp/uwsgi;
    scgi_temp_path $prefix/tmp/scgi;
    access_log $prefix/logs/access.log;
    include $prefix/site.conf;
}
CONF
}

nginx_loopback_cmd() {
    local prefix="$1"
    shift
    nginx -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/logs/error.log" "$@"
}
