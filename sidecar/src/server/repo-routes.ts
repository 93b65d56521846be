/** The `/repo` API of the design: dependency repositories and git repositories. */

import { ApiError } from '@chartsync/api';
import { describeIssues, nameSchema, repoNameSchema } from '@chartsync/api/schemas';
import express, { type Request, Router } from 'express';
import { dependencyRegistration, repoRegistration } from '../registry/registration.js';
import type { SyncService } from '../sync/service.js';

export interface RepoRoutesOptions {
  service: SyncService;
  bodyLimit: string | number;
}

export function repoRoutes({ service, bodyLimit }: RepoRoutesOptions): Router {
  const router = Router();
  router.use(express.json({ limit: bodyLimit }), express.urlencoded({ limit: bodyLimit, extended: false }));

  router.post('/repo/dependency', async (req, res) => {
    res.json(await service.upsertDependency(fromBody(req, dependencyRegistration)));
  });
  router.get('/repo/dependency', (_req, res) => {
    res.json(service.listDependencies());
  });
  // `?repo=R`: the registration scoped to R; without it, the shared one of that name
  router.delete('/repo/dependency/:name', async (req, res) => {
    const name = parseName(req);
    const repo = parseScope(req);
    await service.removeDependency(name, repo);
    res.json({ name, ...(repo ? { repo } : {}), deleted: true });
  });

  router.post('/repo/new', async (req, res) => {
    const input = fromBody(req, (body) => repoRegistration(body, service.policy));
    if (isTrue(req.query.async)) {
      // Registered when answered; the first sync runs on and its result lands in lastSync.
      await service.register(input);
      service.updateInBackground(input.name);
      res.status(202).json(service.getRepo(input.name));
      return;
    }
    res.json(await service.upsertRepo(input));
  });
  router.get('/repo', (_req, res) => {
    res.json(service.listRepos());
  });
  router.get('/repo/:name', (req, res) => {
    res.json(service.getRepo(parseName(req)));
  });
  router.all('/repo/:name/update', async (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'POST') return next();
    const name = parseName(req);
    if (isTrue(req.query.async)) {
      service.getRepo(name);
      service.updateInBackground(name);
      res.status(202).json({ name, accepted: true });
      return;
    }
    res.json(await service.update(name));
  });
  router.delete('/repo/:name', async (req, res) => {
    const name = parseName(req);
    await service.removeRepo(name);
    res.json({ name, deleted: true });
  });
  return router;
}

/** A registration from the request body, through the one registration path. */
function fromBody<T>(req: Request, register: (body: unknown) => T): T {
  const problem = bodyProblem(req);
  if (problem) throw new ApiError('invalid_input', `invalid request body: ${problem}`);
  try {
    return register(normalizeForm((req.body ?? {}) as Record<string, unknown>));
  } catch (err) {
    if (err instanceof ApiError && err.code === 'invalid_input')
      throw new ApiError('invalid_input', `invalid request body: ${err.message}`, {
        cause: err,
        reason: err.reason,
      });
    throw err;
  }
}

const ACCEPTED = ['application/json', 'application/x-www-form-urlencoded'];

/**
 * A body the parsers left unread, or read as something it is not: without this, both answer
 * "name: is required; git: is required" to a caller who sent both. `curl -d '{...}'` sends JSON
 * as a form (its default content type); other types are not parsed at all. Never quotes the body.
 */
function bodyProblem(req: Request): string | undefined {
  const sent = req.get('transfer-encoding') !== undefined || Number(req.get('content-length') ?? 0) > 0;
  if (!sent) return undefined;
  const type = req.get('content-type');
  if (!type || !req.is(ACCEPTED))
    return `content type ${type ? JSON.stringify(type.slice(0, 100)) : '(none)'} is not read: send application/json or application/x-www-form-urlencoded`;
  const keys = Object.keys((req.body ?? {}) as object);
  if (req.is('application/x-www-form-urlencoded') && keys.some((k) => /^\s*[{[]/.test(k)))
    return 'it is JSON sent as a form (Content-Type application/x-www-form-urlencoded, what curl -d sends): send it with Content-Type: application/json';
  return undefined;
}

/** Forms may spell lists `paths[]=a&paths[]=b`. */
function normalizeForm(body: Record<string, unknown>): Record<string, unknown> {
  if (!('paths[]' in body)) return body;
  const { 'paths[]': list, ...rest } = body;
  return { ...rest, paths: list };
}

function parseName(req: Request): string {
  const parsed = nameSchema.safeParse(req.params.name);
  if (!parsed.success)
    throw new ApiError('invalid_input', `invalid name "${req.params.name}": ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** The `repo` query parameter of a dependency route: absent, or one repo name. */
function parseScope(req: Request): string | undefined {
  const value = req.query.repo;
  if (value === undefined) return undefined;
  const parsed = repoNameSchema.safeParse(value);
  if (!parsed.success)
    throw new ApiError('invalid_input', `invalid query parameter repo: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

function isTrue(v: unknown): boolean {
  return typeof v === 'string' && ['true', '1', 'yes'].includes(v.toLowerCase());
}
