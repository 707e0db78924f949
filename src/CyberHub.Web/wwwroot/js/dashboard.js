// The dashboard Core renders on a full page load (src/CyberHub.Core/Web/DashboardPage.cs) works with this script and
// js/page.js, without the WebAssembly runtime. It takes the token pair where the app keeps it, refreshes it as the
// app's SessionState does, asks Core and the AI service what the app's dashboard asks (Features/Dashboard: the same
// endpoints, with the limits and texts Core wrote into the page from Contracts' DashboardRules) and draws the same
// blocks with the same markup. Without a session it goes to the sign-in page Core named; when the session ends it
// leaves the reason where the app leaves it, as the app does.
(() => {
  'use strict';
  const tokensKey = 'cyberhub.tokens';
  const noticeKey = 'cyberhub.notice';
  const page = document.documentElement.dataset;
  const { toast, menu, ready } = window.CyberHubPage;
  const number = name => Number.parseInt(page[name], 10);
  const ai = (page.ai || '').replace(/\/+$/, '');
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

  // ---- The session, as the app's SessionState keeps it ----

  function claimsOf(access) {
    const parts = typeof access === 'string' ? access.split('.') : [];
    if (parts.length !== 3) return null;
    try {
      const json = atob(parts[1].replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(parts[1].length / 4) * 4, '='));
      const claims = JSON.parse(new TextDecoder().decode(Uint8Array.from(json, c => c.charCodeAt(0))));
      const userId = Number.parseInt(claims.sub, 10);
      if (!Number.isSafeInteger(userId) || String(userId) !== String(claims.sub) || typeof claims.exp !== 'number') return null;
      const roles = Array.isArray(claims.roles) ? claims.roles.map(String) : claims.roles == null ? [] : [String(claims.roles)];
      const expires = claims.exp * 1000;
      const issued = typeof claims.iat === 'number' ? claims.iat * 1000 : expires - 15 * 60 * 1000;
      return { userId, email: typeof claims.email === 'string' ? claims.email : '', roles, issued, expires };
    } catch {
      return null;
    }
  }

  function readTokens() {
    try {
      const stored = JSON.parse(localStorage.getItem(tokensKey) || 'null');
      if (stored && typeof stored.access === 'string' && typeof stored.refresh === 'string'
          && stored.access.length > 0 && stored.refresh.length > 0 && claimsOf(stored.access)) {
        return { access: stored.access, refresh: stored.refresh };
      }
    } catch {
      // Unreadable storage counts as no session, as in the app.
    }
    return null;
  }

  // Not within the refresh margin of its expiry: a minute, or half the token's lifetime when that is shorter.
  const isFresh = user => user.expires - Date.now() > Math.min(60 * 1000, (user.expires - user.issued) / 2);
  const isValid = user => user.expires > Date.now();

  let tokens = readTokens();
  const user = tokens && claimsOf(tokens.access);
  if (!user) {
    // Nobody signed in: to log in and back here, as the app's RedirectToLogin does.
    location.replace(page.login);
    return;
  }

  let leaving = false;
  function sessionEnded() {
    if (leaving) return;
    leaving = true;
    try { localStorage.removeItem(tokensKey); } catch { }
    try { sessionStorage.setItem(noticeKey, page.ended); } catch { }
    location.assign(page.login);
  }

  let refreshing = null;
  // A usable access token, refreshed first when it is about to expire or a service has just refused `rejected`;
  // null when the session has ended. One refresh at a time; a pair another tab renewed is adopted, not spent again.
  function accessToken(rejected) {
    const current = tokens;
    if (!current) return Promise.resolve(null);
    if (!rejected && isFresh(claimsOf(current.access))) return Promise.resolve(current.access);
    if (!refreshing) {
      refreshing = renew(current, rejected).finally(() => { refreshing = null; });
    }
    return refreshing;
  }

  async function renew(current, rejected) {
    const stored = readTokens();
    if (!stored) {
      tokens = null;
      sessionEnded();
      return null;
    }
    tokens = stored;
    const claims = claimsOf(stored.access);
    if (stored.access !== rejected && (stored.access !== current.access ? isValid(claims) : isFresh(claims))) {
      return stored.access;
    }
    let response;
    try {
      response = await fetch('api/v1/token/refresh/', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refresh: stored.refresh }),
      });
    } catch {
      response = null;
    }
    if (response && response.ok) {
      const pair = await response.json().catch(() => null);
      if (pair && claimsOf(pair.access) && typeof pair.refresh === 'string' && pair.refresh.length > 0) {
        tokens = { access: pair.access, refresh: pair.refresh };
        localStorage.setItem(tokensKey, JSON.stringify(tokens));
        return tokens.access;
      }
    } else if (response && [400, 401, 403].includes(response.status)) {
      tokens = null;
      sessionEnded();
      return null;
    }
    // Rate limited or Core away: the current token serves while it lasts.
    return stored.access !== rejected && isValid(claims) ? stored.access : null;
  }

  class ServiceError extends Error {
    constructor(status, message, requestId) {
      super(message);
      this.status = status;
      this.requestId = requestId;
    }
  }

  // One call, as the app's ApiClient and BearerTokenHandler make it: the access token on it, one retry with a
  // refreshed token after a 401, and the service's own detail (or a plain sentence) as the error.
  async function call(service, url, options = {}) {
    const send = token => fetch(url, {
      ...options,
      headers: { ...(options.headers || {}), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    });
    let response;
    try {
      const token = await accessToken();
      response = await send(token);
      if (response.status === 401 && token) {
        const renewed = await accessToken(token);
        if (renewed) response = await send(renewed);
      }
    } catch {
      throw new ServiceError(0, `The ${service} service could not be reached. Check your connection and try again.`);
    }
    if (response.ok) return response.json();
    const body = await response.json().catch(() => null);
    if (body && typeof body.detail === 'string' && body.detail.trim()) {
      throw new ServiceError(response.status, body.detail, typeof body.request_id === 'string' ? body.request_id : null);
    }
    throw new ServiceError(response.status, `The ${service} service answered ${response.status} ${response.statusText}.`);
  }

  const core = (path, options) => call('Core', path, options);
  const aiCall = (path, options) => call('AI', `${ai}/${path}`, options);
  const query = parameters => Object.entries(parameters)
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`).join('&');

  async function allProgress() {
    const all = [];
    for (let p = 1; ; p++) {
      const batch = await core(`api/v1/progress/?${query({ user: user.userId, page: p, page_size: 100 })}`);
      all.push(...batch.results);
      if (batch.next == null || batch.results.length === 0) return all;
    }
  }

  const items = new Map();
  // An item of the catalog, asked once however many blocks show it.
  function contentItem(type, id) {
    const key = `${type}:${id}`;
    if (!items.has(key)) {
      items.set(key, aiCall(`api/v1/content/${encodeURIComponent(type)}/${encodeURIComponent(id)}`));
    }
    return items.get(key);
  }

  // ---- Texts, as the app writes them ----

  const esc = value => String(value ?? '').replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  const href = (type, id) => `content/${encodeURIComponent(type)}/${encodeURIComponent(id)}`;
  const num = value => String(Math.round(value * 100) / 100);
  const percent = value => `${num(Math.min(100, Math.max(0, value)))}%`;
  const utc = text => new Date(/(Z|[+-]\d\d:?\d\d)$/i.test(text) ? text : `${text}Z`);
  const localDay = date => new Date(date.getFullYear(), date.getMonth(), date.getDate());
  const dayLabel = day => `${day.getDate()} ${months[day.getMonth()]}`;
  const dateLabel = day => `${dayLabel(day)} ${day.getFullYear()}`;
  const sameDay = (a, b) => a.getTime() === b.getTime();
  const plural = (n, noun = 'item') => (n === 1 ? `1 ${noun}` : `${n} ${noun}s`);
  const typeName = text => (text.length === 0 ? text : text[0].toUpperCase() + text.slice(1));
  const text = (metadata, key) => {
    const value = metadata && typeof metadata === 'object' ? metadata[key] : null;
    return typeof value === 'string' && value.trim().length > 0 ? value.trim() : null;
  };
  const topicName = topic => typeName(topic.trim().replace(/[-_]/g, ' '));
  const levelName = metadata => { const level = text(metadata, 'level'); return level ? typeName(level.toLowerCase()) : null; };
  const prerequisitesOf = metadata => (metadata && Array.isArray(metadata.prerequisites)
    ? metadata.prerequisites.filter(v => typeof v === 'string').map(v => v.trim()) : []);

  // "2 h 05 min", or "12 min" under an hour (the app's DashboardStats.Duration).
  function duration(seconds) {
    const minutes = Math.floor(Math.max(0, seconds) / 60);
    return minutes >= 60 ? `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, '0')} min` : `${minutes} min`;
  }

  // At most `max` characters, cut at a word with an ellipsis (the app's DashboardStats.Shorten).
  function shorten(value, max) {
    if (value.length <= max) return value;
    const cut = value.lastIndexOf(' ', max - 1);
    return value.slice(0, cut > max / 2 ? cut : max - 1).replace(/[ ,;.:]+$/, '') + '…';
  }

  const loading = what => `<div class="loading" role="status" aria-live="polite"><span class="spinner" aria-hidden="true"></span><span>Loading ${esc(what)}…</span></div>`;
  const bar = (value, label) => {
    const rounded = Math.round(Math.min(100, Math.max(0, value)));
    return `<div class="progress" role="progressbar" aria-label="${esc(label)}" aria-valuemin="0" aria-valuemax="100" aria-valuenow="${rounded}"><div class="progress-fill" style="width: ${rounded}%"></div></div>`;
  };
  const empty = (title, body) => `<div class="empty" data-testid="empty-state"><p class="empty-title">${esc(title)}</p>${body}</div>`;

  // ---- The blocks, as the app's Dashboard, WeeklyGoal, CurrentTrack and ProgressChart draw them ----

  function statsHtml(progress) {
    const scores = progress.filter(p => p.score != null).map(p => p.score);
    const average = scores.length === 0 ? null : scores.reduce((a, b) => a + b, 0) / scores.length;
    const stat = (value, label, testid) => `<div class="stat"><span class="stat-value" data-testid="${testid}">${esc(value)}</span> <span class="stat-label">${esc(label)}</span></div>`;
    return '<div class="stats">'
      + stat(progress.filter(p => p.status === 'completed').length, 'Completed', 'completed-count')
      + stat(progress.filter(p => p.status === 'in_progress').length, 'In progress', 'in-progress-count')
      + stat(duration(progress.reduce((a, p) => a + p.time_spent_seconds, 0)), 'Time spent learning', 'time-spent')
      + stat(average == null ? '–' : String(Math.round(average)),
        scores.length === 0 ? 'Average score (nothing scored yet)' : `Average score of ${scores.length} scored ${scores.length === 1 ? 'item' : 'items'}`, 'average-score')
      + '</div>';
  }

  function goalCard(goal, error, formError) {
    let body;
    if (!goal) {
      body = `<p class="form-error" role="alert">Your goal could not be loaded: ${esc(error)}</p>`;
    } else {
      const target = goal.items_per_week;
      const streak = goal.streak_days;
      body = '<div class="goal-figures">'
        + `<p class="goal-streak"><span class="stat-value" data-testid="streak-days">${streak}</span> <span class="stat-label">${streak === 1 ? 'day' : 'days'} in a row${streak > 0 && !goal.active_today ? ' (keep it going today)' : ''}</span></p>`
        + `<p class="goal-week"><span class="stat-value" data-testid="week-completed">${goal.completed_this_week}${target != null ? ` / ${target}` : ''}</span> <span class="stat-label">${target == null ? 'items completed this week' : 'items of your weekly goal'}</span></p>`
        + '</div>';
      if (target != null) {
        body += bar(Math.min(100, 100 * goal.completed_this_week / target), 'Weekly goal')
          + `<p class="muted" data-testid="goal-status">${goal.completed_this_week >= target ? 'Goal reached this week. Well done!' : `${target - goal.completed_this_week} to go by Sunday.`}</p>`;
      }
      body += '<form class="goal-form" novalidate>'
        + '<label for="goal-items">Weekly goal (items)</label> '
        + `<input id="goal-items" type="number" inputmode="numeric" min="${esc(page.goalMin)}" max="${esc(page.goalMax)}" step="1" value="${target == null ? '' : target}" aria-describedby="goal-hint goal-error" /> `
        + `<button type="submit" class="button">${target == null ? 'Set goal' : 'Change goal'}</button>`
        + (target != null ? '<button type="button" class="link-button" data-action="clear-goal">Remove goal</button>' : '')
        + '</form>'
        + `<p id="goal-error" class="form-error" role="alert">${esc(formError || '')}</p>`
        + `<p id="goal-hint" class="muted small">Weeks start on Monday; days count in ${goal.time_zone_set ? esc(goal.time_zone) : 'UTC (set a goal to use your own time zone)'}.</p>`;
    }
    return `<section class="card weekly-goal" aria-labelledby="goal-heading" data-testid="weekly-goal"><h2 id="goal-heading">This week</h2>${body}</section>`;
  }

  function trackCard(track) {
    if (!track || track.items.length === 0) return '';
    const done = track.items.filter(i => i.state === 'done').length;
    return '<section class="card current-track" aria-labelledby="track-heading" data-testid="current-track">'
      + `<h2 id="track-heading">Your track: ${esc(topicName(track.topic))}</h2>`
      + `<p class="muted">${done} of ${track.items.length} done. <a href="catalog?topic=${encodeURIComponent(track.topic)}">See the whole topic in the catalog</a></p>`
      + '<ol class="track">'
      + track.items.map(({ item, state }) => {
        const level = levelName(item.metadata);
        return `<li class="track-${state}" data-testid="track-item" data-state="${state}">`
          + `<span class="track-state">${state === 'done' ? 'Done' : state === 'next' ? 'Next' : 'Later'}</span> `
          + `<a href="${href(item.content_type, item.content_id)}">${esc(item.title)}</a>`
          + (level ? `<span class="muted small"> · ${esc(level)}</span>` : '')
          + '</li>';
      }).join('')
      + '</ol></section>';
  }

  function chart(completedAt) {
    const days = number('chartDays');
    const width = 480, height = 230, left = 44, right = 14, top = 12, bottom = 40;
    const now = new Date();
    const today = localDay(now);
    const first = new Date(today.getFullYear(), today.getMonth(), today.getDate() - (days - 1));
    const local = completedAt.map(t => localDay(utc(t)));
    let total = local.filter(d => d < first).length;
    const rows = [];
    for (let i = 0; i < days; i++) {
      const day = new Date(first.getFullYear(), first.getMonth(), first.getDate() + i);
      const that = local.filter(d => sameDay(d, day)).length;
      total += that;
      rows.push({ day, that, total });
    }
    const max = Math.max(1, rows[days - 1].total);
    const x = i => left + (width - left - right) * i / (days - 1);
    const y = count => height - bottom - (height - top - bottom) * count / max;
    const inWindow = rows.reduce((a, r) => a + r.that, 0);
    const summary = inWindow === 0
      ? `Items completed over the last 30 days: none in this period; ${plural(total)} completed in total.`
      : `Items completed over the last 30 days: ${plural(inWindow)} completed in this period, on ${plural(rows.filter(r => r.that > 0).length, 'day')}, ${plural(total)} in total.`;
    const yTicks = max <= 4 ? Array.from({ length: max + 1 }, (_, i) => i) : [...new Set([0, Math.floor(max / 2), max])];
    const xTicks = [0, 10, 20, days - 1];
    const line = rows.map((r, i) => `${num(x(i))},${num(y(r.total))}`).join(' ');
    let svg = `<svg class="chart progress-chart" viewBox="0 0 ${num(width)} ${num(height)}" role="img" aria-label="${esc(summary)}" data-testid="progress-chart">`;
    for (const tick of yTicks) {
      svg += `<g><line class="grid-line" x1="${num(left)}" x2="${num(width - right)}" y1="${num(y(tick))}" y2="${num(y(tick))}"></line>`
        + `<text x="${num(left - 6)}" y="${num(y(tick) + 4)}" text-anchor="end">${tick}</text></g>`;
    }
    svg += `<line class="axis" x1="${num(left)}" x2="${num(left)}" y1="${num(top)}" y2="${num(height - bottom)}"></line>`
      + `<line class="axis" x1="${num(left)}" x2="${num(width - right)}" y1="${num(height - bottom)}" y2="${num(height - bottom)}"></line>`;
    for (const i of xTicks) {
      svg += `<g><text x="${num(x(i))}" y="${num(height - bottom + 16)}" text-anchor="${i === 0 ? 'start' : i === days - 1 ? 'end' : 'middle'}">${dayLabel(rows[i].day)}</text></g>`;
    }
    svg += `<text class="axis-title" x="${num(left + (width - left - right) / 2)}" y="${num(height - 4)}" text-anchor="middle">Day</text>`
      + `<text class="axis-title" transform="translate(12 ${num(top + (height - top - bottom) / 2)}) rotate(-90)" text-anchor="middle">Items completed</text>`
      + `<path class="area" d="M ${num(x(0))},${num(y(0))} L ${line.split(' ').join(' L ')} L ${num(x(days - 1))},${num(y(0))} Z"></path>`
      + `<polyline class="line" points="${line}"></polyline>`;
    rows.forEach((r, i) => {
      if (r.that > 0) svg += `<circle class="dot" cx="${num(x(i))}" cy="${num(y(r.total))}" r="3.5"></circle>`;
    });
    svg += '</svg>';
    const active = rows.filter(r => r.that > 0);
    const table = active.length > 0
      ? '<table data-testid="progress-chart-table"><caption>Days in the last 30 on which you completed items</caption>'
        + '<thead><tr><th scope="col">Day</th><th scope="col">Completed that day</th><th scope="col">Completed in total</th></tr></thead><tbody>'
        + active.map(r => `<tr><td>${dateLabel(r.day)}</td><td>${r.that}</td><td>${r.total}</td></tr>`).join('')
        + '</tbody></table>'
      : `<p>${esc(summary)}</p>`;
    return `<figure class="chart-figure">${svg}<figcaption><details><summary>Show the numbers as a table</summary>${table}</details></figcaption></figure>`;
  }

  function continueCard(continuing, titles) {
    let body;
    if (continuing.length === 0) {
      body = '<p class="muted" data-testid="continue-empty">Nothing in progress right now. Pick one of the recommendations below or browse the <a href="catalog">catalog</a>.</p>';
    } else {
      body = (titles.unavailable ? '<p class="muted" data-testid="continue-titles-missing">The catalog is unavailable right now, so these items are shown by their ids; your progress on them is complete and up to date.</p>' : '')
        + '<ul class="list continue-list">'
        + continuing.map(item => {
          const key = `${item.content_type}:${item.content_id}`;
          const title = titles.known.get(key) ?? item.content_id;
          return '<li class="continue-item" data-testid="continue-item">'
            + `<div class="continue-head"><a href="${href(item.content_type, item.content_id)}">${esc(title)}</a> <span class="badge">${esc(item.content_type)}</span></div>`
            + bar(item.completion_percentage, `Progress on ${title}`)
            + (titles.removed.has(key) ? '<small class="muted">No longer in the catalog, so shown by its id.</small>' : '')
            + `<small class="muted">${percent(item.completion_percentage)} done · last active ${dateLabel(localDay(utc(item.updated_at)))}</small>`
            + '</li>';
        }).join('')
        + '</ul>';
    }
    return `<section class="card" aria-labelledby="continue-heading"><h2 id="continue-heading">Continue learning</h2>${body}</section>`;
  }

  function recommendationsBlock(recommendations, error) {
    let body;
    if (error) {
      body = `<div class="form-error" role="alert" data-testid="recommendations-error"><p>Recommendations are unavailable right now: ${esc(error.message)}</p><button type="button" class="button" data-action="retry-recommendations">Try again</button></div>`;
    } else if (!recommendations) {
      body = loading('recommendations');
    } else if (recommendations.recommendations.length === 0) {
      body = empty('No recommendations yet', '<p>The catalog has nothing new for you at the moment. Browse the <a href="catalog">catalog</a> to find more.</p>');
    } else {
      body = '<div class="grid">' + recommendations.recommendations.map(pick => '<article class="card recommendation" data-testid="recommendation">'
        + `<h3><a href="${href(pick.content_type, pick.content_id)}">${esc(pick.title)}</a></h3> `
        + `<span class="badge">${esc(pick.content_type)}</span>`
        + `<p>${esc(shorten(pick.description, number('description')))}</p>`
        + `<p class="reason">${esc(pick.reason)}</p>`
        + '</article>').join('') + '</div>';
    }
    return `<section class="recommendations" aria-labelledby="recommendations-heading" id="recommendations"><h2 id="recommendations-heading">Recommended for you</h2>${body}</section>`;
  }

  // ---- Loading, as the app's components load ----

  async function titlesOf(continuing) {
    const titles = { known: new Map(), removed: new Set(), unavailable: false };
    await Promise.all(continuing.map(async item => {
      const key = `${item.content_type}:${item.content_id}`;
      try {
        titles.known.set(key, (await contentItem(item.content_type, item.content_id)).title);
      } catch (e) {
        if (e.status === 404) titles.removed.add(key); else titles.unavailable = true;
      }
    }));
    return titles;
  }

  // The topic of the most recent work (in progress first, else completed last) and its items beginner first, each
  // done, next (under way, or the first whose prerequisites are all done) or later.
  async function trackOf(progress) {
    if (progress.length === 0) return null;
    try {
      const latest = progress.filter(p => p.status !== 'not_started')
        .sort((a, b) => ((b.status === 'in_progress') - (a.status === 'in_progress')) || (utc(b.updated_at) - utc(a.updated_at)))
        .slice(0, number('trackCandidates'));
      let topic = null;
      for (const record of latest) {
        topic = text((await contentItem(record.content_type, record.content_id)).metadata, 'topic');
        if (topic) break;
      }
      if (!topic) return null;
      const found = await aiCall(`api/v1/content/?${query({ topic, sort: 'level', page: 1, page_size: number('trackItems') })}`);
      const status = new Map(progress.map(p => [`${p.content_type}:${p.content_id}`, p.status]));
      const done = reference => status.get(reference) === 'completed';
      let nextGiven = false;
      const listed = found.results.map(item => {
        const reference = `${item.content_type}:${item.content_id}`;
        if (done(reference)) return { item, state: 'done' };
        const ready = prerequisitesOf(item.metadata).every(done);
        const next = status.get(reference) === 'in_progress' || (!nextGiven && ready);
        nextGiven = nextGiven || next;
        return { item, state: next ? 'next' : 'later' };
      });
      return { topic, items: listed };
    } catch {
      // The track is a guide; without the catalog the dashboard still shows the learner's own progress.
      return null;
    }
  }

  const settle = promise => promise.then(value => ({ value }), error => ({ error }));

  // In three steps, each adding below what is painted so nothing painted moves: Core's answers (the numbers in
  // their boxes, the weekly goal), then what needs the catalog too (the track beside or below the goal, work in
  // progress, the chart), then the recommendations at the bottom.
  async function load() {
    const progressLoad = settle(allProgress());
    const goalLoad = settle(core('api/v1/progress/goal/'));
    const recommendationsLoad = settle(aiCall(`api/v1/recommendations/${user.userId}?${query({ limit: number('recommendations') })}`));
    const [progressResult, goalResult] = await Promise.all([progressLoad, goalLoad]);
    if (leaving) return;
    const progress = progressResult.value;

    const stats = document.getElementById('stats');
    if (progress) {
      stats.innerHTML = '<h2 id="stats-heading" class="visually-hidden">Your numbers</h2>' + statsHtml(progress);
    } else {
      stats.innerHTML = '<h2 id="stats-heading" class="visually-hidden">Your numbers</h2>'
        + `<p class="form-error" role="alert" data-testid="progress-error">Your progress could not be loaded: ${esc(progressResult.error.message)}</p>`;
      toast(progressResult.error.message, 'error', progressResult.error.requestId);
    }
    stats.insertAdjacentHTML('afterend',
      `<div class="grid two motivation-panels" id="motivation">${goalCard(goalResult.value, goalResult.error && goalResult.error.message)}</div>`);
    if (goalResult.value) wireGoal(goalResult.value);

    let titles = null, track = null, continuing = [];
    if (progress) {
      continuing = progress.filter(p => p.status === 'in_progress')
        .sort((a, b) => utc(b.updated_at) - utc(a.updated_at)).slice(0, number('continue'));
      [titles, track] = await Promise.all([titlesOf(continuing), trackOf(progress)]);
      if (leaving) return;
    }
    const motivation = document.getElementById('motivation');
    if (progress && progress.length > 0) motivation.insertAdjacentHTML('beforeend', trackCard(track));
    let rest = '';
    if (progress && progress.length === 0) {
      rest += empty('You have not started any learning yet', '<p>Browse the <a href="catalog">catalog</a> and open a course, lesson or lab to start tracking your progress. The picks below are a good first step.</p>');
    } else if (progress) {
      const completedAt = progress.filter(p => p.status === 'completed' && p.completed_at != null).map(p => p.completed_at);
      rest += '<div class="grid two dashboard-panels">' + continueCard(continuing, titles)
        + `<section class="card" aria-labelledby="chart-heading"><h2 id="chart-heading">Progress over the last 30 days</h2>${chart(completedAt)}</section></div>`;
    }
    rest += recommendationsBlock(null, null);
    motivation.insertAdjacentHTML('afterend', rest);

    const recommendations = await recommendationsLoad;
    if (leaving) return;
    document.getElementById('recommendations').outerHTML = recommendationsBlock(recommendations.value, recommendations.error);
    if (recommendations.error) {
      toast(recommendations.error.message, 'error', recommendations.error.requestId);
    }
  }

  function replaceGoal(goal, error, formError) {
    document.querySelector('[data-testid=weekly-goal]').outerHTML = goalCard(goal, error, formError);
    if (goal) wireGoal(goal);
  }

  // The browser's IANA time zone; null when it is not one (as the app sends it).
  function timeZone() {
    try {
      const id = Intl.DateTimeFormat().resolvedOptions().timeZone;
      return typeof id === 'string' && (id.includes('/') || id === 'UTC') ? id : null;
    } catch {
      return null;
    }
  }

  function wireGoal(goal) {
    const card = document.querySelector('[data-testid=weekly-goal]');
    const form = card.querySelector('form');
    const input = card.querySelector('#goal-items');
    const buttons = [...card.querySelectorAll('button')];
    let saving = false;
    async function put(itemsPerWeek) {
      if (saving) return;
      saving = true;
      buttons.forEach(b => { b.disabled = true; });
      card.querySelector('#goal-error').textContent = '';
      try {
        const saved = await core('api/v1/progress/goal/', {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ items_per_week: itemsPerWeek, time_zone: timeZone() }),
        });
        replaceGoal(saved, null, null);
        document.getElementById('goal-items')?.focus();
      } catch (e) {
        saving = false;
        buttons.forEach(b => { b.disabled = false; });
        card.querySelector('#goal-error').textContent = e.message;
      }
    }
    form.addEventListener('submit', event => {
      event.preventDefault();
      const entry = input.value.trim();
      const items = /^\d+$/.test(entry) ? Number.parseInt(entry, 10) : NaN;
      if (!(items >= number('goalMin') && items <= number('goalMax'))) {
        card.querySelector('#goal-error').textContent = page.goalInvalid;
        return;
      }
      put(items);
    });
    card.querySelector('[data-action=clear-goal]')?.addEventListener('click', () => put(null));
  }

  async function retryRecommendations() {
    const section = document.getElementById('recommendations');
    section.outerHTML = recommendationsBlock(null, null);
    const result = await settle(aiCall(`api/v1/recommendations/${user.userId}?${query({ limit: number('recommendations') })}`));
    if (leaving) return;
    document.getElementById('recommendations').outerHTML = recommendationsBlock(result.value, result.error);
    if (result.error) toast(result.error.message, 'error', result.error.requestId);
  }

  function start() {
    // The links the learner's roles open, and who is signed in, as the app's menu shows them.
    document.querySelectorAll('#nav-links [data-role]').forEach(li => {
      const role = li.dataset.role === 'admin' ? [page.admin] : [page.author, page.admin];
      if (role.some(r => user.roles.includes(r))) li.hidden = false; else li.remove();
    });
    const email = document.getElementById('nav-email');
    email.textContent = user.email;
    email.title = user.email;

    menu();
    document.getElementById('log-out').addEventListener('click', async () => {
      // As the app's SignOutAsync: forget the pair, revoke its session at Core (offline too), then to log in.
      const pair = tokens || readTokens();
      leaving = true;
      tokens = null;
      try { localStorage.removeItem(tokensKey); } catch { }
      if (pair) {
        try {
          await fetch('api/v1/token/revoke/', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh: pair.refresh }) });
        } catch { }
      }
      location.assign('login');
    });
    document.getElementById('dashboard').addEventListener('click', event => {
      if (event.target.closest('[data-action=retry-recommendations]')) retryRecommendations();
    });
    load();
  }

  ready(start);
})();
