#!/bin/sh
# A stand-in for a supervised program: says which member runs it and in which fencing term, every second.
trap 'echo "test-program: stopping (term $P2P_FAILOVER_TERM)"; exit 0' TERM INT
while :; do
  echo "test-program: running on ${P2P_FAILOVER_NODE:-?} in term ${P2P_FAILOVER_TERM:-?}"
  sleep 1 & wait $!
done
