# Sourced by the scripts that run Podman (build.sh, the container tests): the settings this kind of machine needs,
# in a config of the project's own (CONTAINERS_CONF), never in /etc. runc, because crun refuses a cgroups v1 host
# in "hybrid" layout; cgroupfs, as there is no systemd to manage cgroups; default ulimits no higher than this
# process's own, since raising them needs CAP_SYS_RESOURCE (Podman's defaults are refused otherwise).
_p2p_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mkdir -p "$_p2p_root/.local"
_nofile=$(ulimit -n); _nproc=$(ulimit -u)
# nproc: even this process's own limit was refused here (runc: "error setting rlimit type 6: operation not
# permitted"); 1024 is accepted, and plenty for a node and its handlers
if [ "$_nproc" = unlimited ] || [ "$_nproc" -gt 1024 ]; then _nproc=1024; fi
[ "$_nofile" = unlimited ] && _nofile=1048576
cat > "$_p2p_root/.local/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=${_nofile}:${_nofile}", "nproc=${_nproc}:${_nproc}"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
export CONTAINERS_CONF="$_p2p_root/.local/containers.conf"
unset _p2p_root _nofile _nproc
