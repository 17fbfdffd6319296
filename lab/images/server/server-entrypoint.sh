#!/bin/sh
# The server shares the machine's network namespace, so sshd listens on loopback only, on its own port
# (SSH_LISTEN: a host with a network of its own, such as the compromise test's, listens on its interfaces).
# SERVER_INIT=systemd: systemd becomes PID 1 and runs sshd (ssh.service), cron and the platform's
# units; otherwise tini is PID 1 with sshd, and cron runs beside it.
set -eu
: "${AUTHORIZED_KEY:?AUTHORIZED_KEY is required}"
: "${SSH_PORT:?SSH_PORT is required}"
printf '%s\n' "$AUTHORIZED_KEY" >/root/.ssh/authorized_keys
chmod 0600 /root/.ssh/authorized_keys
ssh-keygen -A >/dev/null
# Read by sshd however it is started (Debian's sshd_config includes sshd_config.d/*.conf).
cat >/etc/ssh/sshd_config.d/tgops-lab.conf <<CONF
Port $SSH_PORT
ListenAddress ${SSH_LISTEN:-127.0.0.1}
PasswordAuthentication no
PermitRootLogin prohibit-password
UseDNS no
CONF
[ -n "${SERVER_HOSTNAME:-}" ] && printf '%s\n' "$SERVER_HOSTNAME" >/etc/tgops-hostname
if [ "${SERVER_INIT:-}" = systemd ]; then
    exec /sbin/init
fi
mkdir -p /run/sshd
cron
exec /usr/bin/tini -- /usr/sbin/sshd -D -e
