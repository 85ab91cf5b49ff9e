import { AlertContext, AlertGroup, AlertRule, target } from '../alert-rules';

/** Scrape targets: one down, or a whole component down. */
export function targetAlerts(c: AlertContext): AlertGroup {
  const { ns } = c;
  return {
    name: 'qingyu.targets',
    rules: [
      {
        alert: 'QingyuTargetDown',
        expr: `up{${ns}} == 0`,
        for: '5m',
        severity: 'warning',
        summary: '{{ $labels.job }} target {{ $labels.instance }} cannot be scraped',
        description: 'Prometheus has failed to scrape {{ $labels.pod }} ({{ $labels.job }}) for 5 minutes: the pod is down, not ready, or its metrics endpoint is broken.',
        fires: {
          series: [['up', target('redis', 'redis-0'), '0x20']],
          labels: target('redis', 'redis-0'),
          summary: 'redis target 10.0.0.1:9100 cannot be scraped',
          description: 'Prometheus has failed to scrape redis-0 (redis) for 5 minutes: the pod is down, not ready, or its metrics endpoint is broken.',
        },
        quiet: { series: [['up', target('redis', 'redis-0'), '1x20']] },
      },
      ...[...new Set(c.scrapeJobs)].sort().map(
        (job): AlertRule => ({
          alert: 'QingyuComponentDown',
          expr: `absent(up{${ns}, job="${job}"} == 1)`,
          for: '5m',
          severity: 'critical',
          summary: `${job} is down: no instance can be scraped`,
          description: `No instance of ${job} has answered a scrape for 5 minutes: every pod is down, or none exists.`,
          labels: { job },
          // absent() keeps the equality matchers of its argument as labels.
          fires: { series: [['up', target(job, `${job}-0`), '0x20']], labels: { namespace: c.namespace } },
          quiet: { series: [['up', target(job, `${job}-0`), '1x20'], ['up', target(job, `${job}-1`), '0x20']] },
        }),
      ),
    ],
  };
}

/** Deployments, StatefulSets and pods that do not run as declared. */
export function workloadAlerts(c: AlertContext): AlertGroup {
  const { ns } = c;
  const pod = { pod: 'go-backend-7d9c-x2x4z', uid: 'a1b2' };
  return {
    name: 'qingyu.workloads',
    rules: [
      {
        alert: 'QingyuDeploymentReplicasMismatch',
        expr: `kube_deployment_status_replicas_available{${ns}} < kube_deployment_spec_replicas{${ns}}`,
        for: '15m',
        severity: 'warning',
        summary: 'Deployment {{ $labels.deployment }} has fewer available pods than desired',
        description: 'Deployment {{ $labels.deployment }} has had {{ $value }} available replicas, fewer than desired, for 15 minutes (pods unschedulable, crashing or failing readiness).',
        fires: {
          series: [
            ['kube_deployment_status_replicas_available', { deployment: 'go-backend' }, '2x30'],
            ['kube_deployment_spec_replicas', { deployment: 'go-backend' }, '3x30'],
          ],
          labels: { deployment: 'go-backend' },
          summary: 'Deployment go-backend has fewer available pods than desired',
          description: 'Deployment go-backend has had 2 available replicas, fewer than desired, for 15 minutes (pods unschedulable, crashing or failing readiness).',
        },
        quiet: {
          series: [
            ['kube_deployment_status_replicas_available', { deployment: 'go-backend' }, '3x30'],
            ['kube_deployment_spec_replicas', { deployment: 'go-backend' }, '3x30'],
          ],
        },
      },
      {
        alert: 'QingyuStatefulSetReplicasMismatch',
        expr: `kube_statefulset_status_replicas_ready{${ns}} < kube_statefulset_replicas{${ns}}`,
        for: '15m',
        severity: 'warning',
        summary: 'StatefulSet {{ $labels.statefulset }} has fewer ready members than desired',
        description: 'StatefulSet {{ $labels.statefulset }} has had {{ $value }} ready replicas, fewer than desired, for 15 minutes. A data store is running with reduced redundancy.',
        fires: {
          series: [
            ['kube_statefulset_status_replicas_ready', { statefulset: 'mongodb' }, '2x30'],
            ['kube_statefulset_replicas', { statefulset: 'mongodb' }, '3x30'],
          ],
          labels: { statefulset: 'mongodb' },
          summary: 'StatefulSet mongodb has fewer ready members than desired',
          description: 'StatefulSet mongodb has had 2 ready replicas, fewer than desired, for 15 minutes. A data store is running with reduced redundancy.',
        },
        quiet: {
          series: [
            ['kube_statefulset_status_replicas_ready', { statefulset: 'mongodb' }, '3x30'],
            ['kube_statefulset_replicas', { statefulset: 'mongodb' }, '3x30'],
          ],
        },
      },
      {
        alert: 'QingyuPodCrashLooping',
        expr: `max_over_time(kube_pod_container_status_waiting_reason{${ns}, reason="CrashLoopBackOff"}[5m]) >= 1`,
        for: '15m',
        severity: 'warning',
        summary: 'Container {{ $labels.container }} of {{ $labels.pod }} is crash-looping',
        description: 'Container {{ $labels.container }} of pod {{ $labels.pod }} has been in CrashLoopBackOff for 15 minutes.',
        fires: {
          series: [['kube_pod_container_status_waiting_reason', { ...pod, container: 'go-backend', reason: 'CrashLoopBackOff' }, '1x30']],
          labels: { ...pod, container: 'go-backend', reason: 'CrashLoopBackOff' },
          summary: 'Container go-backend of go-backend-7d9c-x2x4z is crash-looping',
          description: 'Container go-backend of pod go-backend-7d9c-x2x4z has been in CrashLoopBackOff for 15 minutes.',
        },
        quiet: { series: [['kube_pod_container_status_waiting_reason', { ...pod, container: 'go-backend', reason: 'CrashLoopBackOff' }, '0x30']] },
      },
      {
        alert: 'QingyuPodNotScheduled',
        expr: `max by (namespace, pod) (kube_pod_status_phase{${ns}, phase="Pending"}) == 1`,
        for: '15m',
        severity: 'warning',
        summary: 'Pod {{ $labels.pod }} has been Pending for 15 minutes',
        description: 'Pod {{ $labels.pod }} is not running: no node has room for its requests, its volume cannot be bound or attached, or the quota refuses it (kubectl describe pod shows the events).',
        fires: {
          series: [['kube_pod_status_phase', { ...pod, phase: 'Pending' }, '1x30'], ['kube_pod_status_phase', { ...pod, phase: 'Running' }, '0x30']],
          labels: { pod: pod.pod },
          summary: 'Pod go-backend-7d9c-x2x4z has been Pending for 15 minutes',
          description: 'Pod go-backend-7d9c-x2x4z is not running: no node has room for its requests, its volume cannot be bound or attached, or the quota refuses it (kubectl describe pod shows the events).',
        },
        quiet: { series: [['kube_pod_status_phase', { ...pod, phase: 'Pending' }, '1x5 0x25'], ['kube_pod_status_phase', { ...pod, phase: 'Running' }, '0x5 1x25']] },
      },
      {
        alert: 'QingyuImagePullFailing',
        expr: `max by (namespace, pod, container) (kube_pod_container_status_waiting_reason{${ns}, reason=~"ErrImagePull|ImagePullBackOff"}) == 1`,
        for: '10m',
        severity: 'warning',
        summary: 'Container {{ $labels.container }} of {{ $labels.pod }} cannot pull its image',
        description: 'The image of container {{ $labels.container }} in pod {{ $labels.pod }} has failed to pull for 10 minutes: a wrong tag or digest, a registry outage, or missing pull credentials.',
        fires: {
          series: [['kube_pod_container_status_waiting_reason', { ...pod, container: 'go-backend', reason: 'ImagePullBackOff' }, '1x30']],
          labels: { pod: pod.pod, container: 'go-backend' },
          summary: 'Container go-backend of go-backend-7d9c-x2x4z cannot pull its image',
          description: 'The image of container go-backend in pod go-backend-7d9c-x2x4z has failed to pull for 10 minutes: a wrong tag or digest, a registry outage, or missing pull credentials.',
        },
        quiet: { series: [['kube_pod_container_status_waiting_reason', { ...pod, container: 'go-backend', reason: 'ImagePullBackOff' }, '1x3 0x27']] },
      },
    ],
  };
}

/** Jobs that failed, and CronJobs (the backups) that have not succeeded in time. */
export function jobAlerts(c: AlertContext): AlertGroup {
  const { ns } = c;
  return {
    name: 'qingyu.jobs',
    rules: [
      {
        alert: 'QingyuJobFailed',
        expr: `kube_job_failed{${ns}, condition="true"} == 1`,
        for: '5m',
        severity: 'warning',
        summary: 'Job {{ $labels.job_name }} failed',
        description: 'Job {{ $labels.job_name }} ran out of retries (backoffLimit) or time (activeDeadlineSeconds). Its pods are kept for the logs until the next run.',
        fires: {
          series: [['kube_job_failed', { job_name: 'mongodb-backup-29000000', condition: 'true' }, '1x20']],
          labels: { job_name: 'mongodb-backup-29000000', condition: 'true' },
          summary: 'Job mongodb-backup-29000000 failed',
          description: 'Job mongodb-backup-29000000 ran out of retries (backoffLimit) or time (activeDeadlineSeconds). Its pods are kept for the logs until the next run.',
        },
        quiet: { series: [['kube_job_failed', { job_name: 'mongodb-backup-29000000', condition: 'true' }, '0x20']] },
      },
      ...c.scheduledJobs.map((j): AlertRule => {
        const cronJob = `cronjob="${j.cronJob}"`;
        const maxAge = j.maxAgeMinutes * 60;
        // Never succeeded yet: the CronJob's age counts instead of the last success.
        const expr = `(time() - max by (namespace, cronjob) (kube_cronjob_status_last_successful_time{${ns}, ${cronJob}}) > ${maxAge}) `
          + `or (time() - max by (namespace, cronjob) (kube_cronjob_created{${ns}, ${cronJob}}) > ${maxAge} `
          + `unless on (namespace, cronjob) kube_cronjob_status_last_successful_time{${ns}, ${cronJob}})`;
        // Timestamps in the past (negative, before the test's time 0) keep the test short
        // whatever the window: at minute 20, the last success is the window plus 30 minutes old.
        const old = -(maxAge + 600);
        return {
          alert: 'QingyuCronJobLate',
          expr,
          for: '0m',
          severity: 'critical',
          summary: `CronJob ${j.cronJob} has not succeeded for more than ${j.maxAgeMinutes} minutes`,
          description: `The last successful run of ${j.cronJob} is older than its window of ${j.maxAgeMinutes} minutes (or it never succeeded): a backup that does not run is a recovery point that does not exist.`,
          labels: { cronjob: j.cronJob },
          fires: {
            series: [['kube_cronjob_created', { cronjob: j.cronJob }, `${old * 2}x30`], ['kube_cronjob_status_last_successful_time', { cronjob: j.cronJob }, `${old}x30`]],
            labels: {},
            atMinutes: 20,
          },
          quiet: {
            // A run succeeds every minute: the last success is never older than that.
            series: [['kube_cronjob_created', { cronjob: j.cronJob }, `${old * 2}x30`], ['kube_cronjob_status_last_successful_time', { cronjob: j.cronJob }, '0+60x30']],
            atMinutes: 20,
          },
        };
      }),
    ],
  };
}

/** Scaling and capacity: the HPA at its ceiling, the quota, CPU at the limit. */
export function capacityAlerts(c: AlertContext): AlertGroup {
  const { ns } = c;
  const hpa = { horizontalpodautoscaler: 'python-ai' };
  const quota = { resourcequota: 'qingyu-quota', resource: 'requests.cpu' };
  const cpu = { pod: 'python-ai-5f6d-abcde', container: 'python-ai' };
  const rules: AlertRule[] = [
    {
      alert: 'QingyuHpaAtMaximum',
      expr: `kube_horizontalpodautoscaler_status_current_replicas{${ns}} >= kube_horizontalpodautoscaler_spec_max_replicas{${ns}}`,
      for: '15m',
      severity: 'warning',
      summary: 'HPA {{ $labels.horizontalpodautoscaler }} has run at its maximum for 15 minutes',
      description: 'HPA {{ $labels.horizontalpodautoscaler }} runs {{ $value }} replicas, its maxReplicas: load beyond this is not absorbed. Raise maxReplicas (and the quota), or find what drives the load.',
      fires: {
        series: [
          ['kube_horizontalpodautoscaler_status_current_replicas', hpa, '10x30'],
          ['kube_horizontalpodautoscaler_spec_max_replicas', hpa, '10x30'],
        ],
        labels: hpa,
        summary: 'HPA python-ai has run at its maximum for 15 minutes',
        description: 'HPA python-ai runs 10 replicas, its maxReplicas: load beyond this is not absorbed. Raise maxReplicas (and the quota), or find what drives the load.',
      },
      quiet: {
        series: [
          ['kube_horizontalpodautoscaler_status_current_replicas', hpa, '10x10 6x20'],
          ['kube_horizontalpodautoscaler_spec_max_replicas', hpa, '10x30'],
        ],
      },
    },
    {
      alert: 'QingyuResourceQuotaNearLimit',
      expr: `kube_resourcequota{${ns}, type="used"} / ignoring (type) (kube_resourcequota{${ns}, type="hard"} > 0) > 0.9`,
      for: '15m',
      severity: 'warning',
      summary: 'Quota {{ $labels.resourcequota }} is at {{ $value | humanizePercentage }} of its {{ $labels.resource }}',
      description: 'At the quota new pods are refused: the next rollout surge, HPA scale-up or backup Job will not start. Raise the quota (config) or reduce what runs.',
      fires: {
        series: [['kube_resourcequota', { ...quota, type: 'used' }, '19x30'], ['kube_resourcequota', { ...quota, type: 'hard' }, '20x30']],
        labels: quota,
        summary: 'Quota qingyu-quota is at 95% of its requests.cpu',
      },
      quiet: { series: [['kube_resourcequota', { ...quota, type: 'used' }, '12x30'], ['kube_resourcequota', { ...quota, type: 'hard' }, '20x30']] },
    },
    {
      // Every platform process exports process_cpu_seconds_total; the limit comes from KSM.
      alert: 'QingyuCpuNearLimit',
      expr: `sum by (namespace, pod, container) (rate(process_cpu_seconds_total{${ns}}[5m])) `
        + `/ sum by (namespace, pod, container) (kube_pod_container_resource_limits{${ns}, resource="cpu"}) > 0.9`,
      for: '15m',
      severity: 'warning',
      summary: 'Container {{ $labels.container }} of {{ $labels.pod }} uses {{ $value | humanizePercentage }} of its CPU limit',
      description: 'A container at its CPU limit is throttled: requests queue and probes time out. Raise its CPU limit, or add replicas.',
      fires: {
        series: [
          ['process_cpu_seconds_total', { ...target('python-ai', cpu.pod), container: 'python-ai' }, '0+57x40'],
          ['kube_pod_container_resource_limits', { ...cpu, resource: 'cpu', unit: 'core' }, '1x40'],
        ],
        labels: cpu,
        summary: 'Container python-ai of python-ai-5f6d-abcde uses 95% of its CPU limit',
      },
      quiet: {
        series: [
          ['process_cpu_seconds_total', { ...target('python-ai', cpu.pod), container: 'python-ai' }, '0+30x40'],
          ['kube_pod_container_resource_limits', { ...cpu, resource: 'cpu', unit: 'core' }, '1x40'],
        ],
      },
    },
  ];
  if (c.nodeMetrics) {
    const labels = { pod: cpu.pod, container: cpu.container };
    rules.push({
      alert: 'QingyuCpuThrottled',
      expr: `sum by (namespace, pod, container) (rate(container_cpu_cfs_throttled_periods_total{${ns}, container!=""}[5m])) `
        + `/ sum by (namespace, pod, container) (rate(container_cpu_cfs_periods_total{${ns}, container!=""}[5m])) > 0.25`,
      for: '15m',
      severity: 'warning',
      summary: 'Container {{ $labels.container }} of {{ $labels.pod }} is throttled in {{ $value | humanizePercentage }} of its CPU periods',
      description: 'The kernel throttles the container at its CPU limit in more than a quarter of its scheduling periods (cAdvisor): latency rises even below the average limit. Raise its CPU limit.',
      fires: {
        series: [
          ['container_cpu_cfs_throttled_periods_total', labels, '0+30x40'],
          ['container_cpu_cfs_periods_total', labels, '0+100x40'],
        ],
        labels,
        summary: 'Container python-ai of python-ai-5f6d-abcde is throttled in 30% of its CPU periods',
      },
      quiet: {
        series: [
          ['container_cpu_cfs_throttled_periods_total', labels, '0+5x40'],
          ['container_cpu_cfs_periods_total', labels, '0+100x40'],
        ],
      },
    });
  }
  return { name: 'qingyu.capacity', rules };
}
