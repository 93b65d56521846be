#!/usr/bin/env bash
# Debian packages the test suites need beyond git itself: OpenSSH (sshd for git over ssh://,
# ssh and ssh-keygen for the client side), apache2-utils (htpasswd: the bcrypt password file of
# the OCI registry's basic auth) and openssl (the OCI registry's test CA); for the real
# single-node Kubernetes of test/node: containerd, runc, the CNI plugins, iptables (kube-proxy,
# the pods' egress rule), conntrack (kube-proxy), busybox-static (the shell of the images the
# tests assemble without a Docker engine). Idempotent: installs only what is missing, and only
# when it can (root + apt-get); otherwise it says what is missing (the ssh tests then fail, naming it).
set -euo pipefail

need=()
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
command -v htpasswd >/dev/null 2>&1 || need+=(apache2-utils)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
for tool in git-daemon git-http-backend; do
  [ -x "$(git --exec-path 2>/dev/null)/$tool" ] || { need+=(git); break; }
done

# the real node (test/node): tools checked by the binary each package installs
for pkg_bin in containerd:/usr/bin/containerd runc:/usr/sbin/runc containernetworking-plugins:/usr/lib/cni/bridge \
  iptables:/usr/sbin/iptables conntrack:/usr/sbin/conntrack busybox-static:/bin/busybox; do
  [ -x "${pkg_bin#*:}" ] || need+=("${pkg_bin%%:*}")
done

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "[system-deps] installing ${need[*]}" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null \
      || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }
  else
    echo "[system-deps] missing ${need[*]} (not root or no apt-get): install them, the git-over-ssh and real-node tests need them" >&2
  fi
fi
# sshd refuses to start without its privilege separation directory
if [ -x /usr/sbin/sshd ] && [ "$(id -u)" = 0 ]; then mkdir -p /run/sshd && chmod 0755 /run/sshd; fi
exit 0
