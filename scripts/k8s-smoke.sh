#!/usr/bin/env bash
# `./test.sh --k8s`: checks a deployed net-test namespace from outside, through kubectl only:
# pods ready, every node lists the others, a task runs, /metrics answers. Exits non-zero on any failure.
set -uo pipefail
NS=${NS:-net-test}
fail=0
ok() { printf '  ok    %s\n' "$*"; }
bad() { printf '  FAIL  %s\n' "$*"; fail=1; }
command -v kubectl >/dev/null 2>&1 || { echo "test.sh --k8s: kubectl is not installed" >&2; exit 1; }
kubectl cluster-info >/dev/null 2>&1 || { echo "test.sh --k8s: no Kubernetes cluster answers (kubectl cluster-info failed)" >&2; exit 1; }
p2p() { local pod=$1; shift; kubectl -n "$NS" exec "$pod" -- /app/p2p-node "$@" --config /app/config.yaml; }

echo "smoke test of namespace $NS"
if kubectl -n "$NS" wait --for=condition=Ready pod -l app.kubernetes.io/name=p2p-node --timeout=180s >/dev/null; then ok "all pods ready"; else bad "pods not ready"; fi
pods=$(kubectl -n "$NS" get pods -l app.kubernetes.io/name=p2p-node -o jsonpath='{.items[*].metadata.name}')
total=$(wc -w <<<"$pods")
for pod in $pods; do
  alive=$(p2p "$pod" peers --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).filter(p=>p.state==="alive").length))' 2>/dev/null || echo 0)
  if [ "$alive" -ge $((total - 1)) ]; then ok "$pod lists $alive of $((total - 1)) others"; else bad "$pod lists $alive of $((total - 1)) others"; fi
done
worker=$(kubectl -n "$NS" get pods -l app.kubernetes.io/component=worker -o jsonpath='{.items[0].metadata.name}')
if p2p "$worker" task compute test_payload --json | grep -q '"state": "done"'; then ok "task compute ran"; else bad "task compute failed"; fi
if echo "task echo smoke" | kubectl -n "$NS" exec -i "$worker" -- /app/p2p-node --config /app/config.yaml | grep -q smoke; then ok "piped task through kubectl exec -i"; else bad "piped task"; fi
for pod in $pods; do
  if kubectl -n "$NS" exec "$pod" -- node -e 'fetch("http://127.0.0.1:9090/metrics").then(r=>r.text()).then(t=>process.exit(t.includes("p2p_peers_connected")?0:1)).catch(()=>process.exit(1))'; then ok "$pod /metrics"; else bad "$pod /metrics"; fi
done
active=0
for pod in $(kubectl -n "$NS" get pods -l app.kubernetes.io/component=worker -o jsonpath='{.items[*].metadata.name}'); do
  n=$(p2p "$pod" failover --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).filter(f=>f.running).length))' 2>/dev/null || echo 0)
  active=$((active + n))
done
if [ "$active" = 1 ]; then ok "exactly one failover active"; else bad "$active failover actives (want exactly 1)"; fi
[ $fail = 0 ] && echo "smoke test passed" || echo "smoke test FAILED"
exit $fail
