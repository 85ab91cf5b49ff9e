import { DashboardSpec, q, row, stat, table, timeseries } from './grafana-dashboard';

/**
 * The platform's Grafana dashboards as data: an overview and one per data store. Queries are
 * scoped to the platform's namespace, so the same dashboards work in a shared
 * kube-prometheus-stack Grafana. Metric names are those of the exporters the platform runs:
 * percona/mongodb_exporter with `--compatible-mode`, oliver006/redis_exporter, etcd's and
 * MinIO's own metrics, Milvus's own metrics, and `http_requests_total` /
 * `http_request_duration_seconds` from the applications' Gin and FastAPI middleware.
 */
export interface PlatformDashboardOptions {
  readonly namespace: string;
  /** `job` label values (Service names) of the application services. */
  readonly apis: readonly string[];
  /** Whether the object store is the platform's MinIO (else an external S3 store: no MinIO row). */
  readonly minio: boolean;
}

export function platformDashboards(o: PlatformDashboardOptions): DashboardSpec[] {
  const ns = `namespace="${o.namespace}"`;
  const apps = `job=~"${o.apis.join('|')}"`;
  const tags = ['qingyu'];

  const overview: DashboardSpec = {
    uid: 'qingyu-overview',
    title: 'Qingyu / Platform overview',
    description: 'Health of every scraped component, the public API and the firing alerts.',
    tags,
    items: [
      row('Health'),
      stat('Scrape targets up', [q(`sum(up{${ns}})`)], { unit: 'short' }),
      stat('Scrape targets down', [q(`count(up{${ns}} == 0) or vector(0)`)], { thresholds: [{ value: 1, color: 'red' }] }),
      stat('Firing alerts', [q(`count(ALERTS{${ns}, alertstate="firing"}) or vector(0)`)], { thresholds: [{ value: 1, color: 'orange' }] }),
      stat('API 5xx ratio (5m)', [q(`sum(rate(http_requests_total{${ns}, ${apps}, status=~"5.."}[5m])) / sum(rate(http_requests_total{${ns}, ${apps}}[5m]))`)], {
        unit: 'percentunit',
        thresholds: [{ value: 0.01, color: 'yellow' }, { value: 0.05, color: 'red' }],
      }),
      table('Firing alerts', [q(`ALERTS{${ns}, alertstate="firing"}`)], { width: 24, height: 6 }),
      table('Scrape targets', [q(`up{${ns}}`)], { width: 24, height: 8, description: '1 = scraped successfully, 0 = down.' }),
      row('API'),
      timeseries('Requests per second', [q(`sum by (job) (rate(http_requests_total{${ns}, ${apps}}[5m]))`, '{{job}}')], { unit: 'reqps', width: 8 }),
      timeseries('5xx ratio', [q(`sum by (job) (rate(http_requests_total{${ns}, ${apps}, status=~"5.."}[5m])) / sum by (job) (rate(http_requests_total{${ns}, ${apps}}[5m]))`, '{{job}}')], {
        unit: 'percentunit',
        width: 8,
      }),
      timeseries('Latency p95', [q(`histogram_quantile(0.95, sum by (job, le) (rate(http_request_duration_seconds_bucket{${ns}, ${apps}}[5m])))`, '{{job}}')], {
        unit: 's',
        width: 8,
        description: 'python-ai streams: the time to the response headers, not the length of the stream.',
      }),
      row('Processes'),
      timeseries('CPU by job', [q(`sum by (job) (rate(process_cpu_seconds_total{${ns}}[5m]))`, '{{job}}')], {
        unit: 'short',
        description: 'CPU seconds per second, from each process\'s own metrics.',
      }),
      timeseries('Resident memory by job', [q(`sum by (job) (process_resident_memory_bytes{${ns}})`, '{{job}}')], { unit: 'bytes' }),
    ],
  };

  const mongodb: DashboardSpec = {
    uid: 'qingyu-mongodb',
    title: 'Qingyu / MongoDB',
    description: 'The rs0 replica set, from the mongodb_exporter sidecar of every member (--compatible-mode names).',
    tags: [...tags, 'mongodb'],
    items: [
      row('Replica set'),
      stat('Members reachable', [q(`sum(mongodb_up{${ns}})`)]),
      stat('Primaries', [q(`count(mongodb_mongod_replset_my_state{${ns}} == 1) or vector(0)`)], { thresholds: [{ value: 2, color: 'red' }] }),
      stat('Unhealthy members', [q(`count(min by (set, name) (mongodb_mongod_replset_member_health{${ns}}) == 0) or vector(0)`)], {
        thresholds: [{ value: 1, color: 'red' }],
      }),
      stat('Connections', [q(`sum(mongodb_mongod_connections{${ns}, state="current"})`)]),
      table('Members as the replica set sees them', [q(`max by (set, name, state) (mongodb_mongod_replset_member_health{${ns}})`)], { width: 24, height: 6 }),
      timeseries('Replication lag of secondaries', [
        q(
          `max by (set) (mongodb_mongod_replset_member_optime_date{${ns}, state="PRIMARY"}) - on (set) group_right() ` +
            `max by (set, name) (mongodb_mongod_replset_member_optime_date{${ns}, state="SECONDARY"})`,
          '{{name}}',
        ),
      ], { unit: 's', width: 24 }),
      row('Load'),
      timeseries('Operations per second', [q(`sum by (type) (rate(mongodb_mongod_op_counters_total{${ns}}[5m]))`, '{{type}}')], { unit: 'ops' }),
      timeseries('Connections by member', [q(`sum by (pod) (mongodb_mongod_connections{${ns}, state="current"})`, '{{pod}}')]),
      timeseries('WiredTiger cache used', [
        q(`sum by (pod) (mongodb_mongod_wiredtiger_cache_bytes{${ns}, type="total"})`, '{{pod}} used'),
        q(`max by (pod) (mongodb_mongod_wiredtiger_cache_max_bytes{${ns}})`, '{{pod}} max'),
      ], { unit: 'bytes' }),
      timeseries('Asserts per second', [q(`sum by (type) (rate(mongodb_mongod_asserts_total{${ns}}[5m]))`, '{{type}}')], { unit: 'ops' }),
    ],
  };

  const redis: DashboardSpec = {
    uid: 'qingyu-redis',
    title: 'Qingyu / Redis',
    description: 'The cache and session store, from redis_exporter.',
    tags: [...tags, 'redis'],
    items: [
      row('Health'),
      stat('Redis up', [q(`min(redis_up{${ns}})`)], { baseColor: 'red', thresholds: [{ value: 1, color: 'green' }] }),
      stat('Memory of maxmemory', [q(`max(redis_memory_used_bytes{${ns}} / (redis_memory_max_bytes{${ns}} > 0))`)], {
        unit: 'percentunit',
        thresholds: [{ value: 0.8, color: 'yellow' }, { value: 0.9, color: 'red' }],
      }),
      stat('Connected clients', [q(`sum(redis_connected_clients{${ns}})`)]),
      stat('Keys', [q(`sum(redis_db_keys{${ns}})`)]),
      row('Load'),
      timeseries('Commands per second', [q(`sum(rate(redis_commands_processed_total{${ns}}[5m]))`, 'commands')], { unit: 'ops' }),
      timeseries('Hit ratio', [
        q(`sum(rate(redis_keyspace_hits_total{${ns}}[5m])) / (sum(rate(redis_keyspace_hits_total{${ns}}[5m])) + sum(rate(redis_keyspace_misses_total{${ns}}[5m])))`, 'hits'),
      ], { unit: 'percentunit', min: 0, max: 1 }),
      timeseries('Memory', [
        q(`sum(redis_memory_used_bytes{${ns}})`, 'used'),
        q(`max(redis_memory_max_bytes{${ns}})`, 'maxmemory'),
      ], { unit: 'bytes' }),
      timeseries('Evicted and expired keys per second', [
        q(`sum(rate(redis_evicted_keys_total{${ns}}[5m]))`, 'evicted'),
        q(`sum(rate(redis_expired_keys_total{${ns}}[5m]))`, 'expired'),
      ], { unit: 'ops' }),
    ],
  };

  const milvus: DashboardSpec = {
    uid: 'qingyu-milvus',
    title: 'Qingyu / Milvus',
    description: 'Milvus standalone (vector search for python-ai), from its own /metrics.',
    tags: [...tags, 'milvus'],
    items: [
      row('Health'),
      stat('Milvus up', [q(`min(up{${ns}, job="milvus"})`)], { baseColor: 'red', thresholds: [{ value: 1, color: 'green' }] }),
      stat('Resident memory', [q(`sum(process_resident_memory_bytes{${ns}, job="milvus"})`)], { unit: 'bytes' }),
      row('Requests'),
      timeseries('Proxy requests per second', [q(`sum by (function_name, status) (rate(milvus_proxy_req_count{${ns}}[5m]))`, '{{function_name}} {{status}}')], {
        unit: 'reqps',
      }),
      timeseries('Search and query latency p99', [
        q(`histogram_quantile(0.99, sum by (query_type, le) (rate(milvus_proxy_sq_latency_bucket{${ns}}[5m]))) / 1000`, '{{query_type}}'),
      ], { unit: 's', description: 'milvus_proxy_sq_latency is recorded in milliseconds.' }),
      timeseries('CPU', [q(`sum(rate(process_cpu_seconds_total{${ns}, job="milvus"}[5m]))`, 'cpu')]),
      timeseries('Goroutines', [q(`sum(go_goroutines{${ns}, job="milvus"})`, 'goroutines')]),
    ],
  };

  const minioRow = [
    row('MinIO'),
    stat('MinIO up', [q(`min(up{${ns}, job=~".*minio.*"})`)], { baseColor: 'red', thresholds: [{ value: 1, color: 'green' }] }),
    stat('Usable capacity free', [q(`min(minio_cluster_capacity_usable_free_bytes{${ns}} / minio_cluster_capacity_usable_total_bytes{${ns}})`)], {
      unit: 'percentunit',
    }),
    timeseries('S3 requests per second', [q(`sum by (api) (rate(minio_s3_requests_total{${ns}}[5m]))`, '{{api}}')], { unit: 'reqps' }),
    timeseries('S3 errors per second', [q(`sum by (api) (rate(minio_s3_requests_errors_total{${ns}}[5m]))`, '{{api}}')], { unit: 'reqps' }),
  ];
  // The uid (and the ConfigMap's name) stays when the object store is external: one dashboard, one name.
  const metaStores: DashboardSpec = {
    uid: 'qingyu-etcd-minio',
    title: o.minio ? 'Qingyu / etcd and MinIO' : 'Qingyu / etcd',
    description: o.minio ? "Milvus's metadata store (etcd) and object store (MinIO)." : "Milvus's metadata store (etcd); its object store is an external S3 store.",
    tags: o.minio ? [...tags, 'etcd', 'minio'] : [...tags, 'etcd'],
    items: [
      row('etcd'),
      stat('Has leader', [q(`min(etcd_server_has_leader{${ns}})`)], { baseColor: 'red', thresholds: [{ value: 1, color: 'green' }] }),
      stat('Database of quota', [q(`max(etcd_mvcc_db_total_size_in_bytes{${ns}} / etcd_server_quota_backend_bytes{${ns}})`)], {
        unit: 'percentunit',
        thresholds: [{ value: 0.6, color: 'yellow' }, { value: 0.8, color: 'red' }],
      }),
      stat('Leader changes (1h)', [q(`sum(increase(etcd_server_leader_changes_seen_total{${ns}}[1h]))`)], { thresholds: [{ value: 3, color: 'orange' }] }),
      stat('Proposals failed (1h)', [q(`sum(increase(etcd_server_proposals_failed_total{${ns}}[1h]))`)], { thresholds: [{ value: 1, color: 'orange' }] }),
      timeseries('Database size', [
        q(`max by (pod) (etcd_mvcc_db_total_size_in_bytes{${ns}})`, '{{pod}}'),
        q(`max(etcd_server_quota_backend_bytes{${ns}})`, 'quota'),
      ], { unit: 'bytes' }),
      timeseries('Disk latency p99', [
        q(`histogram_quantile(0.99, sum by (le) (rate(etcd_disk_wal_fsync_duration_seconds_bucket{${ns}}[5m])))`, 'WAL fsync'),
        q(`histogram_quantile(0.99, sum by (le) (rate(etcd_disk_backend_commit_duration_seconds_bucket{${ns}}[5m])))`, 'backend commit'),
      ], { unit: 's' }),
      ...(o.minio ? minioRow : []),
    ],
  };

  return [overview, mongodb, redis, milvus, metaStores];
}
