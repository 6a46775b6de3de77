/**
 * Kubernetes names as the API server validates them (k8s.io/apimachinery
 * pkg/util/validation/validation.go, v0.35): a namespace is a DNS-1123 label, a pod or node name
 * a DNS-1123 subdomain. A name a runtime or a command line gives is checked here before it
 * becomes part of an API path or a label selector.
 */

const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** IsDNS1123Label: at most 63 of a-z, 0-9 and "-", starting and ending with a letter or digit. */
export function isDns1123Label(s: string): boolean {
  return s.length <= 63 && LABEL.test(s);
}

/** IsDNS1123Subdomain: at most 253 characters, labels (of any length) joined by ".". */
export function isDns1123Subdomain(s: string): boolean {
  return s.length <= 253 && s.split('.').every((part) => LABEL.test(part));
}

/** The longest text of someone else's a message quotes: enough to recognise it, one line. */
const QUOTE_MAX = 80;

/**
 * Text from elsewhere (a runtime, a flag) quoted for a message, a long value cut. It stays raw:
 * the one writer of each output escapes it (stderr's in src/cli, a log line's JSON), so that it
 * stays on its one line whatever it holds.
 */
export function quote(s: string): string {
  return `"${s.length <= QUOTE_MAX ? s : `${s.slice(0, QUOTE_MAX - 1)}…`}"`;
}

/**
 * Why a pod's namespace and name cannot name its NamespaceReport (the report has the pod's own),
 * or null when they can.
 */
export function podIdentityProblem(pod: {
  readonly namespace: string;
  readonly name: string;
}): string | null {
  if (!isDns1123Label(pod.namespace))
    return `pod namespace ${quote(pod.namespace)} is not a Kubernetes namespace name (DNS-1123 label)`;
  if (!isDns1123Subdomain(pod.name))
    return `pod name ${quote(pod.name)} is not a Kubernetes object name (DNS-1123 subdomain)`;
  return null;
}
