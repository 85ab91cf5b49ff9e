import { AlertContext, AlertGroup, target } from '../alert-rules';

/**
 * Volumes filling up, from kubelet volume statistics (a cluster-wide stack scrapes them). In
 * `own` mode the platform has no access to the nodes: there the stores watch their own disks
 * (MongoDB's filesystem, MinIO's capacity, etcd's quota) and Prometheus bounds its own with
 * `retentionSize`.
 */
export function volumeAlerts(c: AlertContext): AlertGroup {
  const { ns } = c;
  const pvc = { persistentvolumeclaim: 'data-mongodb-0' };
  return {
    name: 'qingyu.volumes',
    rules: [
      {
        alert: 'QingyuPersistentVolumeFillingUp',
        expr:
          `kubelet_volume_stats_available_bytes{${ns}} / kubelet_volume_stats_capacity_bytes{${ns}} < 0.15 ` +
          `and predict_linear(kubelet_volume_stats_available_bytes{${ns}}[6h], 4 * 24 * 3600) < 0`,
        for: '1h',
        severity: 'warning',
        summary: 'Volume {{ $labels.persistentvolumeclaim }} will be full within four days',
        description: 'PersistentVolumeClaim {{ $labels.persistentvolumeclaim }} has {{ $value | humanizePercentage }} free and, at the rate of the last 6 hours, fills up within four days.',
        fires: {
          // 100 GB, 10% free and losing 1 GB an hour.
          series: [
            ['kubelet_volume_stats_available_bytes', pvc, '10000000000-16666667x480'],
            ['kubelet_volume_stats_capacity_bytes', pvc, '100000000000x480'],
          ],
          labels: pvc,
          atMinutes: 420,
          summary: 'Volume data-mongodb-0 will be full within four days',
          description: 'PersistentVolumeClaim data-mongodb-0 has 3% free and, at the rate of the last 6 hours, fills up within four days.',
        },
        quiet: {
          series: [
            ['kubelet_volume_stats_available_bytes', pvc, '10000000000x480'],
            ['kubelet_volume_stats_capacity_bytes', pvc, '100000000000x480'],
          ],
          atMinutes: 420,
        },
      },
      {
        alert: 'QingyuPersistentVolumeAlmostFull',
        expr: `kubelet_volume_stats_available_bytes{${ns}} / kubelet_volume_stats_capacity_bytes{${ns}} < 0.05`,
        for: '5m',
        severity: 'critical',
        summary: 'Volume {{ $labels.persistentvolumeclaim }} is almost full',
        description: 'PersistentVolumeClaim {{ $labels.persistentvolumeclaim }} has only {{ $value | humanizePercentage }} free. The data store on it will stop accepting writes when it is full.',
        fires: {
          series: [['kubelet_volume_stats_available_bytes', pvc, '4000000000x20'], ['kubelet_volume_stats_capacity_bytes', pvc, '100000000000x20']],
          labels: pvc,
          summary: 'Volume data-mongodb-0 is almost full',
          description: 'PersistentVolumeClaim data-mongodb-0 has only 4% free. The data store on it will stop accepting writes when it is full.',
        },
        quiet: { series: [['kubelet_volume_stats_available_bytes', pvc, '40000000000x20'], ['kubelet_volume_stats_capacity_bytes', pvc, '100000000000x20']] },
      },
    ],
  };
}

export function mongodbAlerts(c: AlertContext): AlertGroup {
  const { ns } = c;
  const member = (pod: string) => target('mongodb', pod, 'exporter');
  const rs = { set: 'rs0' };
  const state = (pod: string, name: string, v: string) =>
    ['mongodb_mongod_replset_member_health', { ...member(pod), ...rs, name, state: 'SECONDARY', self: '0' }, v] as const;
  return {
    name: 'qingyu.mongodb',
    rules: [
      {
        alert: 'QingyuMongoDBInstanceDown',
        expr: `mongodb_up{${ns}} == 0`,
        for: '2m',
        severity: 'warning',
        summary: 'MongoDB member {{ $labels.pod }} does not answer its exporter',
        description: 'The mongodb_exporter sidecar of {{ $labels.pod }} cannot reach its mongod for 2 minutes.',
        fires: {
          series: [['mongodb_up', member('mongodb-1'), '0x20']],
          labels: member('mongodb-1'),
          summary: 'MongoDB member mongodb-1 does not answer its exporter',
          description: 'The mongodb_exporter sidecar of mongodb-1 cannot reach its mongod for 2 minutes.',
        },
        quiet: { series: [['mongodb_up', member('mongodb-1'), '1x20']] },
      },
      {
        alert: 'QingyuMongoDBReplicaSetMemberUnhealthy',
        expr: `min by (set, name) (mongodb_mongod_replset_member_health{${ns}}) == 0`,
        for: '2m',
        severity: 'warning',
        summary: 'Replica-set member {{ $labels.name }} of {{ $labels.set }} is unhealthy',
        description: 'A member of {{ $labels.set }} reports {{ $labels.name }} as down for 2 minutes. The set keeps its majority with one member down; a second failure stops writes.',
        fires: {
          series: [state('mongodb-0', 'mongodb-2.mongodb-headless:27017', '0x20'), state('mongodb-1', 'mongodb-2.mongodb-headless:27017', '0x20')],
          labels: { ...rs, name: 'mongodb-2.mongodb-headless:27017', namespace: c.namespace },
          summary: 'Replica-set member mongodb-2.mongodb-headless:27017 of rs0 is unhealthy',
          description: 'A member of rs0 reports mongodb-2.mongodb-headless:27017 as down for 2 minutes. The set keeps its majority with one member down; a second failure stops writes.',
        },
        quiet: { series: [state('mongodb-0', 'mongodb-2.mongodb-headless:27017', '1x20'), state('mongodb-1', 'mongodb-2.mongodb-headless:27017', '1x20')] },
      },
      {
        alert: 'QingyuMongoDBNoPrimary',
        expr: `max by (set) (mongodb_mongod_replset_my_state{${ns}} == bool 1) == 0`,
        for: '1m',
        severity: 'critical',
        summary: 'Replica set {{ $labels.set }} has no primary',
        description: 'No member of {{ $labels.set }} has been PRIMARY for 1 minute: every write from the applications fails.',
        fires: {
          series: [
            ['mongodb_mongod_replset_my_state', { ...member('mongodb-0'), ...rs }, '2x20'],
            ['mongodb_mongod_replset_my_state', { ...member('mongodb-1'), ...rs }, '2x20'],
          ],
          labels: rs,
          summary: 'Replica set rs0 has no primary',
          description: 'No member of rs0 has been PRIMARY for 1 minute: every write from the applications fails.',
        },
        quiet: {
          series: [
            ['mongodb_mongod_replset_my_state', { ...member('mongodb-0'), ...rs }, '1x20'],
            ['mongodb_mongod_replset_my_state', { ...member('mongodb-1'), ...rs }, '2x20'],
          ],
        },
      },
      {
        alert: 'QingyuMongoDBReplicationLag',
        expr: `max by (set, name) (mongodb_mongod_replset_member_replication_lag{${ns}}) > 30`,
        for: '5m',
        severity: 'warning',
        summary: 'Member {{ $labels.name }} of {{ $labels.set }} is {{ $value | humanizeDuration }} behind the primary',
        description: 'A secondary more than 30 s behind serves stale reads and, if it is elected, loses what it had not replicated (w:1 writes).',
        fires: {
          series: [['mongodb_mongod_replset_member_replication_lag', { ...member('mongodb-0'), ...rs, name: 'mongodb-1.mongodb-headless:27017', state: 'SECONDARY', self: '0' }, '120x20']],
          labels: { ...rs, name: 'mongodb-1.mongodb-headless:27017' },
          summary: 'Member mongodb-1.mongodb-headless:27017 of rs0 is 2m 0s behind the primary',
        },
        quiet: { series: [['mongodb_mongod_replset_member_replication_lag', { ...member('mongodb-0'), ...rs, name: 'mongodb-1.mongodb-headless:27017', state: 'SECONDARY', self: '0' }, '1x20']] },
      },
      {
        alert: 'QingyuMongoDBOplogWindowShort',
        expr: `min by (namespace) (mongodb_mongod_replset_oplog_head_timestamp{${ns}} - mongodb_mongod_replset_oplog_tail_timestamp{${ns}}) < 12 * 3600`,
        for: '30m',
        severity: 'warning',
        summary: 'The oplog holds only {{ $value | humanizeDuration }} of writes',
        description: 'A member that is down longer than the oplog window cannot catch up and needs a full initial sync; an oplog-based backup must also finish within it. Raise oplogSizeMB, or find the write burst.',
        fires: {
          series: [
            ['mongodb_mongod_replset_oplog_head_timestamp', member('mongodb-0'), '36000x50'],
            ['mongodb_mongod_replset_oplog_tail_timestamp', member('mongodb-0'), '0x50'],
          ],
          labels: {},
          summary: 'The oplog holds only 10h 0m 0s of writes',
        },
        quiet: {
          series: [
            ['mongodb_mongod_replset_oplog_head_timestamp', member('mongodb-0'), '172800x50'],
            ['mongodb_mongod_replset_oplog_tail_timestamp', member('mongodb-0'), '0x50'],
          ],
        },
      },
      {
        // dbStats reports the filesystem of the data directory: the member's volume.
        alert: 'QingyuMongoDBDiskFillingUp',
        expr: `max by (namespace, pod) (mongodb_dbstats_fsUsedSize{${ns}} / mongodb_dbstats_fsTotalSize{${ns}}) > 0.85`,
        for: '15m',
        severity: 'warning',
        summary: 'The volume of {{ $labels.pod }} is {{ $value | humanizePercentage }} full',
        description: 'MongoDB stops when its disk is full, and compaction needs free space. Grow the volume (the StatefulSet\'s storage in config, then expand the PVCs) or remove data.',
        fires: {
          series: [
            ['mongodb_dbstats_fsUsedSize', { ...member('mongodb-0'), database: 'qingyu' }, '90x30'],
            ['mongodb_dbstats_fsTotalSize', { ...member('mongodb-0'), database: 'qingyu' }, '100x30'],
          ],
          labels: { pod: 'mongodb-0' },
          summary: 'The volume of mongodb-0 is 90% full',
        },
        quiet: {
          series: [
            ['mongodb_dbstats_fsUsedSize', { ...member('mongodb-0'), database: 'qingyu' }, '50x30'],
            ['mongodb_dbstats_fsTotalSize', { ...member('mongodb-0'), database: 'qingyu' }, '100x30'],
          ],
        },
      },
    ],
  };
}

export function redisAlerts(c: AlertContext): AlertGroup {
  const { ns } = c;
  const redis = target('redis', 'redis-0', 'exporter');
  return {
    name: 'qingyu.redis',
    rules: [
      {
        alert: 'QingyuRedisDown',
        expr: `redis_up{${ns}} == 0`,
        for: '1m',
        severity: 'critical',
        summary: 'Redis {{ $labels.pod }} is down',
        description: 'redis_exporter cannot reach Redis on {{ $labels.pod }} for 1 minute: caching and sessions are failing.',
        fires: {
          series: [['redis_up', redis, '0x20']],
          labels: redis,
          summary: 'Redis redis-0 is down',
          description: 'redis_exporter cannot reach Redis on redis-0 for 1 minute: caching and sessions are failing.',
        },
        quiet: { series: [['redis_up', redis, '1x20']] },
      },
      {
        alert: 'QingyuRedisMemoryNearLimit',
        expr: `redis_memory_used_bytes{${ns}} / (redis_memory_max_bytes{${ns}} > 0) > 0.9`,
        for: '10m',
        severity: 'warning',
        summary: 'Redis {{ $labels.pod }} uses {{ $value | humanizePercentage }} of maxmemory',
        description: 'Redis {{ $labels.pod }} has used more than 90% of maxmemory for 10 minutes; it evicts keys or rejects writes, depending on its maxmemory-policy.',
        fires: {
          series: [['redis_memory_used_bytes', redis, '95x30'], ['redis_memory_max_bytes', redis, '100x30']],
          labels: redis,
          summary: 'Redis redis-0 uses 95% of maxmemory',
          description: 'Redis redis-0 has used more than 90% of maxmemory for 10 minutes; it evicts keys or rejects writes, depending on its maxmemory-policy.',
        },
        quiet: { series: [['redis_memory_used_bytes', redis, '50x30'], ['redis_memory_max_bytes', redis, '100x30']] },
      },
      {
        alert: 'QingyuRedisEvictingKeys',
        expr: `increase(redis_evicted_keys_total{${ns}}[10m]) > 0`,
        for: '0m',
        severity: 'warning',
        summary: 'Redis {{ $labels.pod }} evicted {{ $value | humanize }} keys in 10 minutes',
        description: 'Redis reached maxmemory and evicted keys under its maxmemory-policy: cache entries, and with a volatile-* policy also user sessions before their expiry, which logs those users out.',
        fires: {
          series: [['redis_evicted_keys_total', redis, '0+10x30']],
          labels: redis,
          summary: 'Redis redis-0 evicted 100 keys in 10 minutes',
        },
        quiet: { series: [['redis_evicted_keys_total', redis, '5x30']] },
      },
      {
        alert: 'QingyuRedisRejectingConnections',
        expr: `increase(redis_rejected_connections_total{${ns}}[5m]) > 0`,
        for: '0m',
        severity: 'critical',
        summary: 'Redis {{ $labels.pod }} rejected {{ $value | humanize }} connections in 5 minutes',
        description: 'Redis refuses new clients at maxclients: application pods that start or reconnect cannot use the cache or sessions. Find the client that leaks connections, or raise maxclients.',
        fires: {
          series: [['redis_rejected_connections_total', redis, '0+2x30']],
          labels: redis,
          summary: 'Redis redis-0 rejected 10 connections in 5 minutes',
        },
        quiet: { series: [['redis_rejected_connections_total', redis, '3x30']] },
      },
    ],
  };
}

export function etcdAlerts(c: AlertContext): AlertGroup {
  const { ns } = c;
  const etcd = target('etcd', 'etcd-0');
  return {
    name: 'qingyu.etcd',
    rules: [
      {
        alert: 'QingyuEtcdNoLeader',
        expr: `etcd_server_has_leader{${ns}} == 0`,
        for: '1m',
        severity: 'critical',
        summary: 'etcd member {{ $labels.pod }} has no leader',
        description: 'etcd member {{ $labels.pod }} has had no leader for 1 minute: Milvus cannot read or write its metadata.',
        fires: {
          series: [['etcd_server_has_leader', etcd, '0x20']],
          labels: etcd,
          summary: 'etcd member etcd-0 has no leader',
          description: 'etcd member etcd-0 has had no leader for 1 minute: Milvus cannot read or write its metadata.',
        },
        quiet: { series: [['etcd_server_has_leader', etcd, '1x20']] },
      },
      {
        alert: 'QingyuEtcdDatabaseNearQuota',
        expr: `etcd_mvcc_db_total_size_in_bytes{${ns}} / etcd_server_quota_backend_bytes{${ns}} > 0.8`,
        for: '10m',
        severity: 'warning',
        summary: 'etcd {{ $labels.pod }} database is at {{ $value | humanizePercentage }} of its quota',
        description: 'At the backend quota etcd raises a NOSPACE alarm and accepts only reads and deletes, which stops Milvus.',
        fires: {
          series: [['etcd_mvcc_db_total_size_in_bytes', etcd, '85x30'], ['etcd_server_quota_backend_bytes', etcd, '100x30']],
          labels: etcd,
          summary: 'etcd etcd-0 database is at 85% of its quota',
        },
        quiet: { series: [['etcd_mvcc_db_total_size_in_bytes', etcd, '30x30'], ['etcd_server_quota_backend_bytes', etcd, '100x30']] },
      },
    ],
  };
}

/** MinIO watches its own drives (cluster metrics v2). */
export function minioAlerts(c: AlertContext): AlertGroup {
  const { ns } = c;
  const minio = target('minio', 'minio-0');
  return {
    name: 'qingyu.minio',
    rules: [
      {
        alert: 'QingyuMinioCapacityLow',
        expr: `min by (namespace, job) (minio_cluster_capacity_usable_free_bytes{${ns}} / minio_cluster_capacity_usable_total_bytes{${ns}}) < 0.15`,
        for: '15m',
        severity: 'warning',
        summary: 'MinIO has {{ $value | humanizePercentage }} of its capacity free',
        description: 'When MinIO\'s drive is full, Milvus cannot flush segments or build indexes and stops accepting inserts. Grow the MinIO volume, or compact and drop collections.',
        fires: {
          series: [['minio_cluster_capacity_usable_free_bytes', minio, '10x30'], ['minio_cluster_capacity_usable_total_bytes', minio, '100x30']],
          labels: { job: 'minio' },
          summary: 'MinIO has 10% of its capacity free',
        },
        quiet: { series: [['minio_cluster_capacity_usable_free_bytes', minio, '60x30'], ['minio_cluster_capacity_usable_total_bytes', minio, '100x30']] },
      },
    ],
  };
}
