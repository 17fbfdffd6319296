#!/bin/sh
# The server shares the machine's network namespace, so sshd listens on loopback only, on its own port.
set -eu
: "${AUTHORIZED_KEY:?AUTHORIZED_KEY is required}"
: "${SSH_PORT:?SSH_PORT is required}"
printf '%s\n' "$AUTHORIZED_KEY" >/root/.ssh/authorized_keys
chmod 0600 /root/.ssh/authorized_keys
ssh-keygen -A >/dev/null
[ -n "${SERVER_HOSTNAME:-}" ] && printf '%s\n' "$SERVER_HOSTNAME" >/etc/tgops-hostname
exec /usr/sbin/sshd -D -e -p "$SSH_PORT" -o ListenAddress=127.0.0.1 -o PasswordAuthentication=no \
    -o PermitRootLogin=prohibit-password -o UseDNS=no
