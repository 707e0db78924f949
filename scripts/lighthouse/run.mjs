// Lighthouse on the web app's sign-in page and a signed-in dashboard.
//   npm install --prefix /tmp/lh lighthouse@13.5.0 puppeteer-core@25.19.0
//   NODE_PATH=/tmp/lh/node_modules CHROME_PATH=/usr/bin/chromium node scripts/lighthouse/run.mjs http://localhost:8000 [mobile|desktop] [runs] [/login,/dashboard]
// Registers a throwaway learner through Core's API and records some progress for it, puts a fresh token pair where
// the app keeps it (localStorage) before each audit, then audits /login (signed out) and /dashboard (signed in) with
// the storage kept (disableStorageReset). Prints one
// JSON line per audit with the median of the runs.
import { createRequire } from 'node:module';
const require = createRequire(process.env.NODE_PATH ? process.env.NODE_PATH + '/' : import.meta.url);
const puppeteer = require('puppeteer-core');
const { default: lighthouse } = await import(require.resolve('lighthouse'));
const desktopConfig = (await import(require.resolve('lighthouse').replace(/core\/index\.js$/, 'core/config/desktop-config.js'))).default;

const base = (process.argv[2] ?? 'http://localhost:8000').replace(/\/$/, '');
const preset = process.argv[3] ?? 'mobile';
const runs = Number(process.argv[4] ?? 3);
const name = `lh${Date.now()}`;
const reg = await fetch(`${base}/api/v1/users/`, {
  method: 'POST', headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ email: `${name}@example.com`, username: name, password: 'correct horse battery', first_name: 'Light', last_name: 'House' }),
});
if (!reg.ok) throw new Error(`register: ${reg.status} ${await reg.text()}`);
await reg.json();
// A fresh pair for every audit, so no run depends on a token an earlier one refreshed (and so spent).
const signIn = async () => {
  const r = await fetch(`${base}/api/v1/token/`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: `${name}@example.com`, password: 'correct horse battery' }),
  });
  if (!r.ok) throw new Error(`sign in: ${r.status} ${await r.text()}`);
  return r.json();
};
// Some progress, so the dashboard has what a learner's has: numbers, work in progress, a chart, a track.
{
  const first = await signIn();
  const auth = { 'content-type': 'application/json', authorization: `Bearer ${first.access}` };
  const { ai_url: ai } = await (await fetch(`${base}/api/v1/web/config`)).json();
  const lessons = (await (await fetch(`${ai}/api/v1/content/?content_type=lesson&page_size=3`, { headers: auth })).json()).results;
  for (const [i, item] of lessons.entries()) {
    const done = i < 2;
    const r = await fetch(`${base}/api/v1/progress/`, {
      method: 'POST', headers: auth,
      body: JSON.stringify({ content_id: item.content_id, content_type: item.content_type, status: done ? 'completed' : 'in_progress',
        completion_percentage: done ? 100 : 40, time_spent_seconds: 900 }),
    });
    if (!r.ok) throw new Error(`progress: ${r.status} ${await r.text()}`);
  }
}

const browser = await puppeteer.launch({
  executablePath: process.env.CHROME_PATH ?? '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox'],
});
const port = Number(new URL(browser.wsEndpoint()).port);
const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function audit(path, signedIn) {
  const results = [];
  for (let i = 0; i < runs; i++) {
    const page = await browser.newPage();
    const cdp = await page.createCDPSession();
    await cdp.send('Network.clearBrowserCache'); // an empty cache, as a first visit has; localStorage stays
    await page.goto(`${base}/favicon.svg`);
    const tokens = signedIn ? await signIn() : null;
    await page.evaluate((t, on) => on ? localStorage.setItem('cyberhub.tokens', JSON.stringify({ access: t.access, refresh: t.refresh }))
      : localStorage.removeItem('cyberhub.tokens'), tokens, signedIn);
    const flags = { port, output: 'json', logLevel: 'error', disableStorageReset: true, onlyCategories: ['performance'] };
    const r = await lighthouse(`${base}${path}`, flags, preset === 'desktop' ? desktopConfig : undefined, page);
    const a = r.lhr.audits;
    results.push({
      score: Math.round(r.lhr.categories.performance.score * 100),
      fcp: a['first-contentful-paint'].numericValue, lcp: a['largest-contentful-paint'].numericValue,
      tbt: a['total-blocking-time'].numericValue, cls: a['cumulative-layout-shift'].numericValue,
      si: a['speed-index'].numericValue, bytes: a['total-byte-weight'].numericValue,
    });
    await page.close();
  }
  const m = k => median(results.map(r => r[k]));
  console.log(JSON.stringify({ path, preset, runs, score: m('score'), fcp_ms: Math.round(m('fcp')), lcp_ms: Math.round(m('lcp')),
    tbt_ms: Math.round(m('tbt')), cls: +m('cls').toFixed(3), si_ms: Math.round(m('si')), kb: Math.round(m('bytes') / 1024),
    scores: results.map(r => r.score) }));
}
for (const path of (process.argv[5] ?? '/login,/dashboard').split(',')) {
  await audit(path, path !== '/login');
}
await browser.close();
