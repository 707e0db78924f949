// The sign-in page Core renders (src/CyberHub.Core/Web/SignInPage.cs) works with this script and js/page.js, without
// the WebAssembly runtime: it checks the fields with the messages the page carries (Contracts' FieldRules), asks Core
// for a token pair, keeps it where the app keeps it and goes where the page says (Core decided it with the app's rule).
(() => {
  'use strict';
  const tokensKey = 'cyberhub.tokens';
  const noticeKey = 'cyberhub.notice';
  const destination = () => document.documentElement.dataset.return || 'dashboard';
  const { toast, menu, ready } = window.CyberHubPage;

  // Already signed in (the app's own test: a stored pair whose access token reads as a JWT): straight on.
  try {
    const stored = JSON.parse(localStorage.getItem(tokensKey) || 'null');
    if (stored && typeof stored.access === 'string' && typeof stored.refresh === 'string'
        && stored.refresh.length > 0 && stored.access.split('.').length === 3) {
      location.replace(destination());
      return;
    }
  } catch {
    // Unreadable storage counts as no session, as in the app.
  }

  const sentence = text => {
    const t = text.trim();
    if (!t) return t;
    const s = t[0].toUpperCase() + t.slice(1);
    return s.endsWith('.') ? s : s + '.';
  };

  function start() {
    const form = document.getElementById('login-form');
    const button = form.querySelector('button[type=submit]');
    const inputs = [...form.querySelectorAll('input[data-field]')];
    const byField = Object.fromEntries(inputs.map(i => [i.dataset.field, i]));
    // Core names the login field email or username, after what was typed.
    const shownAt = { email: 'login', username: 'login', login: 'login', password: 'password' };

    let notice = null;
    try {
      notice = sessionStorage.getItem(noticeKey);
      sessionStorage.removeItem(noticeKey);
    } catch { }
    // The app leaves a notice here when it sends the user to sign in (the session ended).
    if (notice) toast(notice, 'error');

    menu();

    function clear() {
      for (const input of inputs) {
        input.closest('.field').classList.remove('field-invalid');
        input.removeAttribute('aria-invalid');
        input.removeAttribute('aria-describedby');
        document.getElementById(`${input.id}-error`)?.remove();
      }
      form.querySelector('[data-testid=form-error]')?.remove();
    }

    function fieldError(input, message) {
      const small = document.createElement('small');
      small.id = `${input.id}-error`;
      small.className = 'field-error';
      small.setAttribute('role', 'alert');
      small.dataset.testid = 'field-error';
      small.textContent = message;
      input.closest('.field').classList.add('field-invalid');
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', small.id);
      input.after(small);
    }

    function formError(message) {
      const p = document.createElement('p');
      p.className = 'form-error';
      p.setAttribute('role', 'alert');
      p.dataset.testid = 'form-error';
      p.textContent = message;
      button.before(p);
    }

    // A service's detail as FormErrors reads it: "x is required." or "x: problem" at field x, else the form's.
    function refused(detail) {
      const match = /^([a-z][a-z_]*)(?:( is required\.?$)|: ([\s\S]+))/.exec(detail);
      const input = match && byField[shownAt[match[1]]];
      if (input) {
        fieldError(input, match[2] ? input.dataset.missing : sentence(match[3]));
      } else {
        formError(detail);
      }
    }

    let busy = false;
    form.addEventListener('submit', async event => {
      event.preventDefault();
      if (busy) return;
      clear();
      const login = byField.login.value.trim();
      const password = byField.password.value;
      const missing = [[byField.login, login], [byField.password, password]].filter(([, v]) => v.length === 0);
      if (missing.length > 0) {
        missing.forEach(([input]) => fieldError(input, input.dataset.missing));
        return;
      }
      busy = true;
      let leaving = false;
      button.disabled = true;
      button.textContent = 'Logging in…';
      try {
        let response;
        try {
          response = await fetch('api/v1/token/', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(login.includes('@') ? { email: login, password } : { username: login, password }),
          });
        } catch {
          formError('The Core service could not be reached. Check your connection and try again.');
          return;
        }
        let body = null;
        try { body = await response.json(); } catch { }
        if (response.ok && body && body.access && body.refresh) {
          localStorage.setItem(tokensKey, JSON.stringify({ access: body.access, refresh: body.refresh }));
          leaving = true;
          location.assign(destination());
          return;
        }
        refused(body && typeof body.detail === 'string' && body.detail.trim()
          ? body.detail : `The Core service answered ${response.status} ${response.statusText}.`);
      } finally {
        if (!leaving) {
          busy = false;
          button.disabled = false;
          button.textContent = 'Log in';
        }
      }
    });
  }

  ready(start);
})();
