#!/bin/sh
# Runs inside a booted base container: installs the services a lab host exposes, laid out the way
# they are on real servers, then leaves them enabled so they start on every boot of the image.
set -eu
export DEBIAN_FRONTEND=noninteractive

apt-get update -q
# netbase brings /etc/protocols and /etc/services, without which firewalld cannot load its services.
apt-get install -y -q --no-install-recommends \
  rpcbind memcached nginx openssh-server firewalld nftables python3-apt sudo ca-certificates \
  netbase
apt-get clean
rm -rf /var/lib/apt/lists/*

# memcached ships bound to loopback; many real hosts widen it, which is the leak we look for.
sed -i -e 's/^-l .*/-l 0.0.0.0/' /etc/memcached.conf

# An admin web interface on every address, as internal tools often are.
mkdir -p /srv/admin
echo 'portguard lab admin interface' > /srv/admin/index.html
cat > /etc/systemd/system/lab-admin.service <<'UNIT'
[Unit]
Description=Lab admin interface on 8080
After=network.target

[Service]
ExecStart=/usr/bin/python3 -m http.server 8080 --bind 0.0.0.0 --directory /srv/admin
Restart=on-failure

[Install]
WantedBy=multi-user.target
UNIT

systemctl enable rpcbind.socket rpcbind.service memcached.service nginx.service ssh.service \
  lab-admin.service
# Installed but not running: most servers that carry firewalld this way expose everything, and the
# role has to enable it without cutting the management connection.
systemctl disable firewalld.service
systemctl stop firewalld.service || true
# Units that only fail or idle inside a container.
systemctl mask systemd-networkd-wait-online.service systemd-modules-load.service getty@tty1.service \
  console-getty.service \
  2>/dev/null || true
