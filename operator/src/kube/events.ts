/**
 * Kubernetes Events for a resource (what `kubectl describe` shows). Recording is best effort:
 * a failed Event is logged, never fails a reconcile.
 */
import type { Logger } from 'pino';
import { type KubeClient, paths } from './client.js';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; uid: string; resourceVersion?: string };
}

export const COMPONENT = 'chartsync-operator';

export class EventRecorder {
  private readonly client: KubeClient;
  private readonly log: Logger;
  private readonly instance: string;

  constructor(client: KubeClient, log: Logger, instance: string) {
    this.client = client;
    this.log = log;
    this.instance = instance;
  }

  async record(
    target: EventTarget,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    const now = new Date().toISOString();
    const { name, namespace, uid, resourceVersion } = target.metadata;
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { generateName: `${name}.`, namespace },
      involvedObject: {
        apiVersion: target.apiVersion,
        kind: target.kind,
        name,
        namespace,
        uid,
        resourceVersion,
      },
      type,
      reason,
      message: message.slice(0, 1024),
      source: { component: COMPONENT },
      reportingComponent: COMPONENT,
      reportingInstance: this.instance,
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
    };
    try {
      await this.client.create(paths.events(namespace), event);
    } catch (err) {
      this.log.warn({ namespace, name, reason, err: (err as Error).message }, 'could not record event');
    }
  }
}
