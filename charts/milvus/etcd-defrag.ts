import * as kplus from 'cdk8s-plus-27';
import { Construct } from 'constructs';

import { Component } from '../../lib/component';
import { PropError } from '../../lib/errors';
import { container, ImageRef, imageVersion, ownServiceAccount, ResourceSpec, runToCompletionPod, scratchVolume } from '../../lib/pod';
import { EtcdCluster } from './etcd-cluster';

const k8s = kplus.k8s;

export interface EtcdDefragProps {
  readonly etcd: EtcdCluster;
  /** etcd's image: etcdctl is in it. */
  readonly image: ImageRef;
  /** Cron schedule, in `timeZone`: a quiet hour (writes pause for the seconds each member takes). */
  readonly schedule: string;
  readonly timeZone: string;
  readonly resources: ResourceSpec;
}

/**
 * etcd's scheduled defragmentation: revision auto-compaction frees space inside the database
 * file, and only `etcdctl defrag` gives it back, so the database stays below its quota
 * (QingyuEtcdDatabaseNearQuota). `--cluster` defragments every member, one after the other.
 */
export class EtcdDefrag extends Component {
  public readonly cronJob: kplus.k8s.KubeCronJob;

  constructor(scope: Construct, id: string, props: EtcdDefragProps) {
    super(scope, id, { name: `${props.etcd.name}-defrag`, component: 'maintenance', version: imageVersion(props.image) });
    if (props.schedule.trim().split(/\s+/).length !== 5) {
      throw new PropError(`'defragSchedule' must be a five-field cron expression, got '${props.schedule}'`);
    }
    const client = this.connect(props.etcd.endpoint('client'), 'defragmentation');
    // --cluster asks the member list for every member's client URL.
    if (props.etcd.replicas > 1) this.connect(props.etcd.memberEndpoint('client'), 'defragmentation of every member');
    ownServiceAccount(this, this.name);
    this.cronJob = new k8s.KubeCronJob(this, 'cron-job', {
      metadata: { name: this.name },
      spec: {
        schedule: props.schedule,
        timeZone: props.timeZone,
        concurrencyPolicy: 'Forbid',
        startingDeadlineSeconds: 3600,
        successfulJobsHistoryLimit: 1,
        failedJobsHistoryLimit: 3,
        jobTemplate: {
          spec: {
            backoffLimit: 1,
            activeDeadlineSeconds: 1800,
            template: {
              metadata: { labels: this.labels },
              spec: {
                ...runToCompletionPod(this.name, { uid: 65532, gid: 65532 }),
                containers: [container({
                  name: 'defrag',
                  image: props.image,
                  resources: props.resources,
                  // The image is distroless: etcdctl itself, no shell.
                  command: ['/usr/local/bin/etcdctl', `--endpoints=http://${client.address}`, '--command-timeout=300s', 'defrag', '--cluster'],
                  volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
                })],
                volumes: [scratchVolume('tmp', 16)],
              },
            },
          },
        },
      },
    });
  }
}
