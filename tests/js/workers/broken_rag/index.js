// workers/baseline with one bug: every proxied `rag` request throws before the baseline's catch-all.
import baseline from '../../../../workers/baseline/src/index.js';

export default {
  async fetch(request, env, ctx) {
    if (new URL(request.url).pathname.startsWith('/api/service/rag')) throw new TypeError('rag is broken');
    return baseline.fetch(request, env, ctx);
  },
};
