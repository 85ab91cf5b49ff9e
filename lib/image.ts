import { ImageRef } from '../config';

/**
 * `repository:tag`, `repository@sha256:...` when only a digest is pinned, or
 * `repository:tag@sha256:...` when both are (the runtime pulls the digest; the tag says which
 * release it is, for people and for the version floor).
 */
export function imageName(ref: ImageRef): string {
  if (ref.digest) return ref.tag ? `${ref.repository}:${ref.tag}@${ref.digest}` : `${ref.repository}@${ref.digest}`;
  if (ref.tag) return `${ref.repository}:${ref.tag}`;
  throw new Error(`image '${ref.repository}' has neither a tag nor a digest`);
}

/** The version an image runs, for the `app.kubernetes.io/version` label. */
export function imageVersion(ref: ImageRef): string {
  return ref.tag ?? ref.digest ?? 'unknown';
}
