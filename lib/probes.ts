import * as kplus from 'cdk8s-plus-27';

/**
 * A liveness probe that only asks whether the process still accepts connections on `port`.
 * Liveness must not follow the health of dependencies (a restart does not fix an unreachable
 * etcd or MongoDB, it makes the outage worse); readiness checks the health endpoint, so the two
 * probes differ in what they test, not only in their timing (kube-score pod-probes-identical).
 */
export function tcpLiveness(port: string, periodSeconds: number, failureThreshold: number, timeoutSeconds = 3): kplus.k8s.Probe {
  return {
    tcpSocket: { port: kplus.k8s.IntOrString.fromString(port) },
    periodSeconds,
    failureThreshold,
    timeoutSeconds,
    successThreshold: 1,
  };
}

/** An HTTP GET probe of `path` on the container's port named `port`. */
export function httpProbe(path: string, port: string, periodSeconds: number, failureThreshold: number, timeoutSeconds = 3): kplus.k8s.Probe {
  return {
    httpGet: { path, port: kplus.k8s.IntOrString.fromString(port) },
    periodSeconds,
    failureThreshold,
    timeoutSeconds,
    successThreshold: 1,
  };
}
