#!/bin/sh
# DOCKER_ENGINE=1: start this host's own Docker engine and its published web container (WEB_PORT, default 8080)
# in the background, then become the lab server (sshd) as server-entrypoint makes it.
set -eu
if [ "${DOCKER_ENGINE:-}" = 1 ]; then
    # The cgroup hierarchies arrive read-only; with a private cgroup namespace, mounting them again gives this
    # host its own subtree, where the engine makes its containers' cgroups.
    for dir in /sys/fs/cgroup/*; do
        name=${dir##*/}
        case $name in unified) continue ;; systemd) opts=none,name=systemd ;; *) opts=$name ;; esac
        umount "$dir" && mount -t cgroup -o "$opts" cgroup "$dir"
    done
    web_port=${WEB_PORT:-8080}
    (
        dockerd --storage-driver vfs --iptables=true >/var/log/dockerd.log 2>&1 &
        tries=0
        until docker info >/dev/null 2>&1; do
            tries=$((tries + 1))
            [ "$tries" -le 60 ] || { echo "dockerd did not start" >>/var/log/dockerd.log; exit 1; }
            sleep 0.5
        done
        docker import - tgops-lab/web:latest </usr/local/share/tgops-web.tar >/dev/null
        docker run -d --name web --restart unless-stopped -p "$web_port:$web_port" tgops-lab/web:latest \
            /bin/busybox httpd -f -p "$web_port" -h /www >/dev/null
    ) >>/var/log/firewall-host.log 2>&1 &
fi
exec /usr/local/bin/server-entrypoint
