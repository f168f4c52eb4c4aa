// The service coordinator as reviewed (seed/service-setup-review.md), in JavaScript: a Worker on Workers KV.
//
// Written from the review's "Current Code" snippets and its description; every flaw it lists is kept:
//   #1 handleUnregister removes the worker from `worker_ids` only, never from the service indexes;
//   #2 nothing removes a worker whose heartbeats stopped (listWorkers only *shows* it offline after 90 s);
//   #3 heartbeat leadership by get-then-put; #4 a new random id at every registration;
//   #5 no per-service health; #8 uniform random choice; #9-#10 no breaker, no timeout of our own.
// Where the review leaves a detail out, this file makes the choice the Python `baseline` preset makes
// (rmasim/system/coordinator/registry.py, views.py, proxy.py, layout.py, keys.py), marked "Python preset:".
// The two are run side by side on the same scenarios; see tests/js/.
//
// KV layout (keys.py): worker:{id} -> record, worker_ids -> [id], service:{name} -> [id], heartbeat_leader -> id.
// Values are JSON text, except heartbeat_leader, which is the bare id (as the review's put() writes it).

const corsHeaders = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
  'Access-Control-Allow-Headers': 'Content-Type',
};

// Python preset: a worker whose last heartbeat is older than this is listed as offline (offline_after).
const OFFLINE_AFTER_SECONDS = 90;
// Workers KV reads at most 100 keys in one bulk get.
const BULK_GET_LIMIT = 100;

export default {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    const path = url.pathname;
    if (request.method === 'OPTIONS') {
      return new Response(null, { headers: corsHeaders });
    }
    try {
      if (path.startsWith('/api/service/')) {
        return await handleServiceProxy(path, request, env, corsHeaders);
      }
      if (request.method === 'POST' && path === '/api/worker/register') {
        return await handleRegister(await readJson(request), env, corsHeaders);
      }
      if (request.method === 'POST' && path === '/api/worker/heartbeat') {
        return await handleHeartbeat(await readJson(request), env, corsHeaders);
      }
      if (request.method === 'POST' && path === '/api/worker/unregister') {
        const data = await readJson(request);
        if (!data.worker_id) return jsonResponse({ error: 'worker_id required' }, corsHeaders, 400);
        return await handleUnregister(data.worker_id, env, corsHeaders);
      }
      if (request.method === 'GET' && path === '/api/workers') {
        return await handleListWorkers(env, corsHeaders);
      }
      if (request.method === 'GET' && path === '/api/admin/services') {
        return await handleAdminServices(env, corsHeaders);
      }
      return jsonResponse({ error: 'not found' }, corsHeaders, 404);
    } catch (error) {
      // A failed KV call (429: same key written within a second; 503: unavailable) ends here. Python preset:
      // the same 500 (an uncaught KV failure fails the invocation).
      return jsonResponse({ error: error.message }, corsHeaders, 500);
    }
  },
};

function jsonResponse(data, headers, status = 200) {
  return new Response(JSON.stringify(data), {
    status,
    headers: { ...headers, 'Content-Type': 'application/json' },
  });
}

async function readJson(request) {
  const text = await request.text();
  return text ? JSON.parse(text) : {};
}

async function getWorkerIds(env) {
  return (await env.WORKERS.get('worker_ids', 'json')) || [];
}

async function getHeartbeatLeader(env) {
  return env.WORKERS.get('heartbeat_leader');
}

// Python preset: records are read with bulk gets (layout.read_many), at most 100 keys each.
async function getRecords(env, ids) {
  const records = [];
  for (let start = 0; start < ids.length; start += BULK_GET_LIMIT) {
    const keys = ids.slice(start, start + BULK_GET_LIMIT).map((id) => `worker:${id}`);
    const values = await env.WORKERS.get(keys, 'json');
    for (const key of keys) records.push(values.get(key));
  }
  return records;
}

// Read-modify-write append (SharedLists._append): the list as this edge reads it (maybe a stale cached copy),
// plus the id. Python preset: no write when the id is already listed.
async function appendToList(env, key, id) {
  const current = (await env.WORKERS.get(key, 'json')) || [];
  if (!current.includes(id)) {
    await env.WORKERS.put(key, JSON.stringify([...current, id]));
  }
}

async function handleRegister(data, env, corsHeaders) {
  const workerId = `worker-${Date.now()}-${Math.random().toString(36).substr(2, 9)}`;
  // Always creates new ID (flaw #4)
  const now = new Date().toISOString();
  // Python preset: the record's fields (registry.register); times are ISO strings here, seconds there.
  const worker = {
    id: workerId,
    tunnel_url: data.tunnel_url,
    services: data.services || [],
    capabilities: data.capabilities || {},
    status: 'healthy',
    current_load: 0,
    available_memory: data.available_memory,
    last_heartbeat: now,
    registered_at: now,
    is_heartbeat_leader: false,
  };

  if (data.wants_heartbeat_leadership) {
    const currentLeader = await getHeartbeatLeader(env);
    if (!currentLeader) {
      //  Race: Another worker might pass this check simultaneously (flaw #3)
      worker.is_heartbeat_leader = true;
      await env.WORKERS.put('heartbeat_leader', workerId);
    }
  }

  // Python preset: the record first, then worker_ids, then each service index, in the order of `services`.
  await env.WORKERS.put(`worker:${workerId}`, JSON.stringify(worker));
  await appendToList(env, 'worker_ids', workerId);
  for (const service of worker.services) {
    await appendToList(env, `service:${service.name}`, workerId);
  }
  return jsonResponse({ worker_id: workerId, is_heartbeat_leader: worker.is_heartbeat_leader }, corsHeaders);
}

async function handleHeartbeat(data, env, corsHeaders) {
  const workerId = data.worker_id;
  if (!workerId) return jsonResponse({ error: 'worker_id required' }, corsHeaders, 400);
  const workerData = await env.WORKERS.get(`worker:${workerId}`);
  if (!workerData) return jsonResponse({ error: 'worker not found' }, corsHeaders, 404);
  const worker = JSON.parse(workerData);
  // The heartbeat carries status, load and memory (review issue #5); nothing per service is kept (flaw #5).
  const updated = {
    ...worker,
    status: data.status ?? 'healthy',
    current_load: data.current_load ?? worker.current_load,
    available_memory: data.available_memory ?? worker.available_memory,
    last_heartbeat: new Date().toISOString(),
  };
  await env.WORKERS.put(`worker:${workerId}`, JSON.stringify(updated));
  return jsonResponse({ status: 'ok' }, corsHeaders);
}

async function handleUnregister(workerId, env, corsHeaders) {
  await env.WORKERS.delete(`worker:${workerId}`);

  // Remove from worker list
  const workerIds = await getWorkerIds(env);
  const filteredIds = workerIds.filter((id) => id !== workerId);
  await env.WORKERS.put('worker_ids', JSON.stringify(filteredIds));

  //  MISSING: Remove from service registry! (flaw #1)
  return jsonResponse({ status: 'ok' }, corsHeaders);
}

async function handleListWorkers(env, corsHeaders) {
  const workerIds = await getWorkerIds(env);
  const records = await getRecords(env, workerIds);
  const now = new Date();
  const workers = [];
  for (const worker of records) {
    if (!worker) continue;
    const ageSeconds = (now - new Date(worker.last_heartbeat)) / 1000;
    // Workers marked offline after 90s, but service registry unchanged (flaw #2)
    workers.push({
      ...worker,
      status: ageSeconds > OFFLINE_AFTER_SECONDS ? 'offline' : worker.status,
    });
  }
  return jsonResponse({ workers }, corsHeaders);
}

// Python preset: the indexes are found by listing `service:` (every page) and read in bulk; dead ids included.
async function handleAdminServices(env, corsHeaders) {
  const keys = [];
  let cursor;
  do {
    const page = await env.WORKERS.list({ prefix: 'service:', cursor });
    keys.push(...page.keys.map((k) => k.name));
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor);
  const services = {};
  for (let start = 0; start < keys.length; start += BULK_GET_LIMIT) {
    const chunk = keys.slice(start, start + BULK_GET_LIMIT);
    const values = await env.WORKERS.get(chunk, 'json');
    for (const key of chunk) {
      const ids = values.get(key);
      if (ids && ids.length) services[key.slice('service:'.length)] = ids;
    }
  }
  return jsonResponse({ services }, corsHeaders);
}

// Python preset (proxy.unavailable): the 503 says why, so the request's outcome is classified as no provider.
function gracefulFallback(serviceName, env, corsHeaders) {
  return jsonResponse({ error: `service ${serviceName} unavailable`, reason: 'no_provider' }, corsHeaders, 503);
}

async function handleServiceProxy(path, request, env, corsHeaders) {
  const pathParts = path.split('/').filter(Boolean);
  const serviceName = pathParts[2];
  const rest = path.slice(`/api/service/${serviceName}`.length);
  const workersJson = await env.WORKERS.get(`service:${serviceName}`);
  if (!workersJson) {
    return gracefulFallback(serviceName, env, corsHeaders);
  }
  const workerIds = JSON.parse(workersJson);
  if (!workerIds.length) {
    return gracefulFallback(serviceName, env, corsHeaders);
  }

  // Python preset: a candidate is a record that exists, whose *stored* status is healthy and which has a
  // tunnel URL; no heartbeat age check (flaw #2), no per-service health (flaw #5).
  const records = await getRecords(env, workerIds);
  const healthyWorkers = records.filter((w) => w && w.status === 'healthy' && w.tunnel_url);
  if (healthyWorkers.length === 0) {
    return gracefulFallback(serviceName, env, corsHeaders);
  }

  const targetWorker = healthyWorkers[Math.floor(Math.random() * healthyWorkers.length)];

  // Python preset: forwarded once, body as received, no timeout of our own (the platform's limit applies);
  // a connection failure is a 502, a timeout a 504.
  const url = new URL(request.url);
  const target = `${targetWorker.tunnel_url}/${serviceName}${rest}${url.search}`;
  let response;
  try {
    response = await fetch(target, {
      method: request.method,
      body: request.method === 'GET' || request.method === 'HEAD' ? undefined : request.body,
    });
  } catch (error) {
    if (error.name === 'TimeoutError') {
      return jsonResponse({ error: 'worker timed out', worker_id: targetWorker.id }, corsHeaders, 504);
    }
    return jsonResponse({ error: 'worker unreachable', worker_id: targetWorker.id }, corsHeaders, 502);
  }
  return new Response(response.body, {
    status: response.status,
    headers: { ...corsHeaders, 'Content-Type': response.headers.get('Content-Type') || 'application/json' },
  });
}
