import { ImageRef } from './types';

/**
 * Every image the platform runs, pinned in one place. Each pin sits on a release line upstream
 * still supports (README "Images" has a row per image: its line, support window, source and the
 * advisories it closes); config/advisories.ts refuses a pin below the known-exploited floor.
 * Renovate (renovate.json5) proposes patch updates within each line, from this file.
 */

const image = (repository: string, tag: string): ImageRef => ({ repository, tag });

/** Application release shipped by default; CI overrides it with QINGYU_IMAGE_TAG. */
export const APP_RELEASE = 'v1.0.0';

export const IMAGES = {
  goBackend: image('ghcr.io/qingyu-platform/go-backend', APP_RELEASE),
  pythonAi: image('ghcr.io/qingyu-platform/python-ai', APP_RELEASE),
  mongodb: image('mongo', '7.0.43'),
  mongodbExporter: image('percona/mongodb_exporter', '0.53.0'),
  redis: image('redis', '7.2.16'),
  redisExporter: image('oliver006/redis_exporter', 'v1.91.1'),
  milvus: image('milvusdb/milvus', 'v2.3.0'),
  etcd: image('quay.io/coreos/etcd', 'v3.5.35'),
  // The design's MinIO release; Docker Hub's minio/minio is gone, quay.io still serves it (see README).
  minio: image('quay.io/minio/minio', 'RELEASE.2023-03-20T20-16-18Z'),
  // MinIO's client at the release cut next to the server's: the bucket step of Milvus's pod.
  minioClient: image('quay.io/minio/mc', 'RELEASE.2023-03-20T17-17-53Z'),
  // grpcurl v1.9.4 (2026-08-31, github.com/fullstorydev/grpcurl on the Go proxy); its release
  // script (releasing/do-release.sh) pushes the Dockerfile's alpine target as v<version>-alpine:
  // busybox's shell beside /bin/grpcurl. The milvus-auth Job.
  grpcurl: image('fullstorydev/grpcurl', 'v1.9.4-alpine'),
  prometheus: image('quay.io/prometheus/prometheus', 'v3.13.5'),
  // v0.34.2 (2026-10-29): the 0.34 line with its two [SECURITY] fixes, before 0.35's breaking changes.
  alertmanager: image('quay.io/prometheus/alertmanager', 'v0.34.2'),
  grafana: image('grafana/grafana', '12.4.11'),
  // restic 0.19.1 (2026-07-05): encrypted, deduplicated backups to S3; the project's own image.
  restic: image('ghcr.io/restic/restic', '0.19.1'),
  kubeStateMetrics: image('registry.k8s.io/kube-state-metrics/kube-state-metrics', 'v2.20.0'),
} as const;
