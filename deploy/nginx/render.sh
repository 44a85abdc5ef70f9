#!/usr/bin/env bash
# Render deploy/nginx/course-supporter.conf for another environment.
#
# The committed conf holds the production values and stays the source of truth; this
# script only swaps its environment-specific literals. Every literal it swaps must be
# present in the conf, otherwise it fails: a test of the rendered file is a test of
# the real file.
#
#   deploy/nginx/render.sh [options] > site.conf
#     --domain NAME          server_name and default certificate dir (api.pythoncourse.me)
#     --cert-dir DIR         directory holding fullchain.pem, privkey.pem, chain.pem
#     --listen ADDR          bind both servers to ADDR only (drops the [::] listeners)
#     --http-port N          plain-HTTP port (80)
#     --https-port N         HTTPS port (443)
#     --resolver ADDR        DNS resolver (127.0.0.11, Docker's embedded DNS)
#     --api-upstream URL     http://course-supporter-api:8000
#     --netdata-upstream URL http://course-supporter-netdata:19999
#     --acme-root DIR        certbot webroot (/var/www/certbot)
#     --htpasswd FILE        netdata basic-auth file (/etc/nginx/htpasswd/course-supporter-netdata)
#     --log-dir DIR          access/error log directory (/var/log/nginx)
#     --conf FILE            source conf (default: course-supporter.conf next to this script)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
conf="$here/course-supporter.conf"

prod_domain="api.pythoncourse.me"
domain="$prod_domain"
cert_dir=""
listen_addr=""
http_port="80"
https_port="443"
resolver="127.0.0.11"
api_upstream="http://course-supporter-api:8000"
netdata_upstream="http://course-supporter-netdata:19999"
acme_root="/var/www/certbot"
htpasswd="/etc/nginx/htpasswd/course-supporter-netdata"
log_dir="/var/log/nginx"

usage() { sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --domain) domain="$2"; shift 2 ;;
        --cert-dir) cert_dir="$2"; shift 2 ;;
        --listen) listen_addr="$2"; shift 2 ;;
        --http-port) http_port="$2"; shift 2 ;;
        --https-port) https_port="$2"; shift 2 ;;
        --resolver) resolver="$2"; shift 2 ;;
        --api-upstream) api_upstream="$2"; shift 2 ;;
        --netdata-upstream) netdata_upstream="$2"; shift 2 ;;
        --acme-root) acme_root="$2"; shift 2 ;;
        --htpasswd) htpasswd="$2"; shift 2 ;;
        --log-dir) log_dir="$2"; shift 2 ;;
        --conf) conf="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "render.sh: unknown option: $1" >&2; usage >&2; exit 2 ;;
    esac
done
[[ -n "$cert_dir" ]] || cert_dir="/etc/letsencrypt/live/$domain"

text="$(<"$conf")"

# replace LITERAL NEW: literal (not regex) replacement of every occurrence; LITERAL
# must occur at least once in the source conf.
replace() {
    local old="$1" new="$2"
    if [[ "$text" != *"$old"* ]]; then
        echo "render.sh: '$old' not found in $conf: the conf changed, update render.sh" >&2
        exit 1
    fi
    text="${text//"$old"/"$new"}"
}

# Order matters: the certificate path contains the domain.
replace "/etc/letsencrypt/live/$prod_domain/" "${cert_dir%/}/"
replace "server_name $prod_domain;" "server_name $domain;"
replace "resolver 127.0.0.11 " "resolver $resolver "
replace "http://course-supporter-api:8000;" "$api_upstream;"
replace "http://course-supporter-netdata:19999;" "$netdata_upstream;"
replace "root /var/www/certbot;" "root ${acme_root%/};"
replace "auth_basic_user_file /etc/nginx/htpasswd/course-supporter-netdata;" "auth_basic_user_file $htpasswd;"
replace "/var/log/nginx/course-supporter." "${log_dir%/}/course-supporter."

if [[ -n "$listen_addr" ]]; then
    replace "    listen [::]:80;"$'\n' ""
    replace "    listen [::]:443 ssl http2;"$'\n' ""
    replace "listen 80;" "listen $listen_addr:$http_port;"
    replace "listen 443 ssl http2;" "listen $listen_addr:$https_port ssl http2;"
else
    replace "listen 80;" "listen $http_port;"
    replace "listen [::]:80;" "listen [::]:$http_port;"
    replace "listen 443 ssl http2;" "listen $https_port ssl http2;"
    replace "listen [::]:443 ssl http2;" "listen [::]:$https_port ssl http2;"
fi

printf '%s\n' "$text"
