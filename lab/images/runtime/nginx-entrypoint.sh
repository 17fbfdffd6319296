#!/bin/sh
# Render the site from its template (UPSTREAM, SERVER_NAME) and run nginx in the foreground.
set -eu
: "${UPSTREAM:?UPSTREAM (host:port of the app) is required}"
SERVER_NAME=${SERVER_NAME:-localhost}
sed -e "s|@UPSTREAM@|$UPSTREAM|g" -e "s|@SERVER_NAME@|$SERVER_NAME|g" \
    /etc/nginx/site.conf.template >/etc/nginx/conf.d/site.conf
rm -f /etc/nginx/sites-enabled/default
nginx -t -q
exec nginx -g 'daemon off;'
