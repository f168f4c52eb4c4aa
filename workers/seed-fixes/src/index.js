// The service coordinator with the review's fixes (seed/service-setup-review.md, "Recommended Fixes"), in
// JavaScript: a Worker on Workers KV. This file is workers/baseline/src/index.js plus:
//   Fix #1 handleUnregister and removeWorkerFromService, as the review writes them;
//   Fix #2 the stale cleanup in handleServiceProxy, as the review writes it (one get per listed worker);
//   Fix #3 the coordinator side: a heartbeat's `service_health` is stored in the record and routing skips a
//          worker whose last report says the service is unhealthy (the review only says "store and expose");
//   Fix #4 selectWorker, the inverse-load weighted random, as the review writes it (`w.current_load || 0.5`);
//   Fix #5 the coordinator side: a registration that carries a `fingerprint` gets a stable id from it.
// The agent side of #3 and #5 (probing /health before each heartbeat, sending the fingerprint) is the agent's:
// in rmasim, the `seed-fixes` preset's agent (run with --set coordinator.preset=seed-fixes).
// Where the review leaves a detail out, this file makes the choice the Python `seed-fixes` preset makes
// (rmasim/scenario/policy.py; rmasim/system/coordinator/registry.py, proxy.py, balancers.py, layout.py), marked
// "Python preset:". Where the review's code does something the Python preset does not, the review's code is kept
// and the difference is marked "Differs from the Python preset:" (see docs/conformance.md).
//
// KV layout (keys.py): worker:{id} -> record, worker_ids -> [id], service:{name} -> [id], heartbeat_leader -> id.
// Values are JSON text, except heartbeat_leader, which is the bare id (as the review's put() writes it).

const corsHeaders = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
  'Access-Control-Allow-Headers': 'Content-Type',
};

// Python preset: a worker whose last heartbeat is older than this is listed as offline (offline_after); the
// review's Fix #2 writes the same 90 s in the proxy.
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
  const services = data.services || [];
  let workerId;
  if (data.fingerprint) {
    // Fix #5, the coordinator side ("fingerprint: Use for deduplication"). Python preset (identity:
    // fingerprint): the id is `worker-{fingerprint}`, so a restarted machine overwrites its own record and keeps
    // its index entries; the services its previous record listed and this registration no longer offers are
    // taken out of their indexes (removeWorkerFromService), before anything else is written.
    workerId = `worker-${data.fingerprint}`;
    const previous = await env.WORKERS.get(`worker:${workerId}`, 'json');
    const offered = new Set(services.map((s) => s.name));
    for (const service of (previous && previous.services) || []) {
      if (!offered.has(service.name)) {
        await removeWorkerFromService(env, service.name, workerId);
      }
    }
  } else {
    // A registration without a fingerprint (an agent without Fix #5): a new random id, as before.
    workerId = `worker-${Date.now()}-${Math.random().toString(36).substr(2, 9)}`;
  }
  const now = new Date().toISOString();
  // Python preset: the record's fields (registry.register); times are ISO strings here, seconds there.
  const worker = {
    id: workerId,
    tunnel_url: data.tunnel_url,
    services,
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
  const updated = {
    ...worker,
    status: data.status ?? 'healthy',
    current_load: data.current_load ?? worker.current_load,
    available_memory: data.available_memory ?? worker.available_memory,
    last_heartbeat: new Date().toISOString(),
  };
  // Fix #3, the coordinator side ("Update coordinator to store and expose service health"). Python preset: the
  // report is kept in the record as service name -> status (healthy, degraded, unhealthy), replaced by each
  // heartbeat that carries one; a heartbeat without it leaves the last report.
  if (Array.isArray(data.service_health)) {
    const health = {};
    for (const entry of data.service_health) health[entry.name] = entry.status;
    updated.service_health = health;
  }
  await env.WORKERS.put(`worker:${workerId}`, JSON.stringify(updated));
  return jsonResponse({ status: 'ok' }, corsHeaders);
}

// Fix #1, as the review writes it.
async function handleUnregister(workerId, env, corsHeaders) {
  const workerKey = `worker:${workerId}`;

  // Get worker data to find services
  const workerData = await env.WORKERS.get(workerKey);
  if (workerData) {
    const worker = JSON.parse(workerData);

    // Remove worker from each service index
    for (const service of worker.services || []) {
      await removeWorkerFromService(env, service.name, workerId);
    }
  }

  // Remove worker data
  await env.WORKERS.delete(workerKey);

  // Remove from worker list
  const workerIds = await getWorkerIds(env);
  const filteredIds = workerIds.filter((id) => id !== workerId);
  await env.WORKERS.put('worker_ids', JSON.stringify(filteredIds));

  // Clean up if was heartbeat leader
  const leaderId = await env.WORKERS.get('heartbeat_leader');
  if (leaderId === workerId) {
    await env.WORKERS.delete('heartbeat_leader');
  }

  return jsonResponse({ status: 'ok' }, corsHeaders);
}

async function removeWorkerFromService(env, serviceName, workerId) {
  const serviceKey = `service:${serviceName}`;
  const workersJson = await env.WORKERS.get(serviceKey);
  if (workersJson) {
    const workers = JSON.parse(workersJson);
    const filtered = workers.filter((id) => id !== workerId);

    if (filtered.length > 0) {
      await env.WORKERS.put(serviceKey, JSON.stringify(filtered));
    } else {
      // No more workers for this service, remove key
      await env.WORKERS.delete(serviceKey);
    }
  }
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

// Fix #2, as the review writes it ("Add to service proxy handler"), then Fix #3's filter and Fix #4's choice.
async function handleServiceProxy(path, request, env, corsHeaders) {
  const pathParts = path.split('/').filter(Boolean);
  const serviceName = pathParts[2];
  const rest = path.slice(`/api/service/${serviceName}`.length);
  const serviceKey = `service:${serviceName}`;
  const workersJson = await env.WORKERS.get(serviceKey);

  if (!workersJson) {
    return gracefulFallback(serviceName, env, corsHeaders);
  }

  const workerIds = JSON.parse(workersJson);
  const healthyWorkers = [];
  const staleWorkers = [];
  const now = new Date();

  // Differs from the Python preset: the review reads each record with its own get(), one after the other (the
  // Python preset, like workers/baseline, reads them in bulk gets of up to 100 keys). Each miss is then one KV
  // round trip of its own, and `now` is the time before these reads.
  for (const workerId of workerIds) {
    const workerData = await env.WORKERS.get(`worker:${workerId}`);
    if (!workerData) {
      // Worker deleted but still in service index
      staleWorkers.push(workerId);
      continue;
    }

    const worker = JSON.parse(workerData);
    const ageSeconds = (now - new Date(worker.last_heartbeat)) / 1000;

    if (ageSeconds > 90) {
      staleWorkers.push(workerId);
    } else if (worker.tunnel_url) {
      healthyWorkers.push(worker);
    }
  }

  // Cleanup stale workers from service index
  if (staleWorkers.length > 0) {
    const cleanedWorkers = workerIds.filter((id) => !staleWorkers.includes(id));
    if (cleanedWorkers.length > 0) {
      await env.WORKERS.put(serviceKey, JSON.stringify(cleanedWorkers));
    } else {
      await env.WORKERS.delete(serviceKey);
    }
  }

  // Fix #3, the coordinator side. Python preset (service_health): after the stale cleanup, a worker whose last
  // report says this service is unhealthy is no candidate; one that never reported, or says degraded, is.
  const servingWorkers = healthyWorkers.filter(
    (w) => !(w.service_health && w.service_health[serviceName] === 'unhealthy'),
  );

  if (servingWorkers.length === 0) {
    return gracefulFallback(serviceName, env, corsHeaders);
  }

  const targetWorker = await selectWorker(servingWorkers);

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

// Fix #4, as the review writes it.
async function selectWorker(healthyWorkers) {
  // Weighted random based on inverse load
  // Workers with lower load have higher chance of selection
  // Differs from the Python preset: `|| 0.5` makes a load of 0 (an idle worker, or one that has not sent a
  // heartbeat since it registered) weigh as 0.5; the Python preset's inverse-load weighs it as 0.

  const weights = healthyWorkers.map((w) => {
    const load = w.current_load || 0.5;
    return 1 / (load + 0.1); // Avoid division by zero
  });

  const totalWeight = weights.reduce((a, b) => a + b, 0);
  let random = Math.random() * totalWeight;

  for (let i = 0; i < healthyWorkers.length; i++) {
    random -= weights[i];
    if (random <= 0) {
      return healthyWorkers[i];
    }
  }

  return healthyWorkers[healthyWorkers.length - 1];
}
