import Fastify, { type FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';

/**
 * The `btcpipe up` dashboard (port 8088): one page that shows each service's health and the live Redis
 * state per symbol (book top, windows, features), refreshed every second. Read-only.
 */

export interface DashboardOptions {
  port: number;
  host?: string;
  redis: Redis;
  symbols: string[];
  /** name → base URL of a service's health server, e.g. {"ingest-sbe": "http://127.0.0.1:8080"}. */
  services: Record<string, string>;
  /** Extra links shown on the page (simulator stats, metrics). */
  links?: Record<string, string>;
  keyOf: (symbol: string) => { ob: string; tr1s: string; tr5s: string; feat: string };
}

export interface Dashboard {
  port: number;
  app: FastifyInstance;
  close(): Promise<void>;
}

async function fetchJson(url: string, timeoutMs = 800): Promise<unknown> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return await res.json();
  } catch (err) {
    return { status: 'unreachable', error: err instanceof Error ? err.message : String(err) };
  }
}

export async function startDashboard(o: DashboardOptions): Promise<Dashboard> {
  const app = Fastify({ logger: false });
  app.get('/api/state', async () => {
    const services: Record<string, unknown> = {};
    await Promise.all(
      Object.entries(o.services).map(async ([name, base]) => {
        services[name] = await fetchJson(`${base}/health`);
      }),
    );
    const symbols: Record<string, unknown> = {};
    for (const s of o.symbols) {
      const k = o.keyOf(s);
      const [ob, tr1s, tr5s, feat] = await Promise.all([
        o.redis.hgetall(k.ob),
        o.redis.hgetall(k.tr1s),
        o.redis.hgetall(k.tr5s),
        o.redis.hgetall(k.feat),
      ]);
      symbols[s] = { ob, tr1s, tr5s, feat };
    }
    return { now: new Date().toISOString(), services, symbols, links: o.links ?? {} };
  });
  app.get('/', async (_req, reply) => {
    reply.type('text/html; charset=utf-8');
    return PAGE;
  });
  await app.listen({ port: o.port, host: o.host ?? '127.0.0.1' });
  const addr = app.server.address();
  return { port: typeof addr === 'object' && addr ? addr.port : o.port, app, close: () => app.close() };
}

const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>btcpipe</title>
<style>
body{font:13px/1.4 ui-monospace,Menlo,Consolas,monospace;margin:16px;background:#0f1115;color:#d8dee9}
h1{font-size:16px;margin:0 0 8px} h2{font-size:14px;margin:16px 0 6px;color:#88c0d0}
.grid{display:flex;flex-wrap:wrap;gap:12px} .card{background:#1b1f27;border-radius:6px;padding:10px;min-width:260px}
.healthy,.live,.connected,.consuming{color:#a3be8c} .degraded,.resyncing{color:#ebcb8b} .unhealthy,.unreachable{color:#bf616a}
table{border-collapse:collapse} td{padding:1px 8px 1px 0} .bid{color:#a3be8c} .ask{color:#bf616a} a{color:#81a1c1}
</style></head><body>
<h1>btcpipe — live pipeline</h1><div id="meta"></div>
<h2>Services</h2><div class="grid" id="services"></div>
<h2>Symbols</h2><div id="symbols"></div>
<script>
const esc=(s)=>String(s).replace(/[&<>]/g,(c)=>({'&':'&amp;','<':'&lt;','>':'&gt;'}[c]));
function kv(o){return '<table>'+Object.entries(o||{}).map(([k,v])=>'<tr><td>'+esc(k)+'</td><td>'+esc(typeof v==='object'?JSON.stringify(v):v)+'</td></tr>').join('')+'</table>'}
function book(ob){let rows='';for(let i=1;i<=10;i++){rows+='<tr><td class="bid">'+esc(ob['bid'+i+'_q']??'')+'</td><td class="bid">'+esc(ob['bid'+i+'_p']??'')+'</td><td class="ask">'+esc(ob['ask'+i+'_p']??'')+'</td><td class="ask">'+esc(ob['ask'+i+'_q']??'')+'</td></tr>'}return '<table>'+rows+'</table>'}
async function tick(){
  try{
    const s=await (await fetch('/api/state')).json();
    document.getElementById('meta').innerHTML=esc(s.now)+' '+Object.entries(s.links).map(([k,v])=>'<a href="'+esc(v)+'">'+esc(k)+'</a>').join(' ');
    document.getElementById('services').innerHTML=Object.entries(s.services).map(([n,h])=>'<div class="card"><b>'+esc(n)+'</b> <span class="'+esc(h.status)+'">'+esc(h.status)+'</span>'+kv(h.components)+'</div>').join('');
    document.getElementById('symbols').innerHTML=Object.entries(s.symbols).map(([sym,st])=>'<h2>'+esc(sym)+' <span class="'+esc(st.ob.status)+'">'+esc(st.ob.status??'no book')+'</span> update '+esc(st.ob.last_update_id??'-')+'</h2><div class="grid"><div class="card"><b>book</b> mid '+esc(st.ob.mid_price??'-')+' spread '+esc(st.ob.spread??'-')+book(st.ob)+'</div><div class="card"><b>tr 1s</b>'+kv(st.tr1s)+'</div><div class="card"><b>tr 5s</b>'+kv(st.tr5s)+'</div><div class="card"><b>features</b>'+kv(st.feat)+'</div></div>').join('');
  }catch(e){document.getElementById('meta').textContent='dashboard API unreachable: '+e}
  setTimeout(tick,1000);
}
tick();
</script></body></html>`;
