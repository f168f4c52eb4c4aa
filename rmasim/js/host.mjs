// rmasim's Worker host: runs a Cloudflare Worker module in simulated time, in lockstep with the Python runtime.
//
// Model (DESIGN.md section 10, issue 12). One Node.js process serves one simulation run. Each coordinator edge
// gets its own `node:vm` context (an *isolate*: the module is evaluated once per context, so module-level state
// lives as long as the edge). Everything a Worker could use to reach the outside world, or to observe time or
// entropy, is replaced inside the context by an operation that the simulator answers:
//
//   env.<KV binding>   get / get([keys]) / getWithMetadata / put / delete / list  -> one KV operation each
//   fetch()            one HTTP operation; a real `Response` comes back (AbortSignal.timeout() = its timeout)
//   setTimeout()       one Sleep operation in simulated time (setInterval: one per period)
//   Date, performance  the edge clock as received with the latest message; frozen between two I/O operations,
//                      as deployed Workers do ("timers only advance after I/O occurs", Workers docs:
//                      runtime-apis/performance)
//   Math.random, crypto.getRandomValues, crypto.randomUUID
//                      floats of the edge's named random stream, sent by Python with each message
//   console.*          lines returned with the next reply; Python turns each into a Trace operation
//   ctx.waitUntil()    work that keeps the invocation alive after its response (see "completion" below)
//
// `process`, `require`, `Buffer`, `setImmediate`, real timers and real network are absent from the context (a
// ReferenceError names them); `eval`/`new Function` are refused ("Code generation from strings disallowed", as in
// Workers); `caches` throws an error naming the Cache API; WeakRef and FinalizationRegistry are removed (garbage
// collection timing would leak into the run). I/O, timers and random values at module top level throw the
// error Workers gives ("Disallowed operation called within global scope ...").
//
// Why vm.SourceTextModule (behind --experimental-vm-modules since Node 9.6, so on every Node >= 18 we support):
// it evaluates the Worker's real ES module syntax (`export default {...}`, relative `import`s of its own files)
// in a context of our own, without rewriting the source; a vm.Script per context would need a transform of
// `import`/`export`. Syntax errors are located with `node --check --input-type=module` on the source, because
// SourceTextModule's SyntaxError carries no position.
//
// Lockstep protocol (line-delimited JSON on stdin/stdout). Python sends one message and waits for exactly one
// reply. The host applies the message (start an invocation, or settle the operation the invocation has in
// flight), then drains the JavaScript job queue (setImmediate turns until nothing moves), then answers with the
// invocation's next operation request or its completion. An invocation has at most one operation in flight:
// operations issued together (Promise.all) are answered one after another, in issue order. The simulator thus
// decides every interleaving and a run is deterministic.
//
//   Python -> host: {"t": "load", "main", "kv": [names], "vars": {...}}
//                   {"t": "fetch", "inv", "iso", "now", "rand", "req": {"method", "url", "headers", "body"}}
//                   {"t": "scheduled", "inv", "iso", "now", "rand", "cron", "time"}
//                   {"t": "result", "inv", "now", "rand", "value"} | {"t": "fail", "inv", "now", "rand", "error"}
//                   {"t": "next", "inv", "now", "rand"} (go on after a "respond")
//                   {"t": "cancel", "inv", "now", "rand", "responded"} (past the platform's time limit: end it)
//   host -> Python: {"t": "loaded"} | {"t": "error", "kind": "syntax" | "load", "file", "line", "col", "message"}
//                   {"t": "op", "inv", "op": {"k": ...}, "used", "logs"}
//                   {"t": "done", "inv", "status", "body", "used", "logs"} | {"t": "done", "inv", "error", ...}
//                   {"t": "respond", ...as "done"} (the response is ready, ctx.waitUntil() work goes on)
//                   {"t": "fatal", "message"} (a bug of the host; Python fails the run)
//
// "now" is the edge clock in milliseconds; "rand" tops up the isolate's buffer of uniform floats and "used"
// says how many the drain consumed. Completion: when the handler's promise settles and no ctx.waitUntil()
// promise is pending, the invocation is done (operations it issued without awaiting are cancelled, as Workers
// cancels a request's outstanding I/O). When the handler settles while ctx.waitUntil() work is pending, the reply
// is "respond" (Python answers the caller at once) and the invocation goes on until that work ends. An invocation
// with nothing in flight, nothing to issue and no settled handler can never finish: it ends with Workers'
// error "The script will never generate a response." (a 500).

import vm from 'node:vm';
import { AsyncLocalStorage } from 'node:async_hooks';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inspect } from 'node:util';

const MAX_DRAIN_TURNS = 1000;
const NEVER_RESPONDS = 'The script will never generate a response.';
const NEVER_RESPONDS_HUNG = "The Workers runtime canceled this request because it detected that your Worker's code "
  + 'had hung and would never generate a response.';
const WAIT_UNTIL_CANCELLED = 'waitUntil() tasks did not complete within the allowed time after invocation end and '
  + 'have been cancelled.';

const als = new AsyncLocalStorage();
let clockMs = 0; // the edge clock of the message being served (ms)
let activity = 0; // bumped by every event the drain must wait out
let worker = null; // {main, kv, vars, sources: Map<file, text>}
let current = null; // the isolate whose code the current message runs
let logs = []; // console lines since the last reply: [level, text]
const isolates = new Map();
const invocations = new Map();
const timeouts = new WeakMap(); // AbortSignal -> seconds (AbortSignal.timeout / AbortSignal.any)
const bodies = new WeakMap(); // Response made with a string body -> that string
const sources = new WeakMap(); // the platform stream made for a string body (a Response's `body`) -> that string
const encoder = new TextEncoder();
const identity = (value) => value;
const rethrow = (error) => { throw error; };
let readTurns = null; // 'method:started:ok' -> turns before a fast read settles (calibrate()); null: none

// --- the bridge: what the code inside a context may call in the host ------------------------------------------

const bridge = Object.freeze({
  inRequest: () => als.getStore() !== undefined,
  now: () => clockMs,
  random() {
    const iso = current;
    if (iso === null || iso.rand.length === 0) {
      throw new Error('rmasim: more random values drawn between two I/O operations than the host buffers; '
        + 'draw fewer at a time');
    }
    iso.used += 1;
    return iso.rand.pop();
  },
  issue(op, onValue, onError) {
    const inv = als.getStore();
    if (inv === undefined || inv.finished) return null; // a finished invocation's I/O never settles
    const entry = { op, onValue, onError, inv };
    inv.queue.push(entry);
    activity += 1;
    return entry;
  },
  cancel(entry) {
    if (entry === null) return;
    const queue = entry.inv.queue;
    const at = queue.indexOf(entry);
    if (at >= 0) queue.splice(at, 1);
    entry.cancelled = true;
  },
  waitUntil(promise) {
    const inv = als.getStore();
    if (inv === undefined) throw new Error(NEVER_RESPONDS);
    inv.waits += 1;
    Promise.resolve(promise).then(
      () => { inv.waits -= 1; activity += 1; },
      (error) => { inv.waits -= 1; activity += 1; logs.push(['error', `Uncaught (in waitUntil) ${describe(error)}`]); },
    );
  },
  log(level, args) { logs.push([level, args.map((a) => (typeof a === 'string' ? a : inspect(a))).join(' ')]); },
  rememberBody(response, text) { bodies.set(response, text); },
  rememberStream(stream, text) { sources.set(stream, text); },
  get fastReads() { return readTurns !== null; },
  later(method, started, ok, value) { return settleAfter(readTurns[`${method}:${started}:${ok}`], ok, value); },
  typeError: (message) => new TypeError(message),
  parseJson: (text) => JSON.parse(text),
  utf8: (text) => encoder.encode(text),
  readable: (text) => readable(text),
  tagTimeout(signal, seconds) { timeouts.set(signal, seconds); return signal; },
  timeoutOf(signal) { return signal === undefined || signal === null ? null : (timeouts.get(signal) ?? null); },
  digest(algorithm, bytes) {
    const names = { 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512', MD5: 'md5' };
    const name = names[String(algorithm?.name ?? algorithm).toUpperCase()];
    if (name === undefined) throw new Error(`rmasim: crypto.subtle.digest(${algorithm}) is not supported`);
    return createHash(name).update(bytes).digest();
  },
});

// A promise of this realm (as undici's are) settled with `value` after `turns` microtask turns.
function settleAfter(turns, ok, value) {
  let promise = ok ? Promise.resolve(value) : Promise.reject(value);
  for (let turn = 0; turn < turns; turn += 1) promise = promise.then(identity, rethrow);
  return promise;
}

// Microtask turns until the promise `start()` returns settles.
async function turnsOf(start) {
  let settled = false;
  start().then(() => { settled = true; }, () => { settled = true; });
  let turns = 0;
  while (!settled) {
    await null;
    turns += 1;
    if (turns > 100) throw new Error('rmasim: a body read that does not settle');
  }
  return turns;
}

// How many turns the platform's reads of a string body take (a Response made in the current turn, whose stream
// has not started yet, or an older one; a JSON body that parses or not), and the settleAfter() of each.
async function calibrate() {
  const methods = ['text', 'json', 'arrayBuffer', ...(typeof Response.prototype.bytes === 'function' ? ['bytes'] : [])];
  const turns = {};
  for (const method of methods) {
    for (const ok of method === 'json' ? [true, false] : [true]) {
      const text = ok ? '{"a":1}' : '{';
      for (const started of [false, true]) {
        let response = null;
        if (started) {
          response = new Response(text);
          await null;
        }
        const target = await turnsOf(() => (response ?? new Response(text))[method]());
        let found = null;
        for (let n = 0; n <= 50 && found === null; n += 1) {
          if (await turnsOf(() => settleAfter(n, ok, 0)) === target) found = n;
        }
        if (found === null) return null; // never on the Node versions we know: read through the platform
        turns[`${method}:${started}:${ok}`] = found;
      }
    }
  }
  return turns;
}

// The platform objects a Worker sees (Node's own implementations of the web standards).
const PLATFORM = Object.freeze({
  Request, Response, Headers, URL, URLSearchParams, TextEncoder, TextDecoder, AbortController, AbortSignal,
  DOMException, Blob, FormData, ReadableStream, WritableStream, TransformStream, Event, EventTarget,
  structuredClone, atob, btoa, queueMicrotask,
});

// --- inside each context ------------------------------------------------------------------------------------------
// This function is evaluated *in* the context (its source is re-parsed there), so every object it makes belongs
// to the Worker's realm. It must not refer to anything of this module.

function installWorkerGlobals(bridge, platform, settings) {
  'use strict';
  const g = globalThis;
  const GLOBAL_SCOPE = 'Disallowed operation called within global scope. Asynchronous I/O (ex: fetch() or '
    + 'connect()), setting a timeout, and generating random values are not allowed within global scope. To fix '
    + 'this error, perform this operation within a handler.';
  const STATUS_TEXT = { 400: 'Bad Request', 404: 'Not Found', 429: 'Too Many Requests', 500: 'Internal Server Error',
    503: 'Service Unavailable' };
  const VERB = { get: 'GET', get_meta: 'GET', get_many: 'GET_BULK', get_many_meta: 'GET_BULK', put: 'PUT',
    delete: 'DELETE', list: 'LIST' };
  const NULL_BODY = new Set([101, 204, 205, 304]);
  const encoder = new platform.TextEncoder();

  function inHandler() {
    if (!bridge.inRequest()) throw new Error(GLOBAL_SCOPE);
  }

  function failure(error, request) {
    if (error.kind === 'kv') {
      // An invalid request (400) says why, in the store's words (e.g. an expiration less than 60 s ahead).
      const reason = error.detail ?? STATUS_TEXT[error.status] ?? '';
      return new Error(`KV ${VERB[request.k]} failed: ${error.status} ${reason}`.trim());
    }
    if (error.kind === 'connect') return new TypeError('Network connection lost.');
    if (error.kind === 'timeout') {
      return new platform.DOMException('The operation was aborted due to timeout', 'TimeoutError');
    }
    return new Error(String(error.message ?? 'rmasim: operation failed'));
  }

  // One operation: a promise settled when Python answers it.
  function operation(request, decode) {
    inHandler();
    return new Promise((resolve, reject) => {
      bridge.issue(request, (value) => {
        try { resolve(decode(value)); } catch (error) { reject(error); }
      }, (error) => reject(failure(error, request)));
    });
  }

  // --- values: KV stores JSON values and strings. A string put() that is JSON and reads back identically
  // (JSON.stringify(JSON.parse(s)) === s) travels as JSON, so the registry checkers see objects and lists as the
  // Python coordinator writes them; any other string travels as text. Reads give back the exact string written.
  function encodeValue(value) {
    if (typeof value !== 'string') {
      if (value instanceof ArrayBuffer || ArrayBuffer.isView(value) || value instanceof platform.ReadableStream) {
        throw new TypeError('rmasim: KV put() of an ArrayBuffer or ReadableStream is not modelled yet; '
          + 'store a string');
      }
      throw new TypeError('KV put() accepts only strings, ArrayBuffers, ArrayBufferViews, and ReadableStreams '
        + 'as values.');
    }
    try {
      const parsed = JSON.parse(value);
      if (parsed !== null && typeof parsed !== 'string' && JSON.stringify(parsed) === value) return { json: value };
    } catch { /* not JSON: text */ }
    return { text: value };
  }

  // A read's value: null, {text} (a string), {parsed} (the object or array a Worker wrote, parsed with the
  // message: JSON.stringify gives back the text written) or {json} (JSON text the world wrote).
  function textOf(stored) {
    if (stored.text !== undefined) return stored.text;
    return JSON.stringify(stored.parsed !== undefined ? stored.parsed : JSON.parse(stored.json));
  }

  function decodeValue(stored, type) {
    if (stored === null) return null;
    switch (type) {
      case 'text': return textOf(stored);
      case 'json':
        if (stored.parsed !== undefined) return stored.parsed;
        return JSON.parse(stored.json !== undefined ? stored.json : stored.text);
      case 'arrayBuffer': return encoder.encode(textOf(stored)).buffer;
      case 'stream': return new platform.Response(textOf(stored)).body;
      default: throw new TypeError(`Unknown response type. Possible types are "text", "arrayBuffer", "json", and `
        + `"stream".`);
    }
  }

  function typeOf(options) {
    const type = typeof options === 'string' ? options : (options?.type ?? 'text');
    if (!['text', 'json', 'arrayBuffer', 'stream'].includes(type)) decodeValue({ text: '' }, type);
    const ttl = typeof options === 'object' && options !== null ? options.cacheTtl : undefined;
    if (ttl !== undefined && !(Number(ttl) >= 30)) {
      throw new Error(`KV GET failed: 400 Invalid cache_ttl of ${ttl}. Cache TTL must be at least 30.`);
    }
    return type;
  }

  function checkKey(key, verb) {
    if (typeof key !== 'string') key = String(key);
    if (key === '' || key === '.' || key === '..') throw new TypeError(`KV ${verb} failed: 400 Invalid key name.`);
    if (key.length <= 170) return key; // at most 3 UTF-8 bytes per UTF-16 unit: within 512 bytes
    const bytes = encoder.encode(key).length;
    if (bytes > 512) {
      throw new TypeError(`KV ${verb} failed: 414 UTF-8 encoded length of ${bytes} exceeds key length limit of 512.`);
    }
    return key;
  }

  class KVNamespace {
    #name;
    constructor(name) { this.#name = name; }

    get(key, options) {
      const type = typeOf(options);
      if (Array.isArray(key)) return this.#bulk(key, type, false);
      key = checkKey(key, 'GET');
      return operation({ k: 'get', key, type }, (stored) => decodeValue(stored, type));
    }

    getWithMetadata(key, options) {
      const type = typeOf(options);
      if (Array.isArray(key)) return this.#bulk(key, type, true);
      key = checkKey(key, 'GET');
      // One read: the value and the metadata written with it (null when none), {v, m} from the store.
      return operation({ k: 'get_meta', key, type }, (answer) => ({
        value: decodeValue(answer.v, type), metadata: answer.m ?? null, cacheStatus: null,
      }));
    }

    #bulk(keys, type, withMetadata) {
      if (type !== 'text' && type !== 'json') {
        throw new TypeError(`KV GET_BULK failed: 400 "${type}" is not a valid type. Use "json" or "text"`);
      }
      if (keys.length > 100) throw new TypeError('KV GET_BULK failed: 400 You can request a maximum of 100 keys');
      keys = keys.map((key) => checkKey(key, 'GET_BULK'));
      if (withMetadata) {
        return operation({ k: 'get_many_meta', keys }, (answer) => {
          const out = new Map();
          keys.forEach((key, i) => {
            out.set(key, { value: decodeValue(answer.v[i], type), metadata: answer.m[i] ?? null });
          });
          return out;
        });
      }
      return operation({ k: 'get_many', keys }, (values) => {
        const out = new Map();
        keys.forEach((key, i) => out.set(key, decodeValue(values[i], type)));
        return out;
      });
    }

    put(key, value, options) {
      key = checkKey(key, 'PUT');
      const { expiration, expirationTtl, metadata } = options ?? {};
      if (expirationTtl !== undefined && !(Number(expirationTtl) >= 60)) {
        throw new Error(`KV PUT failed: 400 Invalid expiration_ttl of ${expirationTtl}. Expiration TTL must be at `
          + 'least 60.');
      }
      if (metadata !== undefined && metadata !== null
          && encoder.encode(JSON.stringify(metadata)).length > 1024) {
        throw new Error('KV PUT failed: 413 Metadata length exceeds limit of 1024');
      }
      // Only the options given travel (a plain put stays three fields). `expiration` is absolute seconds since the
      // epoch, checked by the store at the write's simulated time (less than 60 s ahead: a 400, as Workers throws);
      // expirationTtl counts from then. Metadata null is no metadata.
      const request = { k: 'put', key, ...encodeValue(value) };
      if (expiration !== undefined && expiration !== null) request.expiration = Number(expiration);
      if (expirationTtl !== undefined && expirationTtl !== null) request.expirationTtl = Number(expirationTtl);
      if (metadata !== undefined && metadata !== null) request.metadata = JSON.parse(JSON.stringify(metadata));
      return operation(request, () => undefined);
    }

    delete(key) {
      key = checkKey(key, 'DELETE');
      return operation({ k: 'delete', key }, () => undefined);
    }

    list(options) {
      const { prefix = null, limit = 1000, cursor = null } = options ?? {};
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
        throw new Error(`KV LIST failed: 400 Invalid key_count_limit of ${limit}. Please specify an integer between `
          + '1-1000.');
      }
      // The store answers one page (the world's list page); a smaller `limit` is cut here and resumes after the
      // last key returned (the world's cursor is the last key of a page).
      // Each key is {name}, plus `expiration` and `metadata` when it has them (Workers omits them otherwise).
      return operation({ k: 'list', prefix: prefix ?? '', cursor }, (page) => {
        const names = Array.from(page.keys);
        const all = names.map((name) => ({ name }));
        for (const [i, expiration, metadata] of page.info ?? []) {
          if (expiration !== null) all[i].expiration = expiration;
          if (metadata !== null) all[i].metadata = metadata;
        }
        const keys = all.slice(0, limit);
        const cut = names.length > limit;
        const more = cut || page.cursor !== null;
        const out = { keys, list_complete: !more, cacheStatus: null };
        if (more) out.cursor = cut ? keys[keys.length - 1].name : page.cursor;
        return out;
      });
    }
  }

  // --- fetch: one HTTP operation; the simulated network decides what comes back.
  function decodeResponse(answer) {
    const isJson = answer.body !== null && answer.body.json !== undefined;
    const body = answer.body === null || NULL_BODY.has(answer.status) ? null : textOf(answer.body);
    return new Response(body, {
      status: answer.status,
      headers: isJson ? { 'content-type': 'application/json' } : {},
    });
  }

  const NORMALIZED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);

  // What fetch(input, init) sends, without building a Request for the common case (a URL and a string body or
  // none): undici's Request is costly, and a Worker proxying every request makes one per request.
  function plainRequest(input, init) {
    const body = init?.body ?? null;
    if (input instanceof platform.Request || (body !== null && typeof body !== 'string')) return null;
    const url = new platform.URL(String(input));
    const given = init?.method === undefined ? 'GET' : String(init.method);
    const method = NORMALIZED_METHODS.has(given.toUpperCase()) ? given.toUpperCase() : given;
    if (body !== null && (method === 'GET' || method === 'HEAD')) {
      throw new TypeError('Request with GET/HEAD method cannot have body.');
    }
    const headers = new platform.Headers(init?.headers);
    if (body !== null && !headers.has('content-type')) headers.set('content-type', 'text/plain;charset=UTF-8');
    return { url, method, headers: [...headers], body, signal: init?.signal };
  }

  async function fullRequest(input, init) {
    if (init?.body instanceof platform.ReadableStream && init.duplex === undefined) {
      init = { ...init, duplex: 'half' }; // Workers streams a body without being asked; Node wants it said
    }
    const request = new platform.Request(input, init);
    const signal = init?.signal ?? (input instanceof platform.Request ? input.signal : undefined);
    const body = request.body === null ? null : await request.text();
    return { url: new platform.URL(request.url), method: request.method, headers: [...request.headers], body, signal };
  }

  g.fetch = function fetch(input, init = undefined) {
    inHandler();
    input = realRequest(input);
    return (async () => {
      const request = plainRequest(input, init) ?? (await fullRequest(input, init));
      const { url, signal } = request;
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new TypeError(`Fetch API cannot load: ${url.href}`);
      }
      if (signal?.aborted) throw signal.reason;
      return operation({
        k: 'fetch',
        url: url.origin,
        method: request.method,
        path: url.pathname + url.search,
        headers: request.headers,
        body: request.body,
        timeout: bridge.timeoutOf(signal),
      }, decodeResponse);
    })();
  };

  const RealAbortSignal = platform.AbortSignal;
  const abortStatics = {
    timeout(ms) {
      inHandler();
      return bridge.tagTimeout(new platform.AbortController().signal, Math.max(0, Number(ms)) / 1000);
    },
    any(signals) {
      if (typeof RealAbortSignal.any !== 'function') {
        throw new TypeError('AbortSignal.any() needs Node.js >= 20.3 to run in rmasim');
      }
      const list = Array.from(signals);
      const combined = RealAbortSignal.any(list);
      const limits = list.map((s) => bridge.timeoutOf(s)).filter((t) => t !== null);
      return limits.length ? bridge.tagTimeout(combined, Math.min(...limits)) : combined;
    },
  };
  const SimAbortSignal = new Proxy(RealAbortSignal, {
    get(target, prop, receiver) {
      return Object.hasOwn(abortStatics, prop) ? abortStatics[prop] : Reflect.get(target, prop, receiver);
    },
  });

  // --- timers: each period is a Sleep operation.
  const timers = new Map();
  let nextTimer = 1;
  function arm(id, seconds, fire) {
    timers.set(id, bridge.issue({ k: 'sleep', seconds }, () => {
      if (timers.has(id)) fire();
    }, () => {}));
  }
  function delayOf(ms) { return Math.max(0, Number(ms) || 0) / 1000; }
  g.setTimeout = function setTimeout(callback, ms = 0, ...args) {
    inHandler();
    if (typeof callback !== 'function') throw new TypeError('setTimeout: the callback must be a function');
    const id = nextTimer++;
    arm(id, delayOf(ms), () => { timers.delete(id); callback(...args); });
    return id;
  };
  g.setInterval = function setInterval(callback, ms = 0, ...args) {
    inHandler();
    if (typeof callback !== 'function') throw new TypeError('setInterval: the callback must be a function');
    const id = nextTimer++;
    const tick = () => { arm(id, delayOf(ms), tick); callback(...args); };
    arm(id, delayOf(ms), tick);
    return id;
  };
  g.clearTimeout = g.clearInterval = function clearTimeout(id) {
    const entry = timers.get(id);
    if (entry !== undefined) {
      timers.delete(id);
      bridge.cancel(entry);
    }
  };

  // --- time: the edge clock, frozen between I/O.
  const RealDate = Date;
  const nowMs = () => Math.floor(bridge.now());
  const SimDate = new Proxy(RealDate, {
    construct(target, args, newTarget) {
      return Reflect.construct(target, args.length === 0 ? [nowMs()] : args, newTarget);
    },
    apply() { return new RealDate(nowMs()).toString(); },
  });
  RealDate.now = function now() { return nowMs(); };
  Object.defineProperty(RealDate.prototype, 'constructor', { value: SimDate, writable: true, configurable: true });
  g.Date = SimDate;
  g.performance = Object.freeze({ timeOrigin: 0, now: () => bridge.now() });

  // --- entropy: the edge's random stream.
  Math.random = function random() {
    inHandler();
    return bridge.random();
  };
  function getRandomValues(array) {
    inHandler();
    if (!ArrayBuffer.isView(array) || array instanceof Float32Array || array instanceof Float64Array
      || array instanceof DataView) {
      throw new platform.DOMException('The data argument must be an integer-type TypedArray', 'TypeMismatchError');
    }
    if (array.byteLength > 65536) {
      throw new platform.DOMException('The data argument must be at most 65536 bytes', 'QuotaExceededError');
    }
    const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    for (let i = 0; i < bytes.length; i += 4) {
      const word = Math.floor(bridge.random() * 4294967296);
      for (let j = 0; j < 4 && i + j < bytes.length; j += 1) bytes[i + j] = (word >>> (8 * j)) & 255;
    }
    return array;
  }
  function randomUUID() {
    const b = getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }
  const subtle = new Proxy(Object.freeze({
    digest(algorithm, data) {
      const view = data instanceof ArrayBuffer ? new Uint8Array(data)
        : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      const digest = bridge.digest(algorithm, view);
      const out = new ArrayBuffer(digest.length);
      new Uint8Array(out).set(digest);
      return Promise.resolve(out);
    },
  }), {
    get(target, prop) {
      if (prop in target) return target[prop];
      throw new Error(`rmasim: crypto.subtle.${String(prop)}() is not available in the simulated Worker`);
    },
  });
  g.crypto = Object.freeze({ getRandomValues, randomUUID, subtle });

  // --- Response: the platform's, with a string body kept as the string until something needs its stream.
  // Making a web stream costs more than the rest of a Response (Node 20: ~4 us of ~5), and most string bodies are
  // never streamed: the host sends the text of the Response a handler returns, and a Worker reads a fetched
  // answer with text() or json(). So `new Response(string, init)` builds the platform's Response with no body
  // (the same status, headers and checks, in the same order) and keeps the string; text(), json(),
  // arrayBuffer() and bytes() answer from it, with the platform's values (UTF-8 decoding drops a leading BOM,
  // lone surrogates become U+FFFD; objects, buffers, errors and promises of the host's realm, as undici's are)
  // after as many microtask turns as the platform's (measured when the host starts: bridge.later); `body`,
  // blob(), formData() and clone() make the platform's body then and defer to it. A body read through this
  // class reads as spent everywhere (bodyUsed, body, a second read, clone()) with the platform's errors.
  const lazy = new WeakMap(); // Response -> {text, used, started, real: the platform Response holding the body}
  const readable = bridge.readable;

  // The platform Response that holds the body from now on (spent when the string was read already).
  function realBody(state, response) {
    if (state.real === null) {
      const real = new platform.Response(state.text);
      bridge.rememberStream(real.body, state.text);
      if (state.used) real.text(); // a body read already: the stream is locked and disturbed, as after a read
      state.real = real;
    }
    return state.real;
  }

  // The platform's body, with this Response's content type now (blob() and formData() read it).
  function typedBody(state, response) {
    const real = realBody(state, response);
    const type = response.headers.get('content-type');
    if (type === null) real.headers.delete('content-type');
    else real.headers.set('content-type', type);
    return real;
  }

  // One read of the string: the value (or the error) after the platform's number of microtask turns.
  function readLazy(response, method, convert) {
    const state = lazy.get(response);
    if (state === undefined) return null;
    if (state.used || state.real !== null || !bridge.fastReads) return realBody(state, response)[method]();
    state.used = true;
    let ok = true;
    let value;
    try {
      value = convert(state.text);
    } catch (error) {
      ok = false;
      value = error;
    }
    return bridge.later(method, state.started, ok, value);
  }

  class Response extends platform.Response {
    constructor(body = null, init = undefined) {
      if (typeof body !== 'string') {
        super(body, init);
        return;
      }
      super(null, init);
      if (NULL_BODY.has(this.status)) {
        throw bridge.typeError(`Response constructor: Invalid response status code ${this.status}`);
      }
      if (!this.headers.has('content-type')) this.headers.append('content-type', 'text/plain;charset=UTF-8');
      const state = { text: body, used: false, started: false, real: null };
      lazy.set(this, state);
      bridge.rememberBody(this, body);
      queueMicrotask(() => { state.started = true; }); // the turn in which the platform's stream starts
    }

    get body() {
      const state = lazy.get(this);
      return state === undefined ? super.body : realBody(state, this).body;
    }

    get bodyUsed() {
      const state = lazy.get(this);
      if (state === undefined) return super.bodyUsed;
      return state.real === null ? state.used : state.real.bodyUsed;
    }

    text() { return readLazy(this, 'text', readable) ?? super.text(); }

    json() { return readLazy(this, 'json', (text) => bridge.parseJson(readable(text))) ?? super.json(); }

    arrayBuffer() { return readLazy(this, 'arrayBuffer', (text) => bridge.utf8(text).buffer) ?? super.arrayBuffer(); }

    blob() {
      const state = lazy.get(this);
      return state === undefined ? super.blob() : typedBody(state, this).blob();
    }

    formData() {
      const state = lazy.get(this);
      return state === undefined ? super.formData() : typedBody(state, this).formData();
    }

    clone() {
      const state = lazy.get(this);
      if (state === undefined) return Object.setPrototypeOf(super.clone(), Response.prototype);
      const twin = realBody(state, this).clone(); // the platform's check (a spent body throws) and its tee
      return new Response(twin.body, { status: this.status, statusText: this.statusText, headers: this.headers });
    }

    static json(data, init = undefined) { return Object.setPrototypeOf(platform.Response.json(data, init), Response.prototype); }

    static redirect(url, status = undefined) {
      return Object.setPrototypeOf(platform.Response.redirect(url, status), Response.prototype);
    }

    static error() { return Object.setPrototypeOf(platform.Response.error(), Response.prototype); }
  }
  if (typeof platform.Response.prototype.bytes === 'function') {
    Object.defineProperty(Response.prototype, 'bytes', {
      value: function bytes() { return readLazy(this, 'bytes', bridge.utf8) ?? platform.Response.prototype.bytes.call(this); },
      writable: true, configurable: true, enumerable: false,
    });
  }

  // --- Request: the platform's. The one the host hands a fetch handler is made when first needed: building
  // undici's Request (its URL, headers, AbortSignal) is most of the cost of an invocation that only reads its
  // url and method. Until then it is an object of this class that answers `url` (the platform's serialisation),
  // `method`, and `body`/`bodyUsed` of a request without a body; any other member, passing it to `new Request()`
  // or fetch(), makes the platform's Request from the same inputs and defers to it. clone() gives this class.
  const PlatformRequest = platform.Request;
  const lazyRequests = new WeakMap(); // Request -> {url, method, headers, body, real: the platform's once made}

  function realRequest(request) {
    const state = lazyRequests.get(request);
    if (state === undefined) return request;
    if (state.real === null) {
      state.real = new PlatformRequest(state.url, { method: state.method, headers: state.headers,
        body: state.body ?? undefined });
    }
    return state.real;
  }

  class Request extends PlatformRequest {
    constructor(input, init = undefined) { // eslint-disable-line no-unused-vars
      const args = Array.prototype.slice.call(arguments);
      if (args.length) args[0] = realRequest(args[0]);
      super(...args);
    }
  }
  const EARLY = {
    url: (state) => state.href,
    method: (state) => state.method,
    body: (state) => (state.body === null ? null : undefined),
    bodyUsed: (state) => (state.body === null ? false : undefined),
  };
  for (const key of Reflect.ownKeys(PlatformRequest.prototype)) {
    const member = Object.getOwnPropertyDescriptor(PlatformRequest.prototype, key);
    if (key === 'constructor') continue;
    if (member.get !== undefined) {
      const early = EARLY[key];
      const get = member.get;
      Object.defineProperty(Request.prototype, key, { configurable: true, enumerable: member.enumerable, get: {
        [key]() {
          const state = early === undefined ? undefined : lazyRequests.get(this);
          if (state !== undefined && state.real === null) {
            const value = early(state);
            if (value !== undefined) return value;
          }
          return Reflect.apply(get, realRequest(this), []);
        },
      }[key] });
    } else if (typeof member.value === 'function') {
      const method = member.value;
      const wrapped = key === 'clone'
        ? { clone() { return Object.setPrototypeOf(Reflect.apply(method, realRequest(this), []), Request.prototype); } }.clone
        : { [key](...args) { return Reflect.apply(method, realRequest(this), args); } }[key];
      Object.defineProperty(wrapped, 'length', { value: method.length });
      Object.defineProperty(Request.prototype, key, { configurable: true, enumerable: member.enumerable,
        writable: member.writable, value: wrapped });
    }
  }

  // The Request the host gives a fetch handler: made at once (so it fails at once, as before) when the platform
  // would refuse or rewrite its inputs: a URL that does not parse or has credentials, a method other than the
  // upper-case standard ones, a body with GET or HEAD, a header name or value the platform refuses.
  const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
  const HEADER_VALUE = /^[^\0\r\n]*$/;
  function plainInputs(parsed, method, headers, body) {
    if (parsed === null || parsed.username || parsed.password || !NORMALIZED_METHODS.has(method)) return false;
    if (body !== null && (typeof body !== 'string' || method === 'GET' || method === 'HEAD')) return false;
    if (!Array.isArray(headers)) return false;
    for (const pair of headers) {
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string'
        || !TOKEN.test(pair[0]) || !HEADER_VALUE.test(pair[1])) return false;
    }
    return true;
  }

  function requestFor(url, method, headers, body) {
    let parsed = null;
    try {
      parsed = new platform.URL(url);
    } catch { /* the platform's error, below */ }
    if (!plainInputs(parsed, method, headers, body)) {
      return Object.setPrototypeOf(new PlatformRequest(url, { method, headers, body: body ?? undefined }),
        Request.prototype);
    }
    const request = Object.create(Request.prototype);
    lazyRequests.set(request, { url, href: parsed.href, method, headers, body, real: null });
    return request;
  }

  // --- the rest of the platform, and what is absent.
  for (const [name, value] of Object.entries(platform)) {
    if (name !== 'AbortSignal' && name !== 'Response' && name !== 'Request') g[name] = value;
  }
  g.Response = Response;
  g.Request = Request;
  g.AbortSignal = SimAbortSignal;
  g.navigator = Object.freeze({ userAgent: 'Cloudflare-Workers' });
  const consoleOf = (level) => (...args) => bridge.log(level, args);
  g.console = Object.freeze({
    log: consoleOf('log'), info: consoleOf('info'), warn: consoleOf('warn'), error: consoleOf('error'),
    debug: consoleOf('debug'),
  });
  Object.defineProperty(g, 'caches', {
    get() { throw new Error('rmasim: the Cache API (caches) is not modelled'); },
  });
  delete g.WeakRef;
  delete g.FinalizationRegistry;

  // --- what the host calls per invocation.
  const env = {};
  for (const [name, value] of Object.entries(settings.vars)) env[name] = value;
  for (const name of settings.kv) env[name] = new KVNamespace(name);
  return Object.freeze({
    env: Object.freeze(env),
    request: requestFor,
    context: () => Object.freeze({
      waitUntil: (promise) => bridge.waitUntil(promise),
      passThroughOnException: () => {},
    }),
    controller: (cron, scheduledTime) => Object.freeze({
      cron, scheduledTime, type: 'scheduled', noRetry: () => {},
    }),
  });
}

const SHIM_SOURCE = `(${installWorkerGlobals.toString()})`;

// --- loading the Worker ---------------------------------------------------------------------------------------------

class LoadError extends Error {
  constructor(kind, message, file = null, line = null, col = null) {
    super(message);
    Object.assign(this, { kind, file, line, col });
  }
}

function sourceOf(file) {
  let text = worker.sources.get(file);
  if (text === undefined) {
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new LoadError('load', `cannot read ${file}: ${error.code ?? error.message}`, file);
    }
    worker.sources.set(file, text);
  }
  return text;
}

// SourceTextModule's SyntaxError has no position: ask `node --check` for it.
function locateSyntaxError(file, source, error) {
  let report = '';
  try {
    execFileSync(process.execPath, ['--check', '--input-type=module'], { input: source, stdio: 'pipe' });
  } catch (check) {
    report = String(check.stderr);
  }
  const lines = report.split('\n');
  const at = lines.findIndex((l) => l.startsWith('[stdin]:'));
  const line = at >= 0 ? Number(lines[at].slice('[stdin]:'.length)) : null;
  const caret = at >= 0 && lines[at + 2] !== undefined ? lines[at + 2].indexOf('^') : -1;
  return new LoadError('syntax', `SyntaxError: ${error.message}`, file, line, caret >= 0 ? caret + 1 : null);
}

async function instantiate(context) {
  const modules = new Map();
  const make = (file) => {
    let module = modules.get(file);
    if (module === undefined) {
      const source = sourceOf(file);
      try {
        module = new vm.SourceTextModule(source, {
          context,
          identifier: file,
          initializeImportMeta(meta) { meta.url = pathToFileURL(file).href; },
        });
      } catch (error) {
        if (error?.name === 'SyntaxError') throw locateSyntaxError(file, source, error);
        throw error;
      }
      modules.set(file, module);
    }
    return module;
  };
  const root = make(worker.main);
  await root.link((specifier, referrer) => {
    if (!/^\.{0,2}\//.test(specifier)) {
      throw new LoadError('load', `import '${specifier}' is not supported (rmasim runs a Worker's own files; `
        + 'bundle other modules into it)', referrer.identifier);
    }
    return make(resolve(dirname(referrer.identifier), specifier));
  });
  await root.evaluate();
  const handler = root.namespace.default;
  if (handler === null || typeof handler !== 'object') {
    throw new LoadError('load', 'the module has no default export object (module syntax: export default '
      + '{ fetch(request, env, ctx) { ... } })', worker.main);
  }
  return handler;
}

async function createIsolate(id) {
  const context = vm.createContext({}, {
    name: `isolate ${id}`,
    codeGeneration: { strings: false, wasm: false },
  });
  const shim = vm.runInContext(SHIM_SOURCE, context)(bridge, PLATFORM, { kv: worker.kv, vars: worker.vars });
  const iso = { id, context, shim, handler: null, rand: [], used: 0 };
  const previous = current;
  current = iso;
  try {
    iso.handler = await instantiate(context);
  } finally {
    current = previous;
  }
  return iso;
}

async function load(message) {
  worker = { main: message.main, kv: message.kv, vars: message.vars, sources: new Map() };
  try {
    await createIsolate(-1); // a scratch isolate: parse every file and run the module's top level once
  } catch (error) {
    if (error instanceof LoadError) {
      return { t: 'error', kind: error.kind, file: error.file, line: error.line, col: error.col, message: error.message };
    }
    return { t: 'error', kind: 'load', file: worker.main, line: null, col: null, message: describe(error) };
  }
  return { t: 'loaded' };
}

// --- invocations ----------------------------------------------------------------------------------------------------

function describe(error) {
  if (error instanceof Error || (error && typeof error.stack === 'string')) return String(error.stack ?? error);
  return `${inspect(error)}`;
}

function errorInfo(error) {
  const name = error?.name ?? 'Error';
  const message = error?.message ?? inspect(error);
  return { name: String(name), message: String(message), stack: describe(error) };
}

async function isolateOf(id) {
  let iso = isolates.get(id);
  if (iso === undefined) {
    iso = await createIsolate(id);
    isolates.set(id, iso);
  }
  return iso;
}

function begin(message, iso, kind, call) {
  const inv = { id: message.inv, kind, iso, queue: [], inflight: null, waits: 0, settled: false, finished: false,
    responded: false, result: null, error: null };
  invocations.set(inv.id, inv);
  als.run(inv, () => {
    let promise;
    try {
      promise = call(inv);
    } catch (error) {
      promise = Promise.reject(error);
    }
    Promise.resolve(promise).then(
      (value) => settle(inv, value),
      (error) => { inv.error = errorInfo(error); inv.settled = true; activity += 1; },
    );
  });
  return inv;
}

async function settle(inv, value) {
  if (inv.kind === 'fetch') {
    if (!(value instanceof Response)) {
      inv.error = errorInfo(new TypeError("Incorrect type for Promise: the Promise did not resolve to 'Response'."));
    } else {
      try {
        const text = value.bodyUsed ? undefined : bodies.get(value);
        const body = text !== undefined ? text : await bodyText(value);
        inv.result = { status: value.status, body };
      } catch (error) {
        inv.error = errorInfo(error);
      }
    }
  }
  inv.settled = true;
  activity += 1;
}

// The text of a Response whose body is not a remembered string. A stream made for a string (the `body` of a
// Response made with one, passed on: `new Response(answer.body, ...)`) that nothing has read is that string,
// as reading it gives it (UTF-8: a leading BOM dropped, lone surrogates as U+FFFD); the stream is then cancelled
// through a reader, so it reads as spent (locked and disturbed) as after the host reads it.
async function bodyText(response) {
  const stream = response.body;
  if (stream === null) return null;
  const source = sources.get(stream);
  if (source === undefined || stream.locked || response.bodyUsed) return response.text();
  stream.getReader().cancel();
  return readable(source);
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

// A string body as reading it gives it: UTF-8 (lone surrogates become U+FFFD), decoded without a leading BOM.
function readable(text) {
  let wellFormed = text;
  if (typeof text.isWellFormed === 'function') { // Node >= 20
    if (!text.isWellFormed()) wellFormed = text.toWellFormed();
  } else {
    wellFormed = text.replace(LONE_SURROGATE, '\uFFFD');
  }
  return wellFormed.charCodeAt(0) === 0xFEFF ? wellFormed.slice(1) : wellFormed;
}

function enter(iso, floats) {
  current = iso;
  iso.used = 0;
  refill(iso, floats);
}

async function startFetch(message) {
  const iso = await isolateOf(message.iso);
  enter(iso, message.rand);
  const { method, url, headers, body } = message.req;
  const request = iso.shim.request(url, method, headers, body);
  return begin(message, iso, 'fetch', () => {
    if (typeof iso.handler.fetch !== 'function') throw new Error('Handler does not export a fetch() function.');
    return iso.handler.fetch(request, iso.shim.env, iso.shim.context());
  });
}

async function startScheduled(message) {
  const iso = await isolateOf(message.iso);
  enter(iso, message.rand);
  return begin(message, iso, 'scheduled', () => {
    if (typeof iso.handler.scheduled !== 'function') {
      throw new Error('Handler does not export a scheduled() function.');
    }
    return iso.handler.scheduled(iso.shim.controller(message.cron, message.time), iso.shim.env, iso.shim.context());
  });
}

function refill(iso, floats) {
  // Floats are drawn from the end: reverse, so they are used in the order Python drew them.
  if (floats && floats.length) iso.rand = floats.slice().reverse().concat(iso.rand);
}

function deliver(message) {
  const inv = invocations.get(message.inv);
  if (inv === undefined || inv.inflight === null) {
    throw new Error(`protocol: no operation in flight for invocation ${message.inv}`);
  }
  enter(inv.iso, message.rand);
  const entry = inv.inflight;
  inv.inflight = null;
  als.run(inv, () => {
    try {
      if (message.t === 'result') entry.onValue(message.value);
      else entry.onError(message.error);
    } catch (error) {
      logs.push(['error', `Uncaught ${describe(error)}`]);
    }
  });
  return inv;
}

function resume(message) {
  const inv = invocations.get(message.inv);
  if (inv === undefined || inv.inflight !== null) {
    throw new Error(`protocol: invocation ${message.inv} cannot go on (unknown, or an operation in flight)`);
  }
  enter(inv.iso, message.rand);
  return inv;
}

// The platform ends an invocation past its time limit (Python decides when): its pending work never settles.
function cancel(message) {
  const inv = invocations.get(message.inv);
  if (inv === undefined) throw new Error(`protocol: no invocation ${message.inv} to cancel`);
  enter(inv.iso, message.rand);
  inv.inflight = null;
  const text = message.responded ? WAIT_UNTIL_CANCELLED : NEVER_RESPONDS_HUNG;
  inv.error = { name: 'Error', message: text, stack: `Error: ${text}`, limit: true };
  inv.queue.length = 0;
  inv.finished = true;
  invocations.delete(inv.id);
  current = null;
  return { t: 'done', inv: inv.id, error: inv.error, used: 0 };
}

// Run the job queue (microtasks run before each setImmediate callback) until the invocation has something to
// report, or nothing moves any more.
async function drain(inv) {
  for (let turn = 0; turn < MAX_DRAIN_TURNS; turn += 1) {
    const seen = activity;
    await new Promise((done) => setImmediate(done));
    if (inv.queue.length || (inv.settled && inv.waits === 0) || activity === seen) return;
  }
}

function next(inv) {
  if (inv.settled && inv.waits > 0 && inv.kind === 'fetch' && !inv.responded) {
    inv.responded = true; // the response goes now; ctx.waitUntil() work goes on
    return { ...answer(inv), t: 'respond' };
  }
  if (inv.settled && inv.waits === 0) return finish(inv);
  if (inv.queue.length) {
    const entry = inv.queue.shift();
    inv.inflight = entry;
    return { t: 'op', inv: inv.id, op: entry.op };
  }
  if (!inv.settled) inv.error = { name: 'Error', message: NEVER_RESPONDS, stack: `Error: ${NEVER_RESPONDS}`, hung: true };
  return finish(inv); // settled, but waitUntil work waits on nothing: it can never end
}

function finish(inv) {
  inv.finished = true;
  invocations.delete(inv.id);
  const cancelled = inv.queue.filter((e) => !e.cancelled).length;
  if (cancelled) {
    logs.push(['warn', `rmasim: ${cancelled} operation(s) not awaited were cancelled when the invocation ended`]);
  }
  inv.queue.length = 0;
  return inv.responded ? { t: 'done', inv: inv.id } : answer(inv);
}

function answer(inv) {
  if (inv.error !== null) return { t: 'done', inv: inv.id, error: inv.error };
  if (inv.kind === 'fetch') return { t: 'done', inv: inv.id, status: inv.result.status, body: inv.result.body };
  return { t: 'done', inv: inv.id };
}

async function serve(message) {
  if (message.t === 'load') return load(message);
  if (typeof message.now === 'number') clockMs = message.now;
  let inv;
  if (message.t === 'fetch') inv = await startFetch(message);
  else if (message.t === 'scheduled') inv = await startScheduled(message);
  else if (message.t === 'result' || message.t === 'fail') inv = deliver(message);
  else if (message.t === 'next') inv = resume(message);
  else if (message.t === 'cancel') return cancel(message);
  else throw new Error(`protocol: unknown message type ${JSON.stringify(message.t)}`);
  await drain(inv);
  const reply = next(inv);
  reply.used = inv.iso.used;
  current = null;
  return reply;
}

// --- the pipe --------------------------------------------------------------------------------------------------------
// Blocking reads of stdin between messages (nothing else may run meanwhile, and a blocking read wakes up faster
// than the event loop's stream machinery); the job queue is drained by the setImmediate turns of `drain()`.

const pause = new Int32Array(new SharedArrayBuffer(4));
let inbox = Buffer.alloc(1 << 20); // bytes read from stdin: [start, end) not yet returned as lines
let start = 0;
let end = 0;

// When Python opens stdin without blocking (a run with a core to spare: being woken from a blocking read costs
// about as much as the host's whole answer), poll it for SPIN_NS, then every POLL_MS.
const SPIN_NS = 200_000n;
const POLL_MS = 0.05;

// A read that finds nothing throws; without a stack trace that costs a third (about 2.5 us instead of 5 to 9.5
// here), so the poll sees a message sooner. Only this realm's Error: a Worker's contexts have their own.
function readSome() {
  let since = 0n;
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    for (;;) {
      try {
        return readSync(0, inbox, end, inbox.length - end, null);
      } catch (error) {
        if (error.code !== 'EAGAIN') throw error;
      }
      const now = process.hrtime.bigint();
      if (since === 0n) since = now;
      else if (now - since > SPIN_NS) Atomics.wait(pause, 0, 0, POLL_MS);
    }
  } finally {
    Error.stackTraceLimit = limit;
  }
}

function readLine() {
  let scanned = start;
  for (;;) {
    const newline = inbox.indexOf(10, scanned);
    if (newline >= 0 && newline < end) {
      const line = inbox.toString('utf8', start, newline);
      start = newline + 1;
      if (start === end) start = end = 0;
      return line;
    }
    scanned = end;
    if (end === inbox.length) { // full: move the partial line to the front, or grow
      if (start > 0) {
        inbox.copy(inbox, 0, start, end);
        end -= start;
        scanned -= start;
        start = 0;
      } else {
        const bigger = Buffer.alloc(inbox.length * 2);
        inbox.copy(bigger, 0, 0, end);
        inbox = bigger;
      }
    }
    const n = readSome();
    if (n === 0) return null;
    end += n;
  }
}

function send(reply) {
  if (logs.length) {
    reply.logs = logs;
    logs = [];
  }
  writeSync(1, `${JSON.stringify(reply)}\n`);
}

readTurns = await calibrate();

process.on('unhandledRejection', (reason) => { logs.push(['error', `Uncaught (in promise) ${describe(reason)}`]); });

for (let line = readLine(); line !== null; line = readLine()) {
  let reply;
  try {
    reply = await serve(JSON.parse(line));
  } catch (error) {
    send({ t: 'fatal', message: describe(error) });
    process.exit(1);
  }
  send(reply);
}
process.exit(0);
