#!/bin/sh
# Render the site from its template and run nginx in the foreground.
# UPSTREAM: host:port of the app (required). SERVER_NAME: the public name. RESOLVER: the DNS server
# nginx asks for UPSTREAM at request time (Docker's embedded DNS on a user-defined network).
# RESOLVER_VALID: how long nginx keeps an answer (a failed lookup too) before asking again: short, so
# a restarted app is found within seconds, also when a request during the outage cached "no such host".
set -eu
: "${UPSTREAM:?UPSTREAM (host:port of the app) is required}"
SERVER_NAME=${SERVER_NAME:-localhost}
RESOLVER=${RESOLVER:-127.0.0.11}
RESOLVER_VALID=${RESOLVER_VALID:-2s}
sed -e "s|@UPSTREAM@|$UPSTREAM|g" -e "s|@SERVER_NAME@|$SERVER_NAME|g" \
    -e "s|@RESOLVER@|$RESOLVER|g" -e "s|@RESOLVER_VALID@|$RESOLVER_VALID|g" \
    /etc/nginx/site.conf.template >/etc/nginx/conf.d/site.conf
rm -f /etc/nginx/sites-enabled/default
nginx -t -q
exec nginx -g 'daemon off;'
