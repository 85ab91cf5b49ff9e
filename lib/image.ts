import { ImageRef } from '../config';

/** `repository:tag`, or `repository@sha256:...` when a digest is pinned. */
export function imageName(ref: ImageRef): string {
  if (ref.digest) return `${ref.repository}@${ref.digest}`;
  if (ref.tag) return `${ref.repository}:${ref.tag}`;
  throw new Error(`image '${ref.repository}' has neither a tag nor a digest`);
}

/** The version an image runs, for the `app.kubernetes.io/version` label. */
export function imageVersion(ref: ImageRef): string {
  return ref.digest ?? ref.tag ?? 'unknown';
}
