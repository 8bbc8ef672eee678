#!/usr/bin/env bash
# A process node for the local cluster (e2e/cluster.sh): registers a GPU-labelled Node on $KUBECONFIG's cluster and
# runs the pods bound to it as local processes of target/quarkus-app, as the end-to-end tests do. It also provides the
# example PruningJob's claims (pollard-models, pollard-data in namespace default), seeded with the bundled model and
# Debian's Fashion-MNIST. Runs until Ctrl-C.
#   e2e/process-node.sh [NODE_NAME] [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -f target/quarkus-app/quarkus-run.jar && -d target/test-classes ]] || mvn -B -q package -DskipTests
cp="$(mktemp)"
mvn -B -q dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$cp" >/dev/null
exec java -Djava.util.logging.manager=org.jboss.logmanager.LogManager -cp "target/test-classes:target/classes:$(cat "$cp")" dev.pollard.e2e.ProcessNodeMain "$@"
