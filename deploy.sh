#!/usr/bin/env bash
# Applies the manifests (kubectl apply -k), waits for the rollout, and prints how to attach.
#   OVERLAY=dev|production ./deploy.sh
set -euo pipefail
cd "$(dirname "$0")"
OVERLAY=${OVERLAY:-dev}
NS=net-test
command -v kubectl >/dev/null 2>&1 || { echo "deploy.sh: kubectl is not installed" >&2; exit 1; }
if ! kubectl cluster-info >/dev/null 2>&1; then
  echo "deploy.sh: no Kubernetes cluster answers (kubectl cluster-info failed); check your kube context" >&2
  exit 1
fi
kubectl apply -k "k8s/overlays/$OVERLAY"
kubectl -n "$NS" rollout status deployment/p2p-bootstrap --timeout=180s
kubectl -n "$NS" rollout status deployment/p2p-relay --timeout=180s
kubectl -n "$NS" rollout status statefulset/p2p-worker --timeout=300s
kubectl -n "$NS" get pods -o wide
worker=$(kubectl -n "$NS" get pods -l app.kubernetes.io/component=worker -o jsonpath='{.items[0].metadata.name}')
cat <<MSG

Deployed (overlay $OVERLAY). Attach the REPL of a running node:
  kubectl exec -n $NS -it $worker -- /app/p2p-node --config /app/config.yaml
Run a task without a terminal:
  echo "task compute test_payload" | kubectl exec -n $NS -i $worker -- /app/p2p-node --config /app/config.yaml
Smoke test the deployment:
  ./test.sh --k8s
MSG
